"""Agreement metrics against published worked examples, plus properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.errors import InvalidInput
from labelloop.quality import (
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    per_class_agreement,
    percent_agreement,
)

# Wikipedia "Fleiss' kappa" worked example: 10 items, 14 raters, 5 categories -> 0.210.
FLEISS_WIKI = np.array(
    [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
)

# Krippendorff (2011) "Computing Krippendorff's alpha-reliability", nominal example:
# 4 observers x 12 units with missing values -> alpha = 0.743.
N = np.nan
KRIPP_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
    ]
)


def test_fleiss_wikipedia_example() -> None:
    assert fleiss_kappa(FLEISS_WIKI) == pytest.approx(0.210, abs=5e-4)


def test_krippendorff_2011_nominal_example() -> None:
    assert krippendorff_alpha(KRIPP_2011, level="nominal") == pytest.approx(0.743, abs=5e-4)


def test_cohen_wikipedia_example() -> None:
    # 50 proposals: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> kappa 0.4
    a = [1] * 20 + [1] * 5 + [0] * 10 + [0] * 15
    b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


labels2 = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=40)


@settings(max_examples=80, deadline=None)
@given(labels2)
def test_cohen_symmetric_and_bounded(pairs: list[tuple[int, int]]) -> None:
    a, b = map(np.array, zip(*pairs, strict=True))
    k = cohen_kappa(a, b)
    assert -1.0 - 1e-9 <= k <= 1.0 + 1e-9 or np.isnan(k)
    assert cohen_kappa(b, a) == pytest.approx(k, nan_ok=True)
    assert cohen_kappa(a, a) == 1.0


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 6), st.lists(st.integers(0, 2), min_size=2, max_size=20))
def test_identical_raters_give_one(raters: int, truth: list[int]) -> None:
    counts = np.zeros((len(truth), 3))
    counts[np.arange(len(truth)), truth] = raters
    assert fleiss_kappa(counts) == pytest.approx(1.0)
    assert percent_agreement(counts) == pytest.approx(1.0)
    data = np.tile(np.array(truth, float), (raters, 1))
    assert krippendorff_alpha(data) == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(0, 3), min_size=3, max_size=3), min_size=2, max_size=25))
def test_fleiss_and_percent_bounded(rows: list[list[int]]) -> None:
    counts = np.zeros((len(rows), 4))
    for i, r in enumerate(rows):
        for lab in r:
            counts[i, lab] += 1
    assert fleiss_kappa(counts) <= 1.0 + 1e-9
    assert 0.0 <= percent_agreement(counts) <= 1.0
    spec = per_class_agreement(counts)
    assert np.all((spec[~np.isnan(spec)] >= 0) & (spec[~np.isnan(spec)] <= 1))


def test_per_class_agreement_points_at_the_confused_class() -> None:
    counts = np.array([[2, 0, 0], [2, 0, 0], [0, 1, 1], [0, 1, 1], [0, 2, 0]])
    spec = per_class_agreement(counts)
    assert spec[0] == pytest.approx(1.0)
    assert spec[1] == pytest.approx(0.5) and spec[2] == pytest.approx(0.0)


def test_fleiss_rejects_varying_raters() -> None:
    with pytest.raises(InvalidInput, match="same number"):
        fleiss_kappa(np.array([[2, 0], [1, 2]]))


def test_report_from_long_table() -> None:
    ratings = []
    for item in range(20):
        truth = item % 3
        ratings += [(item, "ann", truth), (item, "bob", truth)]
        ratings.append((item, "cat", truth if item % 4 else (truth + 1) % 3))
    report = agreement_report(ratings)
    assert report.n_items == 20 and report.n_annotators == 3 and report.n_pairs == 3
    assert report.fleiss_kappa is not None and 0.5 < report.fleiss_kappa < 1.0
    assert report.cohen_kappa_mean is not None and 0.5 < report.cohen_kappa_mean < 1.0
    assert 0.5 < report.krippendorff_alpha < 1.0
    assert set(report.per_class) == {0, 1, 2}
    assert report.notes == ()


def test_report_without_fleiss_when_rater_counts_vary() -> None:
    ratings = [(1, "a", "x"), (1, "b", "x"), (2, "a", "y"), (2, "b", "y"), (2, "c", "x")]
    report = agreement_report(ratings)
    assert report.fleiss_kappa is None
    assert any("Fleiss" in note for note in report.notes)


def test_report_needs_an_item_rated_twice() -> None:
    with pytest.raises(InvalidInput):
        agreement_report([(1, "a", "x"), (2, "a", "y")])
