"""Multi-label head: one binary base head per label, thresholds tuned on out-of-fold predictions."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn._validation import check_embeddings
from labelloop.learn.heads import LogisticHead, MLPHead

__all__ = ["MultiLabelHead", "best_f1_threshold"]


def best_f1_threshold(scores: np.ndarray, positives: np.ndarray, *, default: float = 0.5) -> float:
    """The threshold on ``scores`` ``(n,)`` that maximises F1 against 0/1 ``positives`` ``(n,)``.

    The threshold lies halfway between the chosen score and the next lower one, so it generalises
    a little better than the score itself. ``default`` when there are no positives.
    """
    pos = positives.astype(bool)
    if not pos.any():
        return default
    order = np.argsort(-scores, kind="stable")
    s, hit = scores[order], pos[order]
    tp = np.cumsum(hit)
    fp = np.cumsum(~hit)
    f1 = 2 * tp / (tp + fp + pos.sum())
    # only cut between distinct scores
    valid = np.r_[s[1:] < s[:-1], True]
    best = int(np.argmax(np.where(valid, f1, -1.0)))
    lower = s[best + 1] if best + 1 < len(s) else s[best] - 1e-3
    return float(np.clip((s[best] + lower) / 2, 1e-6, 1 - 1e-6))


class MultiLabelHead(ClassifierMixin, BaseEstimator):
    """One-vs-rest over a base head, with per-label decision thresholds.

    ``fit`` takes an ``(n, k)`` 0/1 indicator. Each label gets a clone of ``base`` trained on
    "has the label" vs "has not"; ``predict_proba`` gives ``(n, k)`` independent probabilities (rows
    do not sum to 1) and ``predict`` the ``(n, k)`` 0/1 decisions. With ``threshold_strategy="f1"``
    each label's threshold maximises its F1 on out-of-fold probabilities (``cv_folds`` folds);
    ``"fixed"`` uses ``threshold`` for all. A label with no positive row predicts ~0, one that every
    row has predicts ~1.

    Example:
        >>> x = np.eye(4, dtype=np.float32)[[0, 0, 1, 1, 2, 2, 3, 3]] + 0.01
        >>> y = np.array([[1, 0], [1, 0], [1, 1], [1, 1], [0, 1], [0, 1], [0, 0], [0, 0]])
        >>> MultiLabelHead(cv_folds=2).fit(x, y).predict(x).tolist() == y.tolist()
        True
    """

    def __init__(
        self,
        base: LogisticHead | MLPHead | None = None,
        *,
        threshold_strategy: str = "f1",
        threshold: float = 0.5,
        cv_folds: int = 5,
        seed: int = 0,
    ) -> None:
        self.base = base
        self.threshold_strategy = threshold_strategy
        self.threshold = threshold
        self.cv_folds = cv_folds
        self.seed = seed

    def fit(self, embeddings: np.ndarray, labels: np.ndarray) -> MultiLabelHead:
        """Fit on ``(n, d)`` embeddings and an ``(n, k)`` 0/1 indicator; returns self."""
        x = check_embeddings(embeddings)
        y = np.asarray(labels)
        if y.ndim != 2 or y.shape[0] != x.shape[0] or not np.isin(y, (0, 1)).all():
            raise InvalidInput(f"must be an ({x.shape[0]}, k) 0/1 indicator", field="labels")
        if self.threshold_strategy not in ("f1", "fixed"):
            raise InvalidInput("must be 'f1' or 'fixed'", field="threshold_strategy")
        y = y.astype(np.int64)
        base = self.base if self.base is not None else LogisticHead(C=10.0)
        self.estimators_: list[LogisticHead | MLPHead | None] = []
        self.constant_: np.ndarray = np.full(y.shape[1], np.nan)
        self.thresholds_ = np.full(y.shape[1], float(self.threshold))
        rng = np.random.default_rng(self.seed)
        for j in range(y.shape[1]):
            col = y[:, j]
            if col.min() == col.max():
                self.constant_[j] = float(col[0]) if len(col) else 0.0
                self.estimators_.append(None)
                continue
            self.estimators_.append(clone(base).set_params(n_labels=2).fit(x, col))
            if self.threshold_strategy == "f1":
                oof = self._oof_scores(base, x, col, rng)
                self.thresholds_[j] = best_f1_threshold(oof, col, default=self.threshold)
        self.n_features_in_ = x.shape[1]
        self.n_labels_ = y.shape[1]
        return self

    def _oof_scores(
        self, base: LogisticHead | MLPHead, x: np.ndarray, col: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        n_splits = int(max(2, min(self.cv_folds, np.bincount(col, minlength=2).min())))
        folds = np.empty(len(col), dtype=np.int64)
        for value in (0, 1):
            idx = np.flatnonzero(col == value)
            folds[idx[rng.permutation(len(idx))]] = np.arange(len(idx)) % n_splits
        oof = np.zeros(len(col))
        for f in range(n_splits):
            test = folds == f
            head = clone(base).set_params(n_labels=2).fit(x[~test], col[~test])
            oof[test] = head.predict_proba(x[test])[:, 1]
        return oof

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` probability of each label, independently."""
        if not hasattr(self, "estimators_"):
            raise NotFitted("MultiLabelHead must be fitted before it can predict")
        x = check_embeddings(embeddings, dim=self.n_features_in_)
        out = np.empty((x.shape[0], self.n_labels_), dtype=np.float32)
        for j, est in enumerate(self.estimators_):
            out[:, j] = self.constant_[j] if est is None else est.predict_proba(x)[:, 1]
        return out

    def decision_function(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` log-odds of each label."""
        p = np.clip(self.predict_proba(embeddings).astype(np.float64), 1e-7, 1 - 1e-7)
        return np.log(p) - np.log1p(-p)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """``(n, k)`` 0/1 decisions (probability at or above the label's threshold)."""
        return (self.predict_proba(embeddings) >= self.thresholds_).astype(np.int64)
