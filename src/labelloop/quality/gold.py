"""Scoring annotators against gold (known-answer) items.

Classification answers are right or wrong (:func:`gold_accuracy`); span answers are scored by
span F1 against the gold spans and by exact-sentence accuracy (:func:`gold_span_scores`).

Example:
    >>> answers = [("ann", 1, "a"), ("ann", 2, "b"), ("bob", 1, "b")]
    >>> scores = gold_accuracy(answers, {1: "a", 2: "b"})
    >>> scores["ann"].accuracy, scores["bob"].n
    (1.0, 1)
"""

from __future__ import annotations

from collections.abc import Collection, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scipy.stats import norm

from labelloop.errors import InvalidInput
from labelloop.quality.span_agreement import Span, SpanF1, check_spans, span_f1

__all__ = ["GoldScore", "GoldSpanScore", "gold_accuracy", "gold_span_scores", "wilson_interval"]


@dataclass(frozen=True)
class GoldScore:
    """One annotator's accuracy on gold items.

    Attributes:
        annotator: who.
        n: gold items answered.
        n_correct: answers equal to the gold label.
        accuracy: ``n_correct / n``.
        lower: Wilson score interval lower bound.
        upper: Wilson score interval upper bound.
    """

    annotator: Hashable
    n: int
    n_correct: int
    accuracy: float
    lower: float
    upper: float


def wilson_interval(n_correct: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided Wilson score interval for a proportion (good coverage even for small n)."""
    if not 0.0 < confidence < 1.0:
        raise InvalidInput("confidence must lie in (0, 1)", field="confidence")
    if n <= 0:
        return 0.0, 1.0
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = n_correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    lower = 0.0 if n_correct == 0 else max(0.0, centre - half)
    upper = 1.0 if n_correct == n else min(1.0, centre + half)
    return lower, upper


def gold_accuracy(
    answers: Iterable[tuple[Hashable, Hashable, Hashable]],
    gold: Mapping[Hashable, Hashable],
    *,
    confidence: float = 0.95,
) -> dict[Hashable, GoldScore]:
    """Per-annotator accuracy on gold items, with Wilson intervals.

    Args:
        answers: ``(annotator, item, label)`` triples; answers on non-gold items are ignored.
        gold: item -> correct label.
        confidence: coverage of the intervals.

    Returns:
        annotator -> :class:`GoldScore`, only for annotators who answered a gold item.
    """
    totals: dict[Hashable, list[int]] = {}
    for row in answers:
        if len(row) != 3:
            raise InvalidInput("each answer must be (annotator, item, label)", field="answers")
        annotator, item, label = row
        if item not in gold:
            continue
        t = totals.setdefault(annotator, [0, 0])
        t[0] += 1
        t[1] += int(label == gold[item])
    out: dict[Hashable, GoldScore] = {}
    for annotator, (n, k) in totals.items():
        lo, hi = wilson_interval(k, n, confidence=confidence)
        out[annotator] = GoldScore(annotator, n, k, k / n, lo, hi)
    return out


@dataclass(frozen=True)
class GoldSpanScore:
    """One annotator's span answers on gold items.

    Attributes:
        annotator: who.
        n: gold items answered.
        n_correct: answers whose span set is exactly the gold one (a sentence is right only if
            every span is, and no span is missing or extra).
        accuracy: ``n_correct / n`` (exact-sentence accuracy).
        lower: Wilson interval lower bound of ``accuracy``.
        upper: its upper bound.
        exact: span precision, recall and F1 against the gold spans, exact matches, micro over
            the annotator's gold answers (per label in ``exact.per_label``).
        partial: the same with partial (overlapping, same-label) matches.
    """

    annotator: Hashable
    n: int
    n_correct: int
    accuracy: float
    lower: float
    upper: float
    exact: SpanF1
    partial: SpanF1


def gold_span_scores(
    answers: Iterable[tuple[Hashable, Hashable, Collection[Span]]],
    gold: Mapping[Any, Collection[Span]],
    *,
    confidence: float = 0.95,
) -> dict[Hashable, GoldSpanScore]:
    """Per-annotator span F1 and exact-sentence accuracy on gold items.

    Args:
        answers: ``(annotator, item, spans)`` triples, spans as ``(start, end, label)``;
            answers on non-gold items are ignored.
        gold: item -> its gold spans.
        confidence: coverage of the accuracy intervals.

    Returns:
        annotator -> :class:`GoldSpanScore`, only for annotators who answered a gold item.

    Example:
        >>> gold = {1: [(0, 2, "PER")], 2: []}
        >>> s = gold_span_scores([("ann", 1, [(0, 1, "PER")]), ("ann", 2, [])], gold)["ann"]
        >>> s.accuracy, s.exact.f1, s.partial.f1
        (0.5, 0.0, 1.0)
    """
    truth = {i: set(check_spans(spans, where=f"gold of {i!r}")) for i, spans in gold.items()}
    mine: dict[Hashable, tuple[list[set[Span]], list[set[Span]]]] = {}
    for k, row in enumerate(answers):
        if not isinstance(row, tuple | list) or len(row) != 3:
            raise InvalidInput(f"answer {k} must be (annotator, item, spans)", field="answers")
        annotator, item, spans = row
        if item not in truth:
            continue
        given, expected = mine.setdefault(annotator, ([], []))
        given.append(set(check_spans(spans, where=f"answer {k}")))
        expected.append(truth[item])
    out: dict[Hashable, GoldSpanScore] = {}
    for annotator, (given, expected) in mine.items():
        n, k = len(given), sum(g == e for g, e in zip(given, expected, strict=True))
        lo, hi = wilson_interval(k, n, confidence=confidence)
        out[annotator] = GoldSpanScore(
            annotator, n, k, k / n, lo, hi,
            span_f1(given, expected), span_f1(given, expected, partial=True),
        )  # fmt: skip
    return out
