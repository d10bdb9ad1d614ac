"""Span F1 between two sets of labelled spans, and inter-annotator agreement built on it.

A span is ``(start, end, label)`` with integer offsets, ``end`` exclusive (characters or tokens:
only equality and overlap of offsets matter). Two span lists are compared under two rules:

- **exact**: a span of A matches a span of B when both have the same start, end and label (the
  strict entity match of CoNLL and seqeval). Computed with seqeval (``mode`` strict, IOB2) on
  tag sequences built from the spans, one tag per offset position; when one side's spans overlap
  (IOB2 cannot write that) the same counts are taken from the span sets by hand.
- **partial**: a span of A matches a span of B when they have the same label and share at least
  one position (``a.start < b.end and b.start < a.end``). Each span matches at most one span on
  the other side, and the number of matches is the largest such one-to-one pairing (a maximum
  bipartite matching, scipy), so one long span never counts as two matches. Every exact match is
  a partial match, so partial F1 >= exact F1. Written here, not in seqeval.

With ``m`` matches, ``precision = m / |A|``, ``recall = m / |B|`` and ``F1 = 2m / (|A| + |B|)``;
F1 is symmetric, so for two annotators it does not matter who is "A". A ratio 0/0 is 0
(seqeval's ``zero_division=0``), except when neither side holds any span at all: then precision,
recall and F1 are 1.0, two empty span sets agreeing completely. A label that neither side used is
left out of ``per_label``.

Agreement (:func:`span_agreement`) compares every annotator pair on the items both answered: the
pair's F1 is micro-averaged over those items (all their spans pooled), and the report averages
the pairs' F1 with equal weight; per label, over the pairs where either annotator used it.

Example:
    >>> a = [[(0, 2, "PER"), (5, 6, "LOC")]]
    >>> b = [[(0, 3, "PER"), (5, 6, "LOC")]]
    >>> exact, partial = span_f1(a, b), span_f1(a, b, partial=True)
    >>> exact.f1, partial.f1, exact.per_label["PER"].f1
    (0.5, 1.0, 0.0)
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Collection, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from labelloop.errors import InvalidInput

__all__ = [
    "LabelSpanAgreement",
    "PairSpanAgreement",
    "Span",
    "SpanAgreementReport",
    "SpanF1",
    "SpanMatch",
    "check_spans",
    "span_agreement",
    "span_f1",
]

Span = tuple[int, int, str]


@dataclass(frozen=True)
class SpanMatch:
    """How span list A matches span list B (for one label, or for all).

    Attributes:
        n_a: spans in A (the "predicted" side).
        n_b: spans in B (the reference side).
        precision: share of A's spans matched in B.
        recall: share of B's spans matched in A.
        f1: ``2 * matches / (n_a + n_b)``.
    """

    n_a: int
    n_b: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class SpanF1:
    """Overall (micro over every span) and per-label match of A against B.

    Attributes:
        n_a: spans in A.
        n_b: spans in B.
        precision: overall precision.
        recall: overall recall.
        f1: overall F1 (1.0 when neither side has a span).
        per_label: label -> :class:`SpanMatch`, for the labels either side used.
    """

    n_a: int
    n_b: int
    precision: float
    recall: float
    f1: float
    per_label: dict[str, SpanMatch] = field(default_factory=dict)


def check_spans(spans: object, *, where: str = "spans") -> list[Span]:
    """``spans`` as a list of ``(start, end, label)`` tuples, or :class:`InvalidInput` naming the
    bad one. Accepts tuples/lists of three and ``{"start", "end", "label"}`` mappings."""
    if isinstance(spans, str | bytes) or not isinstance(spans, Iterable):
        raise InvalidInput(f"{where} must be a list of (start, end, label) spans", field="spans")
    out: list[Span] = []
    for k, span in enumerate(spans):
        if isinstance(span, Mapping):
            span = (span.get("start"), span.get("end"), span.get("label"))
        if not isinstance(span, tuple | list) or len(span) != 3:
            raise InvalidInput(f"{where}[{k}] must be (start, end, label)", field="spans")
        start, end, label = span
        ok = all(isinstance(x, int | np.integer) and not isinstance(x, bool) for x in (start, end))
        if not ok or not 0 <= start < end or not isinstance(label, str):
            raise InvalidInput(
                f"{where}[{k}] = {tuple(span)!r}: need integers 0 <= start < end and a str label",
                field="spans",
            )
        out.append((int(start), int(end), label))
    return out


def _overlapping(spans: Sequence[Span]) -> bool:
    ordered = sorted(spans)
    return any(b[0] < a[1] for a, b in itertools.pairwise(ordered))


def _tags(spans: Sequence[Span], length: int, ids: dict[str, int]) -> list[str]:
    # labels become L<id> so that no label name can confuse seqeval's tag parsing
    tags = ["O"] * length
    for start, end, label in spans:
        tags[start] = f"B-L{ids[label]}"
        for i in range(start + 1, end):
            tags[i] = f"I-L{ids[label]}"
    return tags


def _exact_seqeval(
    a: Sequence[Sequence[Span]], b: Sequence[Sequence[Span]], labels: list[str]
) -> dict[str, int]:
    """Exact matches per label from seqeval's strict IOB2 scores (spans must not overlap)."""
    from seqeval.metrics.v1 import precision_recall_fscore_support
    from seqeval.scheme import IOB2

    ids = {label: j for j, label in enumerate(labels)}
    y_a, y_b = [], []
    for sa, sb in zip(a, b, strict=True):
        length = max((end for _, end, _ in itertools.chain(sa, sb)), default=0)
        y_a.append(_tags(sa, length, ids))
        y_b.append(_tags(sb, length, ids))
    # B is the reference: recall * |B's spans of a label| = that label's matches
    _, recall, _, support = precision_recall_fscore_support(
        y_b, y_a, average=None, scheme=IOB2, mode="strict", zero_division=0
    )
    present = sorted({f"L{ids[s[2]]}" for s in itertools.chain(*a, *b)})
    out = dict.fromkeys(labels, 0)
    for tag, r, n in zip(present, recall, support, strict=True):
        out[labels[int(tag[1:])]] = round(float(r) * int(n))
    return out


