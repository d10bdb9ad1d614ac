"""Scoring annotators against gold (known-answer) items.

Example:
    >>> answers = [("ann", 1, "a"), ("ann", 2, "b"), ("bob", 1, "b")]
    >>> scores = gold_accuracy(answers, {1: "a", 2: "b"})
    >>> scores["ann"].accuracy, scores["bob"].n
    (1.0, 1)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass

from scipy.stats import norm

from labelloop.errors import InvalidInput

__all__ = ["GoldScore", "gold_accuracy", "wilson_interval"]


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
