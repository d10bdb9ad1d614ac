"""Multinomial logistic regression as pure functions (full-batch L-BFGS, analytic gradient).

The loss follows scikit-learn's convention so ``C`` means the same thing there and here::

    f(W, b) = mean_i CE(softmax(x_i W + b), y_i) + ||W||^2 / (2 C n)

``y_i`` may be a soft target (a probability row), which is what embedding mixup produces.
"""

from __future__ import annotations

import os

import numpy as np
from scipy.optimize import minimize
from threadpoolctl import threadpool_limits

__all__ = ["fit_softmax", "log_softmax", "softmax"]

_SINGLE_THREAD_BELOW = 50_000_000  # n * d * k under which BLAS runs on one thread


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits (stable for very negative entries)."""
    z = logits - logits.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax of ``(n, k)`` logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def fit_softmax(
    x: np.ndarray,
    targets: np.ndarray,
    *,
    C: float,
    max_iter: int,
    tol: float,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Fit softmax regression weights.

    Args:
        x: ``(n, d)`` float32 inputs.
        targets: ``(n, m)`` float32 target distributions (one-hot or soft), rows summing to 1.
        C: inverse L2 strength (larger = weaker regularisation); the intercept is not penalised.
        max_iter: L-BFGS iteration cap.
        tol: stop when the largest gradient entry is below this.
        init: optional ``(W (d, m), b (m,))`` to warm-start from.

    Returns:
        ``(W (d, m) float32, b (m,) float32, iterations)``.
    """
    n, d = x.shape
    m = targets.shape[1]
    # Centering leaves the optimum unchanged (the intercept absorbs the mean) but conditions the
    # problem better: sentence embeddings share a large common direction.
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    x = np.ascontiguousarray(x - mean, dtype=np.float32)
    targets = np.ascontiguousarray(targets, dtype=np.float32)
    reg = 1.0 / (C * n)
    # Multi-threaded BLAS loses on small problems (and badly on a busy machine): the L-BFGS
    # bookkeeping (vectors of d * m) and small matmuls then spend their time synchronising
    # threads. Only the large matmuls of the loss run on every core.
    threads = 1 if n * d * m < _SINGLE_THREAD_BELOW else (os.cpu_count() or 1)

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        with threadpool_limits(limits=threads, user_api="blas"):
            return _loss_grad(theta)

    def _loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * m].reshape(d, m).astype(np.float32)
        b = theta[d * m :].astype(np.float32)
        logits = x @ w
        logits += b
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        norm = exp.sum(axis=1, keepdims=True)
        # cross-entropy with soft targets: -sum_j y_j (z_j - log sum exp z)
        loss = float(np.log(norm).sum() - (targets * logits).sum()) / n
        loss += 0.5 * reg * float((w.astype(np.float64) ** 2).sum())
        residual = exp / norm
        residual -= targets
        grad_w = (x.T @ residual) / n + reg * w
        grad_b = residual.sum(axis=0) / n
        return loss, np.concatenate([grad_w.ravel(), grad_b]).astype(np.float64)

    if init is None:
        theta0 = np.zeros(d * m + m)
        # start the intercepts at the log class priors: fewer iterations than zeros
        prior = targets.mean(axis=0).astype(np.float64)
        theta0[d * m :] = np.log(np.clip(prior, 1e-6, None))
    else:
        b_centered = init[1] + mean @ init[0]
        theta0 = np.concatenate([init[0].ravel(), b_centered]).astype(np.float64)
    with threadpool_limits(limits=1, user_api="blas"):
        result = minimize(
            loss_grad,
            theta0,
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": tol, "maxcor": 20},
        )
    theta = result.x
    w = theta[: d * m].reshape(d, m).astype(np.float32)
    b = (theta[d * m :] - mean.astype(np.float64) @ theta[: d * m].reshape(d, m)).astype(np.float32)
    return w, b, int(result.nit)