def _exact_by_hand(a: Sequence[Sequence[Span]], b: Sequence[Sequence[Span]]) -> dict[str, int]:
    matches: dict[str, int] = {}
    for sa, sb in zip(a, b, strict=True):
        for _, _, label in set(sa) & set(sb):
            matches[label] = matches.get(label, 0) + 1
    return matches


def _partial(a: Sequence[Sequence[Span]], b: Sequence[Sequence[Span]]) -> dict[str, int]:
    """Largest one-to-one pairing of same-label overlapping spans, per label (written here)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    matches: dict[str, int] = {}
    for sa, sb in zip(a, b, strict=True):
        ua, ub = sorted(set(sa)), sorted(set(sb))
        edges = [
            (i, j)
            for i, x in enumerate(ua)
            for j, y in enumerate(ub)
            if x[2] == y[2] and x[0] < y[1] and y[0] < x[1]
        ]
        if not edges:
            continue
        rows, cols = zip(*edges, strict=True)
        graph = csr_matrix((np.ones(len(edges)), (rows, cols)), shape=(len(ua), len(ub)))
        paired = maximum_bipartite_matching(graph, perm_type="column")
        for i, j in enumerate(paired):
            if j >= 0:
                matches[ua[i][2]] = matches.get(ua[i][2], 0) + 1
    return matches


def _match(n_a: int, n_b: int, m: int) -> SpanMatch:
    if n_a == n_b == 0:
        return SpanMatch(0, 0, 1.0, 1.0, 1.0)
    return SpanMatch(
        n_a, n_b, m / n_a if n_a else 0.0, m / n_b if n_b else 0.0, 2 * m / (n_a + n_b)
    )


def span_f1(
    a: Sequence[Collection[Span]], b: Sequence[Collection[Span]], *, partial: bool = False
) -> SpanF1:
    """Micro precision, recall and F1 of span lists ``a`` against ``b``, overall and per label.

    Args:
        a: per item, the spans of side A (an annotator, a model): ``(start, end, label)``.
        b: per item, the reference spans (another annotator, the gold answer), aligned with ``a``.
        partial: match overlapping same-label spans (see the module) instead of exact ones.

    Raises:
        InvalidInput: ``a`` and ``b`` differ in length, or a span is malformed.

    Example:
        >>> span_f1([[(0, 2, "PER")]], [[(0, 2, "PER"), (3, 4, "LOC")]]).recall
        0.5
    """
    if len(a) != len(b):
        raise InvalidInput(f"{len(a)} span lists on side A but {len(b)} on side B", field="spans")
    sa = [check_spans(s, where=f"a[{i}]") for i, s in enumerate(a)]
    sb = [check_spans(s, where=f"b[{i}]") for i, s in enumerate(b)]
    # a span given twice on one side counts once
    sa = [sorted(set(s)) for s in sa]
    sb = [sorted(set(s)) for s in sb]
    labels = sorted({s[2] for s in itertools.chain(*sa, *sb)})
    if not labels:
        matches: dict[str, int] = {}
    elif partial:
        matches = _partial(sa, sb)
    elif any(_overlapping(s) for s in itertools.chain(sa, sb)):
        matches = _exact_by_hand(sa, sb)
    else:
        matches = _exact_seqeval(sa, sb, labels)
    count_a = {label: sum(s[2] == label for s in itertools.chain(*sa)) for label in labels}
    count_b = {label: sum(s[2] == label for s in itertools.chain(*sb)) for label in labels}
    per_label = {
        label: _match(count_a[label], count_b[label], matches.get(label, 0)) for label in labels
    }
    total = _match(sum(count_a.values()), sum(count_b.values()), sum(matches.values()))
    return SpanF1(total.n_a, total.n_b, total.precision, total.recall, total.f1, per_label)


@dataclass(frozen=True)
class PairSpanAgreement:
    """Two annotators on the items both answered.

    Attributes:
        annotator_a: one annotator.
        annotator_b: the other.
        n_items: items both answered.
        exact_f1: span F1, exact matches, micro over those items.
        partial_f1: span F1, partial matches.
        sentence_agreement: share of those items on which their span sets are identical.
        exact: the exact comparison in full (per label).
        partial: the partial comparison in full.
    """

    annotator_a: Hashable
    annotator_b: Hashable
    n_items: int
    exact_f1: float
    partial_f1: float
    sentence_agreement: float
    exact: SpanF1
    partial: SpanF1


@dataclass(frozen=True)
class LabelSpanAgreement:
    """One label's agreement, averaged over the annotator pairs where either used it.

    Attributes:
        exact_f1: mean exact span F1 of the label.
        partial_f1: mean partial span F1 of the label.
        n_pairs: pairs averaged.
        n_spans: spans of the label, summed over every pair's two sides.
    """

    exact_f1: float
    partial_f1: float
    n_pairs: int
    n_spans: int


@dataclass(frozen=True)
class SpanAgreementReport:
    """Agreement between annotators as span F1, on items with two or more annotators.

    Attributes:
        n_items: items with at least two annotators.
        n_annotators: distinct annotators on those items.
        n_pairs: annotator pairs sharing at least one item.
        exact_f1: mean over the pairs of their exact span F1.
        partial_f1: mean over the pairs of their partial span F1.
        sentence_agreement: share of (item, annotator pair) comparisons with identical span sets.
        per_label: label -> :class:`LabelSpanAgreement`.
        pairs: every pair, in annotator order.
        n_disagreements: items whose annotators' span sets are not all identical.
    """

    n_items: int
    n_annotators: int
    n_pairs: int
    exact_f1: float
    partial_f1: float
    sentence_agreement: float
    per_label: dict[str, LabelSpanAgreement]
    pairs: tuple[PairSpanAgreement, ...]
    n_disagreements: int


def span_agreement(
    ratings: Iterable[tuple[Hashable, Hashable, Collection[Span]]],
) -> SpanAgreementReport:
    """Pairwise span F1 (exact and partial) from ``(item, annotator, spans)`` triples.

    A repeated (item, annotator) keeps the last spans; items with one annotator are ignored.

    Raises:
        InvalidInput: a malformed rating or span, or no item with two annotators.

    Example:
        >>> r = span_agreement([(1, "ann", [(0, 2, "PER")]), (1, "bob", [(0, 2, "PER")]),
        ...                     (2, "ann", []), (2, "bob", [(3, 4, "LOC")])])
        >>> r.exact_f1, r.sentence_agreement, r.per_label["LOC"].exact_f1
        (0.6666666666666666, 0.5, 0.0)
    """
    table: dict[Hashable, dict[Hashable, list[Span]]] = {}
    for k, row in enumerate(ratings):
        if not isinstance(row, tuple | list) or len(row) != 3:
            raise InvalidInput(f"rating {k} must be (item, annotator, spans)", field="ratings")
        item, annotator, spans = row
        table.setdefault(item, {})[annotator] = sorted(set(check_spans(spans, where=f"rating {k}")))
    table = {i: r for i, r in table.items() if len(r) >= 2}
    if not table:
        raise InvalidInput("agreement needs at least one item with two annotators", field="ratings")
    annotators = sorted({a for r in table.values() for a in r}, key=repr)
    pairs = []
    for x, y in itertools.combinations(annotators, 2):
        shared = [r for r in table.values() if x in r and y in r]
        if not shared:
            continue
        a, b = [r[x] for r in shared], [r[y] for r in shared]
        exact, partial = span_f1(a, b), span_f1(a, b, partial=True)
        same = sum(sx == sy for sx, sy in zip(a, b, strict=True))
        pairs.append(
            PairSpanAgreement(
                x, y, len(shared), exact.f1, partial.f1, same / len(shared), exact, partial
            )
        )
    per_label: dict[str, LabelSpanAgreement] = {}
    for label in sorted({lab for p in pairs for lab in p.exact.per_label}):
        used = [p for p in pairs if label in p.exact.per_label]
        per_label[label] = LabelSpanAgreement(
            exact_f1=statistics.fmean(p.exact.per_label[label].f1 for p in used),
            partial_f1=statistics.fmean(p.partial.per_label[label].f1 for p in used),
            n_pairs=len(used),
            n_spans=sum(p.exact.per_label[label].n_a + p.exact.per_label[label].n_b for p in used),
        )
    comparisons = sum(p.n_items for p in pairs)
    return SpanAgreementReport(
        n_items=len(table),
        n_annotators=len(annotators),
        n_pairs=len(pairs),
        exact_f1=statistics.fmean(p.exact_f1 for p in pairs),
        partial_f1=statistics.fmean(p.partial_f1 for p in pairs),
        sentence_agreement=sum(p.sentence_agreement * p.n_items for p in pairs) / comparisons,
        per_label=per_label,
        pairs=tuple(pairs),
        n_disagreements=sum(
            any(s != next(iter(r.values())) for s in r.values()) for r in table.values()
        ),
    )
