"""Calibration: turn a head's logits into probabilities that mean what they say.

Calibrators are fitted on *out-of-fold* logits (see :func:`labelloop.learn.out_of_fold_pred_probs`),
never on logits of the data the head was trained on, which are over-confident.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize_scalar

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn._softmax import log_softmax, softmax
from labelloop.learn._validation import check_hard_labels

__all__ = [
    "IdentityCalibrator",
    "IsotonicCalibrator",
    "TemperatureScaler",
    "brier_score",
    "expected_calibration_error",
]


def _check_probs(pred_probs: object, labels: object) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_probs, dtype=np.float64)
    if p.ndim != 2:
        raise InvalidInput(f"must be (n, k), got shape {p.shape}", field="pred_probs")
    if not np.isfinite(p).all() or p.min(initial=0.0) < 0:
        raise InvalidInput("must be finite and non-negative", field="pred_probs")
    y = check_hard_labels(labels, p.shape[0], p.shape[1])
    return p, y


def expected_calibration_error(
    pred_probs: np.ndarray, labels: np.ndarray, *, n_bins: int = 15
) -> float:
    """Top-label expected calibration error, equal-width confidence bins.

    Args:
        pred_probs: ``(n, k)`` probabilities.
        labels: ``(n,)`` true label ids.
        n_bins: number of confidence bins on ``[0, 1]``.

    Returns:
        ``sum_b (n_b / n) |accuracy_b - confidence_b|``, in ``[0, 1]``; 0.0 for no rows.
    """
    p, y = _check_probs(pred_probs, labels)
    if n_bins < 1:
        raise InvalidInput("must be at least 1", field="n_bins")
    if p.shape[0] == 0:
        return 0.0
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    bins = np.minimum((confidence * n_bins).astype(np.int64), n_bins - 1)
    total = 0.0
    for b in np.unique(bins):
        mask = bins == b
        total += mask.sum() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(total / p.shape[0])


def brier_score(pred_probs: np.ndarray, labels: np.ndarray) -> float:
    """Multi-class Brier score: mean over rows of ``sum_j (p_j - [y == j])^2``, in ``[0, 2]``."""
    p, y = _check_probs(pred_probs, labels)
    if p.shape[0] == 0:
        return 0.0
    onehot = np.zeros_like(p)
    onehot[np.arange(len(y)), y] = 1.0
    return float(((p - onehot) ** 2).sum(axis=1).mean())


def _check_logits(logits: object, labels: object | None = None) -> tuple[np.ndarray, np.ndarray]:
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or not np.isfinite(z).all():
        raise InvalidInput("must be a finite (n, k) array", field="logits")
    y = np.empty(0, dtype=np.int64) if labels is None else check_hard_labels(labels, *z.shape)
    return z, y


class IdentityCalibrator:
    """No calibration: ``softmax(logits)`` (``calibration="none"``)."""

    def fit(self, logits: np.ndarray, labels: np.ndarray) -> IdentityCalibrator:
        _check_logits(logits, labels)
        self.fitted_ = True
        return self

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """``(n, k)`` logits -> ``(n, k)`` probabilities."""
        return softmax(_check_logits(logits)[0])


class TemperatureScaler:
    """One temperature ``T`` for all classes: ``softmax(logits / T)``, ``T`` minimising the NLL.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> logits = rng.normal(size=(2000, 3)) * 3
        >>> labels = np.array([rng.choice(3, p=p) for p in softmax(logits / 2.0)])
        >>> round(TemperatureScaler().fit(logits, labels).temperature_, 0)
        2.0
    """

    def __init__(self, *, min_temperature: float = 0.05, max_temperature: float = 100.0) -> None:
        self.min_temperature = min_temperature
        self.max_temperature = max_temperature

    def fit(self, logits: np.ndarray, labels: np.ndarray) -> TemperatureScaler:
        """Fit on out-of-fold ``(n, k)`` logits and ``(n,)`` label ids; returns self."""
        z, y = _check_logits(logits, labels)
        if z.shape[0] == 0:
            self.temperature_ = 1.0
            return self
        rows = np.arange(len(y))

        def nll(log_t: float) -> float:
            lp = log_softmax(z / np.exp(log_t))[rows, y]
            # a class unseen in a training fold gets a ~-1e4 logit; cap its loss so one such row
            # cannot decide the temperature for everyone
            return float(-np.maximum(lp, -30.0).mean())

        res = minimize_scalar(
            nll,
            bounds=(np.log(self.min_temperature), np.log(self.max_temperature)),
            method="bounded",
            options={"xatol": 1e-4},
        )
        self.temperature_ = float(np.exp(res.x))
        return self

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """``(n, k)`` logits -> calibrated ``(n, k)`` probabilities."""
        if not hasattr(self, "temperature_"):
            raise NotFitted("TemperatureScaler must be fitted first")
        return softmax(_check_logits(logits)[0] / self.temperature_)


class IsotonicCalibrator:
    """Per-class isotonic regression of ``softmax(logits)[:, j]`` on ``[y == j]``, renormalised.

    Classes without both positive and negative out-of-fold rows keep their uncalibrated probability.
    Needs a few hundred labels to beat temperature scaling; with few labels it overfits.
    """

    def fit(self, logits: np.ndarray, labels: np.ndarray) -> IsotonicCalibrator:
        """Fit on out-of-fold ``(n, k)`` logits and ``(n,)`` label ids; returns self."""
        from sklearn.isotonic import IsotonicRegression

        z, y = _check_logits(logits, labels)
        p = softmax(z)
        self.maps_: list[tuple[np.ndarray, np.ndarray] | None] = []
        for j in range(z.shape[1]):
            target = (y == j).astype(np.float64)
            if target.min(initial=1.0) == target.max(initial=0.0):
                self.maps_.append(None)
                continue
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
                p[:, j], target
            )
            self.maps_.append((iso.X_thresholds_.copy(), iso.y_thresholds_.copy()))
        return self

    def predict_proba(self, logits: np.ndarray) -> np.ndarray:
        """``(n, k)`` logits -> calibrated ``(n, k)`` probabilities (rows sum to 1)."""
        if not hasattr(self, "maps_"):
            raise NotFitted("IsotonicCalibrator must be fitted first")
        p = softmax(_check_logits(logits)[0])
        out = p.copy()
        for j, m in enumerate(self.maps_):
            if m is not None:
                out[:, j] = np.interp(p[:, j], m[0], m[1])
        sums = out.sum(axis=1, keepdims=True)
        empty = sums[:, 0] <= 1e-12
        out[empty] = p[empty]  # every class mapped to 0: fall back to the raw probabilities
        sums[empty] = 1.0
        return out / sums
