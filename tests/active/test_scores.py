"""Properties of the uncertainty scores (hypothesis) and their boundary checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from labelloop.active import (
    entropy,
    least_confidence,
    margin,
    multilabel_entropy,
    multilabel_uncertainty,
)
from labelloop.active.scores import top_n
from labelloop.errors import InvalidInput

SINGLE = [least_confidence, margin, entropy]
MULTI = [multilabel_entropy, multilabel_uncertainty]


@st.composite
def prob_matrices(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 12))
    k = draw(st.integers(2, 9))
    raw = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0, allow_nan=False, width=32)))
    raw = raw + 1e-9
    return raw / raw.sum(axis=1, keepdims=True)


@settings(max_examples=80, deadline=None)
@given(prob_matrices())
def test_single_label_scores_are_bounded(p: np.ndarray) -> None:
    for score in SINGLE:
        s = score(p)
        assert s.shape == (p.shape[0],)
        assert np.all(s >= 0.0) and np.all(s <= 1.0)


@settings(max_examples=80, deadline=None)
@given(prob_matrices())
def test_uniform_scores_at_least_as_high_as_anything(p: np.ndarray) -> None:
    k = p.shape[1]
    uniform = np.full((1, k), 1.0 / k)
    for score in SINGLE:
        assert score(uniform)[0] == pytest.approx(1.0)
        assert np.all(score(p) <= score(uniform)[0] + 1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 30), st.data())
def test_one_hot_scores_zero(k: int, data: st.DataObject) -> None:
    j = data.draw(st.integers(0, k - 1))
    one_hot = np.zeros((1, k))
    one_hot[0, j] = 1.0
    for score in SINGLE:
        assert score(one_hot)[0] == pytest.approx(0.0, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 10), st.integers(1, 8)),
        elements=st.floats(0.0, 1.0, allow_nan=False),
    )
)
def test_multilabel_scores_bounded_max_at_half(p: np.ndarray) -> None:
    half = np.full((1, p.shape[1]), 0.5)
    for score in MULTI:
        s = score(p)
        assert np.all(s >= 0.0) and np.all(s <= 1.0)
        assert score(half)[0] == pytest.approx(1.0)
    certain = (p > 0.5).astype(float)
    assert np.allclose(multilabel_entropy(certain), 0.0)
    assert np.allclose(multilabel_uncertainty(certain), 0.0)


def test_entropy_ranks_spread_above_peaked() -> None:
    p = np.array([[0.98, 0.01, 0.01], [0.4, 0.3, 0.3], [0.7, 0.2, 0.1]])
    assert np.argsort(-entropy(p)).tolist() == [1, 2, 0]


def test_margin_prefers_near_tie_over_flat_but_clear() -> None:
    # Row 0: clear winner but flat tail (high entropy); row 1: near-tie of two classes.
    p = np.array([[0.4, 0.15, 0.15, 0.15, 0.15], [0.48, 0.47, 0.05, 0.0, 0.0]])
    assert margin(p)[1] > margin(p)[0]
    assert entropy(p)[0] > entropy(p)[1]


def test_multilabel_uncertainty_uses_threshold() -> None:
    p = np.array([[0.3, 0.95], [0.6, 0.99]])
    assert np.argmax(multilabel_uncertainty(p, threshold=0.3)) == 0
    assert np.argmax(multilabel_uncertainty(p, threshold=0.6)) == 1
    with pytest.raises(InvalidInput):
        multilabel_uncertainty(p, threshold=1.0)


def test_top_n_best_first_and_all_when_n_large() -> None:
    s = np.array([0.1, 0.9, 0.5, 0.9, 0.0])
    assert top_n(s, 3).tolist() == [1, 3, 2]
    assert top_n(s, 10).tolist() == [1, 3, 2, 0, 4]


@pytest.mark.parametrize("bad", [np.ones(3) / 3, np.ones((2, 1)), np.array([["a", "b"]])])
def test_scores_reject_bad_shapes(bad: np.ndarray) -> None:
    for score in SINGLE:
        with pytest.raises(InvalidInput):
            score(bad)
