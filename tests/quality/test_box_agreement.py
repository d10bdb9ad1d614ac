"""Box matching, box F1 and agreement: one-to-one matching at IoU 0.5 with the same label."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from labelloop.errors import InvalidInput
from labelloop.quality.box_agreement import (
    box_agreement,
    box_f1,
    boxes_match,
    iou_matrix,
    match_boxes,
)

BOX = st.tuples(
    st.integers(0, 50), st.integers(0, 50), st.integers(1, 30), st.integers(1, 30),
    st.sampled_from(["a", "b"]),
)  # fmt: skip


def test_the_best_total_pairing_wins_over_a_greedy_one():
    # b[0] overlaps both a boxes (IoU 0.67 each); given to a[0], it would leave a[1] unmatched
    # (a[1]-b[1]: IoU 0.25): the assignment pairs a[0]-b[1] and a[1]-b[0] instead
    a = [(0, 0, 10, 10, "x"), (4, 0, 10, 10, "x")]
    b = [(2, 0, 10, 10, "x"), (-2, 0, 10, 10, "x")]
    assert len(match_boxes(a, b)) == 2
    assert boxes_match(a, b)


def test_labels_must_match_and_iou_must_reach_half():
    assert match_boxes([(0, 0, 10, 10, "x")], [(0, 0, 10, 10, "y")]) == []
    assert match_boxes([(0, 0, 10, 10, "x")], [(5, 0, 10, 10, "x")]) == []  # IoU 1/3
    assert iou_matrix([(0, 0, 10, 10, "x")], [(5, 0, 10, 10, "x")])[0, 0] == pytest.approx(1 / 3)


def test_empty_answers_agree_completely():
    result = box_f1([[]], [[]])
    assert result.f1 == 1.0 and result.mean_iou is None and result.image_agreement == 1.0


@given(st.lists(st.lists(BOX, max_size=4), min_size=1, max_size=4), st.data())
def test_box_f1_is_symmetric_and_in_range(a, data):
    b = [data.draw(st.lists(BOX, max_size=4)) for _ in a]
    ab, ba = box_f1(a, b), box_f1(b, a)
    assert ab.f1 == pytest.approx(ba.f1)
    assert 0.0 <= ab.f1 <= 1.0
    assert ab.mean_iou is None or 0.5 <= ab.mean_iou <= 1.0
    assert box_f1(a, a).f1 == 1.0


def test_agreement_over_pairs_and_bad_input():
    report = box_agreement([
        (1, "ann", [(0, 0, 10, 10, "a")]), (1, "bob", [(0, 0, 10, 10, "a")]),
        (2, "ann", [(0, 0, 10, 10, "a")]), (2, "bob", []),
    ])  # fmt: skip
    assert report.f1 == pytest.approx(2 / 3) and report.image_agreement == 0.5
    assert report.n_disagreements == 1
    with pytest.raises(InvalidInput, match="two annotators"):
        box_agreement([(1, "ann", [])])
    with pytest.raises(InvalidInput, match=r"rating 0\[0\]"):
        box_agreement([(1, "ann", [(0, 0, -1, 10, "a")]), (1, "bob", [])])
