from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from learn_factories import overconfident_logits

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn import (
    IsotonicCalibrator,
    TemperatureScaler,
    brier_score,
    expected_calibration_error,
)
from labelloop.learn._softmax import softmax


@st.composite
def probs_and_labels(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 40))
    k = draw(st.integers(2, 5))
    raw = draw(arrays(np.float64, (n, k), elements=st.floats(0.0, 1.0)))
    raw = raw + 1e-3
    labels = draw(arrays(np.int64, (n,), elements=st.integers(0, k - 1)))
    return raw / raw.sum(axis=1, keepdims=True), labels


@settings(max_examples=60, deadline=None)
@given(probs_and_labels())
def test_ece_and_brier_lie_in_their_ranges(data):
    p, y = data
    assert 0.0 <= expected_calibration_error(p, y) <= 1.0
    assert 0.0 <= brier_score(p, y) <= 2.0


def test_ece_is_zero_for_confident_correct_and_one_for_confident_wrong():
    y = np.array([0, 1, 1])
    right = np.eye(2)[y]
    assert expected_calibration_error(right, y) == pytest.approx(0.0)
    assert expected_calibration_error(1 - right, y) == pytest.approx(1.0)
    assert brier_score(1 - right, y) == pytest.approx(2.0)


def test_temperature_scaler_recovers_a_known_temperature():
    logits, labels = overconfident_logits(4000, 4, true_temperature=3.0)
    scaler = TemperatureScaler().fit(logits, labels)
    assert scaler.temperature_ == pytest.approx(3.0, rel=0.1)


@pytest.mark.parametrize("calibrator", [TemperatureScaler(), IsotonicCalibrator()])
def test_calibration_lowers_ece_on_overconfident_logits(calibrator):
    fit_logits, fit_labels = overconfident_logits(3000, 4, seed=1)
    test_logits, test_labels = overconfident_logits(3000, 4, seed=2)
    before = expected_calibration_error(softmax(test_logits), test_labels)
    calibrated = calibrator.fit(fit_logits, fit_labels).predict_proba(test_logits)
    after = expected_calibration_error(calibrated, test_labels)
    assert after < before / 2
    np.testing.assert_allclose(calibrated.sum(axis=1), 1.0, atol=1e-6)


def test_isotonic_keeps_a_class_that_never_occurred_near_zero():
    logits, labels = overconfident_logits(500, 3, seed=3)
    logits = np.c_[logits, np.full(len(logits), -1e4)]
    p = IsotonicCalibrator().fit(logits, labels).predict_proba(logits)
    assert p[:, 3].max() < 1e-6


def test_calibrators_refuse_to_predict_unfitted_and_bad_input():
    with pytest.raises(NotFitted):
        TemperatureScaler().predict_proba(np.zeros((1, 2)))
    with pytest.raises(NotFitted):
        IsotonicCalibrator().predict_proba(np.zeros((1, 2)))
    with pytest.raises(InvalidInput):
        TemperatureScaler().fit(np.zeros((3, 2)), np.array([0, 1, 5]))
    with pytest.raises(InvalidInput):
        expected_calibration_error(np.ones((2, 2)) / 2, np.array([0]))
