"""Semi-supervised training: neighbourhood smoothing, self-training, and their use in fit_model."""

from __future__ import annotations

import numpy as np
import pytest
from learn_factories import blobs

from labelloop.errors import InvalidInput
from labelloop.learn import LogisticHead, TrainedModel, TrainingArgs, fit_model
from labelloop.learn.crossval import out_of_fold_logits
from labelloop.learn.semi import NeighbourSmoother, sample_rows, self_train


def _few_labels(per_class: int, *, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Three overlapping classes, ``per_class`` labels each, the rest unlabelled, and a test set."""
    x, y = blobs(200, 3, dim=16, separation=0.8, seed=seed)
    xt, yt = blobs(100, 3, dim=16, separation=0.8, seed=seed)  # same centres, fresh noise
    lab = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(3)])
    unl = np.setdiff1d(np.arange(len(y)), lab)
    return x[lab], y[lab], x[unl], xt, yt


def test_smoother_output_is_normalised_and_moves_towards_the_neighbourhood():
    ref = np.array([[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0, 0.9, 0.1]], dtype=np.float32)
    smoother = NeighbourSmoother(neighbours=2, weight=0.5).fit(ref)
    out = smoother.transform(np.array([[0.7, 0.7, 0.0], [0.2, 0.0, 1.0]], np.float32))
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    raw = np.array([0.2, 0.0, 1.0], np.float32) / np.linalg.norm([0.2, 0.0, 1.0])
    assert out[1] @ raw < 0.99  # pulled towards its two nearest reference rows
    # weight 0 is the identity (up to normalisation)
    same = NeighbourSmoother(neighbours=2, weight=0.0).fit(ref).transform(ref)
    np.testing.assert_allclose(same, ref / np.linalg.norm(ref, axis=1, keepdims=True), atol=1e-3)


def test_smoother_with_more_neighbours_than_reference_rows_uses_them_all():
    ref = np.eye(3, dtype=np.float32)
    out = NeighbourSmoother(neighbours=10, weight=1.0).fit(ref).transform(ref[:1])
    np.testing.assert_allclose(out[0], np.full(3, 1 / np.sqrt(3)), atol=1e-3)


def test_smoother_refuses_bad_arguments_with_the_field_named():
    with pytest.raises(InvalidInput, match="neighbours"):
        NeighbourSmoother(neighbours=0)
    with pytest.raises(InvalidInput, match="weight"):
        NeighbourSmoother(weight=1.5)
    with pytest.raises(InvalidInput, match="fitted"):
        NeighbourSmoother().transform(np.eye(2, dtype=np.float32))
    smoother = NeighbourSmoother().fit(np.eye(4, dtype=np.float32))
    with pytest.raises(InvalidInput, match="dimensions"):
        smoother.transform(np.eye(3, dtype=np.float32))
    with pytest.raises(InvalidInput, match="reference"):
        NeighbourSmoother().fit(np.zeros((0, 4), np.float32))


def test_sample_rows_is_seeded_sorted_and_bounded():
    a = sample_rows(1000, 10, seed=3)
    assert len(a) == 10 and (np.diff(a) > 0).all()
    assert a.tolist() == sample_rows(1000, 10, seed=3).tolist()
    assert sample_rows(5, 10, seed=0).tolist() == [0, 1, 2, 3, 4]


def test_self_training_pseudo_labels_an_equal_share_per_class_growing_per_round():
    x, y, unl, _, _ = _few_labels(3)
    seen: list[int] = []

    def fit(rows, targets, init):
        seen.append(len(rows))
        return LogisticHead(n_labels=3, C=10.0).fit(rows, targets, init=init)

    self_train(fit, x, y, unl, n_labels=3, share=0.6, rounds=3)
    per_class = [int(0.6 * r / 3 * len(unl) / 3) for r in (1, 2, 3)]
    # a class may have fewer predicted rows than its share, so at most this many
    assert seen[0] == len(y)
    assert all(s <= len(y) + 3 * p for s, p in zip(seen[1:], per_class, strict=True))
    assert seen[1] < seen[2] < seen[3]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_semi_supervised_model_beats_labels_alone_with_few_labels(seed):
    x, y, unl, xt, yt = _few_labels(2, seed=seed)
    plain = fit_model(x, y, n_labels=3, args=TrainingArgs(C=10.0))
    semi = fit_model(
        x, y, n_labels=3, args=TrainingArgs(C=10.0, semi_supervised=True), unlabelled=unl
    )
    assert semi.smoother is not None and plain.smoother is None
    acc_plain = (plain.predict(xt) == yt).mean()
    acc_semi = (semi.predict(xt) == yt).mean()
    assert acc_semi > acc_plain + 0.03, (acc_plain, acc_semi)


def test_semi_supervised_model_saves_and_loads_with_its_smoother(tmp_path):
    x, y, unl, xt, _ = _few_labels(4)
    model = fit_model(
        x, y, n_labels=3, args=TrainingArgs(semi_supervised=True, seed=1), unlabelled=unl
    )
    loaded = TrainedModel.load(model.save(tmp_path / "m.pkl"))
    np.testing.assert_allclose(loaded.predict_proba(xt), model.predict_proba(xt), atol=1e-6)
    assert loaded.smoother is not None and loaded.smoother.reference_.dtype == np.float16


def test_semi_supervised_switches_are_honoured():
    x, y, unl, _, _ = _few_labels(4)
    no_unlabelled = fit_model(x, y, n_labels=3, args=TrainingArgs(semi_supervised=True))
    assert no_unlabelled.smoother is None
    only_self_training = fit_model(
        x,
        y,
        n_labels=3,
        args=TrainingArgs(semi_supervised=True, smoothing_neighbours=0),
        unlabelled=unl,
    )
    assert only_self_training.smoother is None
    capped = fit_model(
        x,
        y,
        n_labels=3,
        args=TrainingArgs(semi_supervised=True, smoothing_reference=50),
        unlabelled=unl,
    )
    assert capped.smoother is not None and capped.smoother.reference_.shape[0] == 50


def test_out_of_fold_self_training_never_sees_held_out_labels(monkeypatch):
    from labelloop.learn import crossval

    x, y, unl, _, _ = _few_labels(6)
    folds = np.arange(len(y)) % 3
    monkeypatch.setattr(crossval, "fold_ids", lambda labels, n_splits, seed: folds)
    args = TrainingArgs(semi_supervised=True, cv_folds=3)
    base = out_of_fold_logits(x, y, n_labels=3, args=args, C=10.0, unlabelled=unl)
    # relabel every row of fold 0: that fold's own logits must not move, the others' must
    flipped = y.copy()
    flipped[folds == 0] = (y[folds == 0] + 1) % 3
    again = out_of_fold_logits(x, flipped, n_labels=3, args=args, C=10.0, unlabelled=unl)
    np.testing.assert_allclose(again[folds == 0], base[folds == 0], atol=1e-4)
    assert not np.allclose(again[folds != 0], base[folds != 0], atol=1e-2)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("semi_supervised", "yes"),
        ("smoothing_weight", 1.5),
        ("self_training_share", -0.1),
        ("smoothing_neighbours", -1),
        ("unlabelled_sample", 2.5),
    ],
)
def test_training_args_check_the_semi_supervised_fields(field, value):
    with pytest.raises(InvalidInput, match=field):
        TrainingArgs(**{field: value})
