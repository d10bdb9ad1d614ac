from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from learn_factories import blobs
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from labelloop.errors import InvalidInput
from labelloop.learn import TrainingArgs, classification_metrics, out_of_fold_pred_probs
from labelloop.learn.crossval import fold_ids, select_C


def test_out_of_fold_probabilities_are_honest_and_well_formed():
    x, y = blobs(20, 3, separation=3.0)
    p = out_of_fold_pred_probs(x, y, n_labels=4, args=TrainingArgs(C=10.0))
    assert p.shape == (60, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert p[:, 3].max() < 1e-6
    assert (p.argmax(axis=1) == y).mean() >= 0.85
    # OOF is not the training fit: on pure noise it must be near chance, not near 100%
    rng = np.random.default_rng(0)
    noise = rng.normal(size=(60, 32)).astype(np.float32)
    p_noise = out_of_fold_pred_probs(noise, y, n_labels=3, args=TrainingArgs(C=100.0))
    assert (p_noise.argmax(axis=1) == y).mean() < 0.6


def test_rare_classes_do_not_break_cross_validation():
    x, y = blobs(10, 3)
    y = y.copy()
    y[0] = 3  # one label of class 3
    p = out_of_fold_pred_probs(x, y, n_labels=5, args=TrainingArgs(C=10.0, cv_folds=5))
    assert p.shape == (30, 5)
    # the single class-3 row is predicted by a head that never saw class 3
    assert p[0, 3] < 1e-6


def test_folds_are_stratified():
    y = np.repeat(np.arange(3), 10)
    folds = fold_ids(y, n_splits=5, seed=0)
    for f in range(5):
        assert np.bincount(y[folds == f], minlength=3).tolist() == [2, 2, 2]


def test_select_c_picks_a_grid_value_and_prefers_strong_regularisation_on_noise():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 40)).astype(np.float32)
    y = np.repeat(np.arange(3), 20)
    C, oof = select_C(x, y, n_labels=3, args=TrainingArgs(C_grid=(0.01, 1000.0)))
    assert C in (0.01, 1000.0)
    assert oof.shape == (60, 3)


@st.composite
def labelled_predictions(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 50))
    k = draw(st.integers(2, 5))
    y = draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    p = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0), unique=False)) + 1e-9
    return y, p / p.sum(axis=1, keepdims=True)


@settings(max_examples=60, deadline=None)
@given(labelled_predictions())
def test_metrics_agree_with_sklearn(data):
    y, p = data
    k = p.shape[1]
    m = classification_metrics(y, p, label_names=[f"c{j}" for j in range(k)])
    pred = p.argmax(axis=1)
    assert m.accuracy == pytest.approx(accuracy_score(y, pred))
    assert m.macro_f1 == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    assert np.array(m.confusion).tolist() == confusion_matrix(y, pred, labels=range(k)).tolist()
    assert sum(c.support for c in m.per_class) == len(y)
    assert 0.0 <= m.macro_f1 <= 1.0


def test_metrics_validate_their_input():
    with pytest.raises(InvalidInput):
        classification_metrics(np.array([0, 1]), np.ones((2, 3)) / 3, label_names=["a", "b"])
    m = classification_metrics(np.array([0, 1]), np.eye(2), label_names=["a", "b"])
    assert m.to_dict()["per_class"][1]["label"] == "b"
