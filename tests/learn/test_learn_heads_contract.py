"""One contract suite run against every single-label head."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from learn_factories import blobs
from sklearn.base import clone

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn import LogisticHead, MLPHead, mixup

HEADS: dict[str, Callable[[int | None], LogisticHead | MLPHead]] = {
    "logistic": lambda k: LogisticHead(k, C=10.0),
    "mlp": lambda k: MLPHead(k, n_steps=150, hidden=32, seed=0),
}


@pytest.fixture(params=sorted(HEADS))
def make_head(request: pytest.FixtureRequest) -> Callable[[int | None], LogisticHead | MLPHead]:
    return HEADS[request.param]


def test_fit_returns_self_and_learns_separable_classes(make_head):
    x, y = blobs(30, 3, seed=1)
    head = make_head(3)
    assert head.fit(x[:60], y[:60]) is head
    assert (head.predict(x[60:]) == y[60:]).mean() >= 0.9


def test_predict_before_fit_raises_not_fitted(make_head):
    x, _ = blobs(2, 2)
    for method in ("predict", "predict_proba", "decision_function"):
        with pytest.raises(NotFitted):
            getattr(make_head(2), method)(x)


@settings(max_examples=10, deadline=None)
@given(
    n_per_class=st.integers(1, 6),
    n_classes=st.integers(1, 4),
    extra_labels=st.integers(0, 3),
    seed=st.integers(0, 1000),
)
@pytest.mark.parametrize("name", sorted(HEADS))
def test_proba_has_schema_width_and_rows_sum_to_one(
    name, n_per_class, n_classes, extra_labels, seed
):
    x, y = blobs(n_per_class, n_classes, dim=8, seed=seed)
    k = n_classes + extra_labels
    head = HEADS[name](k).fit(x, y)
    p = head.predict_proba(x)
    assert p.shape == (len(x), k)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert (p >= 0).all()


def test_classes_without_labels_get_no_probability(make_head):
    x, y = blobs(10, 3)
    y = np.where(y == 1, 3, y)  # label ids 0, 2, 3 of a 5-label schema; 1 and 4 unseen
    head = make_head(5).fit(x, y)
    p = head.predict_proba(x)
    assert p[:, [1, 4]].max() < 1e-6
    assert set(head.predict(x)) <= {0, 2, 3}


def test_a_single_labelled_class_is_predicted_everywhere(make_head):
    x, _ = blobs(5, 2)
    head = make_head(3).fit(x, np.full(len(x), 2))
    np.testing.assert_allclose(head.predict_proba(x)[:, 2], 1.0, atol=1e-6)


def test_same_seed_same_head(make_head):
    x, y = blobs(10, 3)
    a = make_head(3).fit(x, y).predict_proba(x)
    b = make_head(3).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_soft_labels_from_mixup_are_accepted(make_head):
    x, y = blobs(15, 3, seed=2)
    mx, my = mixup(x[:30], y[:30], n_labels=3, alpha=0.4, factor=2, seed=0)
    head = make_head(3).fit(mx, my)
    assert (head.predict(x[30:]) == y[30:]).mean() >= 0.8


def test_bad_inputs_raise_invalid_input(make_head):
    x, y = blobs(5, 2, dim=6)
    with pytest.raises(InvalidInput, match="labels"):
        make_head(2).fit(x, np.full(len(x), 7))
    with pytest.raises(InvalidInput, match="embeddings"):
        make_head(2).fit(x[:, :, None], y)
    head = make_head(2).fit(x, y)
    with pytest.raises(InvalidInput, match="dimensions"):
        head.predict_proba(np.ones((2, 5)))
    with pytest.raises(InvalidInput, match="NaN"):
        head.predict_proba(np.full((1, 6), np.nan))


def test_heads_are_sklearn_clonable(make_head):
    head = make_head(4)
    copy = clone(head)
    assert copy.get_params() == head.get_params()


def test_logistic_warm_start_reaches_the_same_solution_in_fewer_iterations():
    x, y = blobs(40, 4, dim=32, separation=1.5, seed=3)
    previous = LogisticHead(4, C=10.0, tol=1e-6).fit(x[:150], y[:150])
    cold = LogisticHead(4, C=10.0, tol=1e-6).fit(x, y)
    warm = LogisticHead(4, C=10.0, tol=1e-6).fit(x, y, init=previous)
    np.testing.assert_allclose(warm.predict_proba(x), cold.predict_proba(x), atol=1e-3)
    assert warm.n_iter_ < cold.n_iter_


def test_logistic_warm_start_maps_classes_when_the_schema_grows():
    x, y = blobs(20, 3, seed=4)
    old = LogisticHead(2, C=10.0).fit(x[y < 2], y[y < 2])
    new = LogisticHead(5, C=10.0).fit(x, y, init=old)
    assert new.predict_proba(x).shape == (len(x), 5)
    assert (new.predict(x) == y).mean() >= 0.9


def test_logistic_matches_sklearn_on_the_same_objective():
    from sklearn.linear_model import LogisticRegression

    x, y = blobs(30, 3, dim=8, separation=1.0, seed=5)
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    ours = LogisticHead(3, C=2.0, tol=1e-7, max_iter=1000).fit(x, y).predict_proba(x)
    ref = LogisticRegression(C=2.0, tol=1e-8, max_iter=5000).fit(x, y).predict_proba(x)
    np.testing.assert_allclose(ours, ref, atol=2e-3)
