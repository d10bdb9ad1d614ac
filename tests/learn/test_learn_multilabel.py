from __future__ import annotations

import numpy as np
import pytest
from learn_factories import blobs

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn import LogisticHead, MLPHead, MultiLabelHead
from labelloop.learn.multilabel import best_f1_threshold


def _indicator(y: np.ndarray) -> np.ndarray:
    # label 0: class 0 or 1; label 1: class 1 or 2; label 2: never; label 3: always
    return np.stack([y <= 1, y >= 1, np.zeros_like(y, bool), np.ones_like(y, bool)], axis=1).astype(
        int
    )


@pytest.mark.parametrize("base", [LogisticHead(C=10.0), MLPHead(n_steps=100, hidden=16)])
def test_multilabel_head_learns_overlapping_labels(base):
    x, y = blobs(25, 3, seed=7)
    ind = _indicator(y)
    head = MultiLabelHead(base, cv_folds=3).fit(x[:60], ind[:60])
    pred = head.predict(x[60:])
    assert pred.shape == (15, 4)
    assert (pred[:, :2] == ind[60:, :2]).mean() >= 0.9
    p = head.predict_proba(x[60:])
    assert p[:, 2].max() < 1e-6 and p[:, 3].min() > 1 - 1e-6
    assert ((p >= 0) & (p <= 1)).all()


def test_fixed_threshold_strategy_uses_the_given_threshold():
    x, y = blobs(10, 3)
    head = MultiLabelHead(threshold_strategy="fixed", threshold=0.3).fit(x, _indicator(y))
    np.testing.assert_allclose(head.thresholds_, 0.3)


def test_multilabel_rejects_non_indicator_and_predicting_unfitted():
    x, y = blobs(5, 2)
    with pytest.raises(InvalidInput):
        MultiLabelHead().fit(x, y)
    with pytest.raises(NotFitted):
        MultiLabelHead().predict(x)


def test_best_f1_threshold_separates_a_perfect_ranking():
    scores = np.array([0.9, 0.8, 0.7, 0.2, 0.1])
    t = best_f1_threshold(scores, np.array([1, 1, 1, 0, 0]))
    assert 0.2 < t < 0.7
