"""Heads on frozen embeddings: scikit-learn estimators over ``(n, d)`` embeddings and ``k`` labels.

Every head knows ``n_labels`` (the schema's ``k``), so a class that has no label yet still has a
column: it gets a logit of :data:`UNSEEN_LOGIT` and a probability of (numerically) zero. ``labels``
given to ``fit`` are label ids ``(n,)`` or soft targets ``(n, k)`` (rows summing to 1, as produced
by
:func:`labelloop.learn.mixup`).
"""

from __future__ import annotations

import abc
import math
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from labelloop.errors import InvalidInput, NotFitted
from labelloop.learn._softmax import fit_softmax, softmax
from labelloop.learn._validation import check_embeddings, check_targets, normalize_rows

__all__ = ["UNSEEN_LOGIT", "LogisticHead", "MLPHead"]

UNSEEN_LOGIT = -1e4
"""Logit of a class without training labels: probability ``exp(-1e4)``, i.e. zero."""


class _Head(ClassifierMixin, BaseEstimator, abc.ABC):
    """Shared prediction side: logits -> probabilities -> label ids."""

    n_labels: int | None
    normalize: bool
    n_features_in_: int
    classes_: np.ndarray
    seen_: np.ndarray

    def decision_function(self, embeddings: np.ndarray) -> np.ndarray:
        """Logits ``(n, k)`` (unnormalised log-probabilities) for ``(n, d)`` embeddings."""
        self._check_fitted()
        x = check_embeddings(embeddings, dim=self.n_features_in_)
        if self.normalize:
            x = normalize_rows(x)
        logits = self._logits(x)
        logits[:, ~self.seen_] = UNSEEN_LOGIT
        return logits

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, k)``, rows summing to 1."""
        return softmax(self.decision_function(embeddings))

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """Most probable label id per row, ``(n,)`` int64."""
        return np.argmax(self.decision_function(embeddings), axis=1).astype(np.int64)

    def _check_fitted(self) -> None:
        if not hasattr(self, "seen_"):
            raise NotFitted(f"{type(self).__name__} must be fitted before it can predict")

    @abc.abstractmethod
    def _logits(self, x: np.ndarray) -> np.ndarray:
        """Raw class scores ``(n, k)`` of a fitted head."""

    def _prepare(self, embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = check_embeddings(embeddings)
        targets, k = check_targets(labels, x.shape[0], self.n_labels)
        if x.shape[0] == 0:
            raise InvalidInput("at least one label is needed to train", field="labels")
        if k < 1:
            raise InvalidInput("n_labels must be at least 1", field="n_labels")
        if self.normalize:
            x = normalize_rows(x)
        self.n_features_in_ = x.shape[1]
        self.classes_ = np.arange(k)
        self.seen_ = targets.sum(axis=0) > 0
        return x, targets


class LogisticHead(_Head):
    """Multinomial logistic regression on L2-normalised embeddings.

    Solved by full-batch L-BFGS on the softmax loss with an analytic gradient (float32 matmuls),
    optionally warm-started from a previous fit (``fit(..., init=previous_head)``): the classes both
    fits know keep their weights, so a retrain after a few new labels needs only a few iterations.

    Args:
        n_labels: ``k``, the number of labels in the schema (``None``: max label id + 1).
        C: inverse L2 strength, scikit-learn's convention.
        max_iter: L-BFGS iteration cap.
        tol: stop when the largest gradient entry falls below this.
        normalize: L2-normalise embeddings first.

    Example:
        >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
        >>> head = LogisticHead(n_labels=3, C=10.0).fit(x, np.array([0, 0, 1, 1]))
        >>> head.predict(x).tolist(), bool(head.predict_proba(x)[:, 2].max() < 1e-6)
        ([0, 0, 1, 1], True)
    """

    coef_: np.ndarray
    intercept_: np.ndarray
    n_iter_: int

    def __init__(
        self,
        n_labels: int | None = None,
        *,
        C: float = 10.0,
        max_iter: int = 300,
        tol: float = 1e-4,
        normalize: bool = True,
    ) -> None:
        self.n_labels = n_labels
        self.C = C
        self.max_iter = max_iter
        self.tol = tol
        self.normalize = normalize

    def fit(
        self, embeddings: np.ndarray, labels: np.ndarray, *, init: LogisticHead | None = None
    ) -> LogisticHead:
        """Fit on embeddings ``(n, d)`` and ids ``(n,)`` or soft targets ``(n, k)``."""
        x, targets = self._prepare(embeddings, labels)
        k, d = len(self.classes_), x.shape[1]
        seen = np.flatnonzero(self.seen_)
        start = None
        if init is not None and hasattr(init, "coef_") and init.coef_.shape[0] == d:
            # map classes by id: a class the previous head knew keeps its weights
            w0 = np.zeros((d, len(seen)), dtype=np.float32)
            b0 = np.log(np.clip(targets[:, seen].mean(axis=0), 1e-6, None)).astype(np.float32)
            for col, cls in enumerate(seen):
                if cls < len(init.seen_) and init.seen_[cls]:
                    w0[:, col] = init.coef_[:, cls]
                    b0[col] = init.intercept_[cls]
            start = (w0, b0)
        if len(seen) == 1:
            w, b, n_iter = np.zeros((d, 1), np.float32), np.zeros(1, np.float32), 0
        else:
            w, b, n_iter = fit_softmax(
                x, targets[:, seen], C=self.C, max_iter=self.max_iter, tol=self.tol, init=start
            )
        self.coef_ = np.zeros((d, k), dtype=np.float32)
        self.intercept_ = np.full(k, UNSEEN_LOGIT, dtype=np.float32)
        self.coef_[:, seen] = w
        self.intercept_[seen] = b
        self.n_iter_ = n_iter
        return self

    def _logits(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = x @ self.coef_
        out += self.intercept_
        return out


class MLPHead(_Head):
    """A one-hidden-layer perceptron (torch, AdamW, dropout) on L2-normalised embeddings.

    Args:
        n_labels: ``k`` (``None``: max label id + 1).
        hidden: hidden units.
        n_steps: optimiser steps (mini-batches); epochs follow from ``n_steps`` and ``batch_size``.
        batch_size: mini-batch size.
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        dropout: dropout on the hidden layer.
        seed: seeds initialisation and batch order; the same seed gives the same head.
        normalize: L2-normalise embeddings first.

    Example:
        >>> x = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]], dtype=np.float32)
        >>> MLPHead(n_labels=2, n_steps=200).fit(x, np.array([0, 0, 1, 1])).predict(x).tolist()
        [0, 0, 1, 1]
    """

    def __init__(
        self,
        n_labels: int | None = None,
        *,
        hidden: int = 256,
        n_steps: int = 400,
        batch_size: int = 64,
        learning_rate: float = 3e-3,
        weight_decay: float = 1e-2,
        dropout: float = 0.2,
        seed: int = 0,
        normalize: bool = True,
    ) -> None:
        self.n_labels = n_labels
        self.hidden = hidden
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.seed = seed
        self.normalize = normalize

    def fit(self, embeddings: np.ndarray, labels: np.ndarray, **_: Any) -> MLPHead:
        """Fit on embeddings ``(n, d)`` and ids ``(n,)`` or soft targets ``(n, k)``."""
        import torch

        x, targets = self._prepare(embeddings, labels)
        seen = np.flatnonzero(self.seen_)
        # mini-batches of 64 x 384 are too small to share between threads; extra threads only
        # spin (and crawl on a busy machine). Process-wide setting, restored afterwards.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self._train(torch, x, targets[:, seen], len(seen))
        finally:
            torch.set_num_threads(threads)
        return self

    def _train(self, torch: Any, x: np.ndarray, targets: np.ndarray, n_out: int) -> None:
        n, d = x.shape
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.seed)
            first = torch.nn.Linear(d, self.hidden)
            last = torch.nn.Linear(self.hidden, n_out)
            net = torch.nn.Sequential(first, torch.nn.GELU(), torch.nn.Dropout(self.dropout), last)
            opt = torch.optim.AdamW(
                net.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
            )
            xt = torch.from_numpy(x)
            yt = torch.from_numpy(np.ascontiguousarray(targets))
            batch = min(self.batch_size, n)
            epochs = max(1, math.ceil(self.n_steps * batch / n))
            gen = torch.Generator().manual_seed(self.seed)
            net.train()
            for _epoch in range(epochs):
                order = torch.randperm(n, generator=gen)
                for start in range(0, n, batch):
                    idx = order[start : start + batch]
                    logp = torch.log_softmax(net(xt[idx]), dim=1)
                    loss = -(yt[idx] * logp).sum(dim=1).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
        net.eval()
        self.layers_ = [
            (p.detach().numpy().T.copy(), b.detach().numpy().copy())
            for p, b in ((first.weight, first.bias), (last.weight, last.bias))
        ]

    def _logits(self, x: np.ndarray) -> np.ndarray:
        (w1, b1), (w2, b2) = self.layers_
        h = x @ w1 + b1
        h = 0.5 * h * (1.0 + _erf(h / math.sqrt(2.0)))  # exact GELU, as torch's default
        k = len(self.classes_)
        out = np.full((x.shape[0], k), UNSEEN_LOGIT, dtype=np.float32)
        out[:, self.seen_] = h @ w2 + b2
        return out


def _erf(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return np.asarray(erf(x), dtype=np.float32)
