"""Uncertainty scores: one informativeness number per item, higher means ask a human first.

Every score lies in [0, 1]: 0 for a one-hot (certain) prediction, 1 for the most uncertain one
(the uniform distribution, or for :func:`margin` any exact tie between the two top classes).
All functions are vectorised, O(n * k) in time and allocate O(n * k) at most once.

Example:
    >>> import numpy as np
    >>> p = np.array([[0.5, 0.5], [0.9, 0.1], [1.0, 0.0]])
    >>> margin(p).round(2).tolist()
    [1.0, 0.2, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labelloop.active._validate import check_pred_probs
from labelloop.errors import InvalidInput

__all__ = [
    "entropy",
    "least_confidence",
    "margin",
    "multilabel_entropy",
    "multilabel_uncertainty",
    "top_candidates",
    "top_n",
]

_CHUNK = 65_536


def least_confidence(pred_probs: np.ndarray) -> np.ndarray:
    """Normalised least confidence, ``(1 - max_j p_j) * k / (k - 1)``.

    Args:
        pred_probs: (n, k) class probabilities, rows summing to 1, k >= 2.

    Returns:
        (n,) float64 scores in [0, 1].
    """
    return _least_confidence(check_pred_probs(pred_probs))


def margin(pred_probs: np.ndarray) -> np.ndarray:
    """Margin ("breaking ties") score, ``1 - (p_top1 - p_top2)``.

    The best single-model uncertainty strategy in the comparison of Schroeder et al. (2022).

    Args:
        pred_probs: (n, k) class probabilities, rows summing to 1, k >= 2.

    Returns:
        (n,) float64 scores in [0, 1]; 1 when the two most likely classes tie.
    """
    return _margin(check_pred_probs(pred_probs))


def entropy(pred_probs: np.ndarray) -> np.ndarray:
    """Normalised Shannon entropy, ``-sum_j p_j log p_j / log k``.

    Args:
        pred_probs: (n, k) class probabilities, rows summing to 1, k >= 2.

    Returns:
        (n,) float64 scores in [0, 1]; 1 at the uniform distribution.
    """
    return _entropy(check_pred_probs(pred_probs))


def multilabel_entropy(pred_probs: np.ndarray) -> np.ndarray:
    """Mean binary entropy over labels, in bits, for independent per-label probabilities.

    Args:
        pred_probs: (n, k) independent probabilities that each of k labels applies.

    Returns:
        (n,) float64 scores in [0, 1]; 1 when every label has probability 0.5.
    """
    return _multilabel_entropy(check_pred_probs(pred_probs, multi_label=True))


def multilabel_uncertainty(pred_probs: np.ndarray, *, threshold: float = 0.5) -> np.ndarray:
    """Closeness of the most borderline label to the decision threshold.

    ``1 - min_j |p_j - threshold| / max(threshold, 1 - threshold)``: an item is as informative as
    its least certain label decision.

    Args:
        pred_probs: (n, k) independent probabilities that each of k labels applies.
        threshold: the decision threshold in (0, 1) a label is predicted at.

    Returns:
        (n,) float64 scores in [0, 1]; 1 when some label sits exactly on the threshold.
    """
    if not 0.0 < float(threshold) < 1.0:
        raise InvalidInput(f"threshold must lie in (0, 1), got {threshold}", field="threshold")
    return _multilabel_uncertainty(check_pred_probs(pred_probs, multi_label=True), threshold)


# Unchecked kernels: callers validated ``p`` already. Each works in row chunks so temporaries
# stay small on (1_000_000, 77) inputs, and in the input's float precision.


def _least_confidence(p: np.ndarray) -> np.ndarray:
    k = p.shape[1]
    top = p.max(axis=1).astype(np.float64)
    return np.clip((1.0 - top) * (k / (k - 1)), 0.0, 1.0)


def _margin(p: np.ndarray) -> np.ndarray:
    n, k = p.shape
    out = np.empty(n, dtype=np.float64)
    rows = np.arange(min(n, _CHUNK))
    for start in range(0, n, _CHUNK):
        block = p[start : start + _CHUNK]
        if k == 2:
            gap = np.abs(block[:, 0] - block[:, 1])
        else:
            # max, blank it out, max again: cheaper than np.partition for k ~ 100.
            top_idx = block.argmax(axis=1)
            r = rows[: block.shape[0]]
            top = block[r, top_idx]
            rest = block.copy()
            rest[r, top_idx] = -np.inf
            gap = top - rest.max(axis=1)
        out[start : start + _CHUNK] = 1.0 - gap
    return np.clip(out, 0.0, 1.0)


def _plogp_sum(block: np.ndarray, base_log: np.ndarray) -> np.ndarray:
    """Row sums of ``x log x`` with ``0 log 0 = 0`` (``base_log`` is scratch space)."""
    base_log.fill(0)
    np.log(block, out=base_log, where=block > 0)
    base_log *= block
    return base_log.sum(axis=1, dtype=np.float64)


def _entropy(p: np.ndarray) -> np.ndarray:
    n, k = p.shape
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        block = np.clip(p[start : start + _CHUNK], 0.0, 1.0)
        out[start : start + _CHUNK] = -_plogp_sum(block, np.empty_like(block))
    return np.clip(out / np.log(k), 0.0, 1.0)


def _multilabel_entropy(p: np.ndarray) -> np.ndarray:
    n, k = p.shape
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        b = np.clip(p[start : start + _CHUNK], 0.0, 1.0)
        scratch = np.empty_like(b)
        h = _plogp_sum(b, scratch) + _plogp_sum(1.0 - b, scratch)
        out[start : start + _CHUNK] = -h / (k * np.log(2.0))
    return np.clip(out, 0.0, 1.0)


def _multilabel_uncertainty(p: np.ndarray, threshold: float) -> np.ndarray:
    scale = max(threshold, 1.0 - threshold)
    n = p.shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, _CHUNK):
        dist = np.abs(p[start : start + _CHUNK] - threshold).min(axis=1)
        out[start : start + _CHUNK] = 1.0 - dist / scale
    return np.clip(out, 0.0, 1.0)


def top_n(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the ``n`` highest scores, best first, ties broken by lower position.

    Uses ``np.argpartition`` (O(len(scores))) and sorts only the selected ``n``.

    Args:
        scores: (m,) scores.
        n: how many to return; all ``m`` when ``n >= m``.

    Returns:
        (min(n, m),) int64 positions into ``scores``.
    """
    m = scores.shape[0]
    chosen = np.arange(m) if n >= m else np.argpartition(-scores, n - 1)[:n]
    order = np.lexsort((chosen, -scores[chosen]))
    return chosen[order].astype(np.int64, copy=False)


def top_candidates(
    kernel: Callable[[np.ndarray], np.ndarray], p: np.ndarray, candidates: np.ndarray, n: int
) -> np.ndarray:
    """Item indices of the ``n`` candidates with the highest ``kernel`` score, best first.

    Scores the whole array and masks non-candidates when most rows are candidates (no copy of
    ``p``), otherwise scores only the gathered candidate rows.

    Args:
        kernel: unchecked score function of validated (m, k) ``pred_probs``.
        p: (n_items, k) validated ``pred_probs``.
        candidates: sorted unique int64 item indices.
        n: how many to return.
    """
    if candidates.size * 2 > p.shape[0]:
        scores = kernel(p)
        if candidates.size < p.shape[0]:
            masked = np.full(p.shape[0], -np.inf)
            masked[candidates] = scores[candidates]
            scores = masked
        return top_n(scores, min(n, candidates.size))
    return candidates[top_n(kernel(p[candidates]), n)]
