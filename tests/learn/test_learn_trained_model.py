from __future__ import annotations

import pickle

import numpy as np
import pytest
from learn_factories import blobs

from labelloop.errors import InvalidInput, NotFound
from labelloop.learn import (
    LogisticHead,
    Metrics,
    MLPHead,
    TrainedModel,
    TrainingArgs,
    compare_models,
    fit_model,
)
from labelloop.learn.crossval import AugmentedSet
from labelloop.learn.model import FORMAT_VERSION


def test_fit_model_gives_calibrated_probabilities_and_cross_validated_metrics():
    x, y = blobs(30, 3, separation=2.5, seed=1)
    model = fit_model(x[:75], y[:75], n_labels=4, label_names=["a", "b", "c", "d"])
    p = model.predict_proba(x[75:])
    assert p.shape == (15, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    assert p[:, 3].max() < 1e-6
    assert (model.predict(x[75:]) == y[75:]).mean() >= 0.85
    assert isinstance(model.metrics, Metrics) and model.metrics.n == 75
    assert model.metrics.per_class[3].support == 0
    assert model.C in TrainingArgs().C_grid
    assert model.ece is not None and 0.0 <= model.ece <= 1.0
    assert model.oof_predictions is not None and model.oof_predictions.shape == (75,)
    assert model.train_seconds > 0 and model.n_train == 75


@pytest.mark.parametrize(
    "args",
    [
        TrainingArgs(head="mlp", calibration="isotonic"),
        TrainingArgs(C=5.0, calibration="none", augment="mixup", augment_factor=2),
    ],
)
def test_fit_model_supports_other_heads_calibrations_and_mixup(args):
    x, y = blobs(20, 3, seed=2)
    model = fit_model(x, y, n_labels=3, args=args)
    assert isinstance(model.head, MLPHead if args.head == "mlp" else LogisticHead)
    assert model.metrics is not None and model.metrics.accuracy >= 0.8


def test_too_few_labels_still_give_a_model_without_metrics():
    x, _ = blobs(1, 3)
    model = fit_model(x[:1], np.array([2]), n_labels=3)
    assert model.metrics is None and model.ece is None
    assert model.predict(x).tolist() == [2, 2, 2]


def test_warm_started_retrain_reuses_the_previous_head():
    x, y = blobs(30, 3, seed=3)
    first = fit_model(x[:60], y[:60], n_labels=3, args=TrainingArgs(C=10.0))
    second = fit_model(x, y, n_labels=3, args=TrainingArgs(C=10.0), init=first)
    cold = fit_model(x, y, n_labels=3, args=TrainingArgs(C=10.0))
    np.testing.assert_allclose(second.predict_proba(x), cold.predict_proba(x), atol=1e-2)


def test_augmented_rows_join_training(monkeypatch):
    x, y = blobs(10, 2, seed=4)
    aug = AugmentedSet(x + 0.01, y, np.arange(len(y)))
    model = fit_model(x, y, n_labels=2, args=TrainingArgs(C=1.0), augmented=aug)
    assert model.metrics is not None and model.metrics.n == len(y)


def test_multi_label_model():
    x, y = blobs(20, 3, seed=5)
    ind = np.stack([y == 0, y != 0], axis=1).astype(int)
    model = fit_model(x, ind, n_labels=2, args=TrainingArgs(cv_folds=3))
    assert model.multi_label
    assert (model.predict(x) == ind).mean() >= 0.9


def test_save_load_round_trip(tmp_path):
    x, y = blobs(15, 3)
    model = fit_model(x, y, n_labels=3, args=TrainingArgs(C=3.0, calibration="isotonic"))
    path = model.save(tmp_path / "models" / "m1.pkl")
    loaded = TrainedModel.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(x), model.predict_proba(x))
    assert loaded.args == model.args and loaded.metrics == model.metrics
    assert loaded.format_version == FORMAT_VERSION


def test_interrupted_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    x, y = blobs(10, 2)
    old = fit_model(x, y, n_labels=2, args=TrainingArgs(C=1.0))
    path = old.save(tmp_path / "model.pkl")
    before = path.read_bytes()
    new = fit_model(x, 1 - y, n_labels=2, args=TrainingArgs(C=1.0))

    def crash(obj, fh, protocol=None):
        fh.write(b"half a model")
        raise KeyboardInterrupt("power cut")

    monkeypatch.setattr(pickle, "dump", crash)
    with pytest.raises(KeyboardInterrupt):
        new.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.pkl"]
    monkeypatch.undo()
    np.testing.assert_array_equal(TrainedModel.load(path).predict(x), old.predict(x))


def test_load_refuses_missing_foreign_and_newer_files(tmp_path):
    with pytest.raises(NotFound):
        TrainedModel.load(tmp_path / "nope.pkl")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(InvalidInput):
        TrainedModel.load(junk)
    newer = tmp_path / "newer.pkl"
    newer.write_bytes(pickle.dumps({"format": "labelloop.TrainedModel", "version": 99}))
    with pytest.raises(InvalidInput, match="newer"):
        TrainedModel.load(newer)


def test_compare_models_refuses_a_clearly_worse_challenger():
    x, y = blobs(40, 3, seed=6)
    good = fit_model(x[:60], y[:60], n_labels=3, args=TrainingArgs(C=10.0))
    bad = fit_model(x[:60], (y[:60] + 1) % 3, n_labels=3, args=TrainingArgs(C=10.0))
    assert not compare_models(good, bad, x[60:], y[60:]).promote
    assert compare_models(bad, good, x[60:], y[60:]).promote
