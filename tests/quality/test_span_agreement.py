"""Span F1 between annotators and against gold: exact vs partial, per label, empty sets."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.errors import InvalidInput
from labelloop.quality import gold_span_scores, span_agreement, span_f1
from labelloop.quality.span_agreement import _exact_by_hand, _exact_seqeval


def test_exact_and_partial_differ_on_a_boundary() -> None:
    a = [[(0, 2, "PER"), (5, 6, "LOC")]]
    b = [[(0, 3, "PER"), (5, 6, "LOC")]]  # "Peter Blackburn" vs "Peter Blackburn Jr"
    exact, partial = span_f1(a, b), span_f1(a, b, partial=True)
    assert (exact.precision, exact.recall, exact.f1) == (0.5, 0.5, 0.5)
    assert partial.f1 == 1.0
    assert exact.per_label["PER"].f1 == 0.0 and exact.per_label["LOC"].f1 == 1.0
    assert partial.per_label["PER"].f1 == 1.0


def test_overlap_with_another_label_is_no_partial_match() -> None:
    result = span_f1([[(0, 2, "ORG")]], [[(0, 2, "LOC")]], partial=True)
    assert result.f1 == 0.0
    assert result.per_label["ORG"].n_a == 1 and result.per_label["ORG"].n_b == 0
    assert result.per_label["LOC"].recall == 0.0


def test_partial_matching_is_one_to_one() -> None:
    # one long span against two short ones inside it: one match, not two
    result = span_f1([[(0, 10, "PER")]], [[(0, 3, "PER"), (5, 10, "PER")]], partial=True)
    assert (result.precision, result.recall) == (1.0, 0.5)
    assert result.f1 == pytest.approx(2 / 3)


def test_adjacent_spans_are_not_merged_by_the_tag_encoding() -> None:
    # B-PER I-PER B-PER: two spans; one annotator marked the whole stretch as one
    result = span_f1([[(0, 2, "PER"), (2, 3, "PER")]], [[(0, 3, "PER")]])
    assert (result.n_a, result.n_b, result.f1) == (2, 1, 0.0)


def test_micro_f1_pools_spans_over_items() -> None:
    a = [[(0, 1, "PER")], [(0, 1, "LOC"), (2, 3, "LOC")], []]
    b = [[(0, 1, "PER")], [(0, 1, "LOC")], [(4, 6, "ORG")]]
    result = span_f1(a, b)
    assert (result.n_a, result.n_b) == (3, 3)
    assert result.f1 == pytest.approx(2 * 2 / 6)
    assert result.per_label["LOC"].precision == 0.5 and result.per_label["LOC"].recall == 1.0
    assert result.per_label["ORG"].f1 == 0.0


def test_empty_sets() -> None:
    both_empty = span_f1([[], []], [[], []])
    assert (both_empty.precision, both_empty.recall, both_empty.f1) == (1.0, 1.0, 1.0)
    assert both_empty.per_label == {}
    one_empty = span_f1([[]], [[(0, 1, "PER")]])
    assert (one_empty.precision, one_empty.recall, one_empty.f1) == (0.0, 0.0, 0.0)
    assert span_f1([], []).f1 == 1.0


def test_overlapping_spans_on_one_side_are_counted_by_hand() -> None:
    # allow_overlap projects: IOB2 cannot write these, the span sets are compared directly
    a = [[(0, 3, "ORG"), (1, 2, "LOC")]]
    b = [[(0, 3, "ORG"), (1, 2, "PER")]]
    result = span_f1(a, b)
    assert result.f1 == 0.5
    assert result.per_label["ORG"].f1 == 1.0


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        ([[(0, 1, "PER")]], [], "1 span lists on side A but 0"),
        ([[(2, 1, "PER")]], [[]], r"a\[0\]\[0\] = \(2, 1, 'PER'\)"),
        ([[(0, 1, 5)]], [[]], "str label"),
        (["PER"], [[]], r"a\[0\] must be a list of \(start, end, label\) spans"),
    ],
)
def test_bad_spans_are_refused_naming_them(a: list, b: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        span_f1(a, b)


def test_agreement_averages_pairs_and_labels() -> None:
    ratings = [
        # item 1: all three agree
        (1, "ann", [(0, 2, "PER")]),
        (1, "bob", [(0, 2, "PER")]),
        (1, "cat", [(0, 2, "PER")]),
        # item 2: cat's boundary differs
        (2, "ann", [(3, 4, "LOC")]),
        (2, "bob", [(3, 4, "LOC")]),
        (2, "cat", [(3, 5, "LOC")]),
        # item 3: only ann, ignored
        (3, "ann", [(0, 1, "ORG")]),
    ]
    report = span_agreement(ratings)
    assert (report.n_items, report.n_annotators, report.n_pairs) == (2, 3, 3)
    pairs = {(p.annotator_a, p.annotator_b): p for p in report.pairs}
    assert pairs["ann", "bob"].exact_f1 == 1.0
    assert pairs["ann", "cat"].exact_f1 == 0.5 and pairs["ann", "cat"].partial_f1 == 1.0
    assert report.exact_f1 == pytest.approx((1.0 + 0.5 + 0.5) / 3)
    assert report.partial_f1 == 1.0
    assert report.per_label["LOC"].exact_f1 == pytest.approx(1 / 3)
    assert report.per_label["PER"].exact_f1 == 1.0 and report.per_label["PER"].n_spans == 6
    assert "ORG" not in report.per_label
    assert report.sentence_agreement == pytest.approx(4 / 6)
    assert report.n_disagreements == 1


def test_agreement_on_empty_answers_is_complete() -> None:
    report = span_agreement([(1, "ann", []), (1, "bob", [])])
    assert report.exact_f1 == report.partial_f1 == report.sentence_agreement == 1.0
    assert report.per_label == {}


def test_agreement_needs_an_item_with_two_annotators() -> None:
    with pytest.raises(InvalidInput, match="two annotators"):
        span_agreement([(1, "ann", []), (2, "bob", [])])
    with pytest.raises(InvalidInput, match="rating 0"):
        span_agreement([(1, "ann")])  # type: ignore[list-item]


def test_gold_scores_spans_and_whole_sentences() -> None:
    gold = {1: [(0, 2, "PER"), (3, 4, "LOC")], 2: [], 3: [(0, 1, "ORG")]}
    answers = [
        ("ann", 1, [(0, 2, "PER"), (3, 4, "LOC")]),
        ("ann", 2, []),
        ("bob", 1, [(0, 1, "PER"), (3, 4, "LOC")]),  # a boundary off
        ("bob", 2, [(5, 6, "MISC")]),  # a span where gold has none
        ("bob", 3, [(0, 1, "ORG")]),
        ("bob", 9, [(0, 1, "ORG")]),  # not a gold item: ignored
    ]
    scores = gold_span_scores(answers, gold)
    ann, bob = scores["ann"], scores["bob"]
    assert (ann.n, ann.n_correct, ann.accuracy, ann.exact.f1) == (2, 2, 1.0, 1.0)
    assert (bob.n, bob.n_correct) == (3, 1)
    assert bob.exact.precision == pytest.approx(2 / 4) and bob.exact.recall == pytest.approx(2 / 3)
    assert bob.partial.precision == pytest.approx(3 / 4) and bob.partial.recall == 1.0
    assert bob.exact.per_label["MISC"].n_b == 0 and bob.exact.per_label["MISC"].precision == 0.0
    assert bob.lower < bob.accuracy < bob.upper


_SPAN = st.tuples(
    st.integers(0, 12), st.integers(1, 4), st.sampled_from(["PER", "LOC", "ORG"])
).map(lambda t: (t[0], t[0] + t[1], t[2]))


def _no_overlap(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    kept: list[tuple[int, int, str]] = []
    for s in sorted(spans):
        if not kept or s[0] >= kept[-1][1]:
            kept.append(s)
    return kept


_ITEMS = st.lists(st.lists(_SPAN, max_size=5), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(_ITEMS, _ITEMS)
def test_f1_is_symmetric_bounded_and_partial_at_least_exact(a: list, b: list) -> None:
    b = (b * len(a))[: len(a)]
    ab, ba = span_f1(a, b), span_f1(b, a)
    assert ab.f1 == pytest.approx(ba.f1) and ab.precision == pytest.approx(ba.recall)
    partial = span_f1(a, b, partial=True)
    assert 0.0 <= ab.f1 <= partial.f1 + 1e-12 <= 1.0 + 1e-12
    assert span_f1(a, a).f1 == 1.0


@settings(max_examples=60, deadline=None)
@given(_ITEMS, _ITEMS)
def test_seqeval_and_the_span_sets_count_the_same_exact_matches(a: list, b: list) -> None:
    a = [_no_overlap(s) for s in a]
    b = [_no_overlap(s) for s in (b * len(a))[: len(a)]]
    labels = sorted({s[2] for items in (a, b) for spans in items for s in spans})
    by_seqeval = {k: v for k, v in _exact_seqeval(a, b, labels).items() if v}
    assert by_seqeval == _exact_by_hand(a, b)
