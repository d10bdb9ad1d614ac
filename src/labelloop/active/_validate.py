"""Boundary checks shared by the query strategies (private).

Public functions call these once; the private helpers behind them assume valid input.
"""

from __future__ import annotations

import numpy as np

from labelloop.errors import InvalidInput, PoolExhausted

__all__ = [
    "check_embeddings",
    "check_n",
    "check_pred_probs",
    "resolve_candidates",
]

_PROB_TOL = 1e-3


def check_pred_probs(pred_probs: object, *, multi_label: bool = False) -> np.ndarray:
    """Return ``pred_probs`` as a 2-D float array or raise :class:`InvalidInput`.

    Single-label rows must sum to 1 (within 1e-3); multi-label entries are independent
    probabilities in [0, 1].
    """
    arr = np.asarray(pred_probs)
    if arr.ndim != 2:
        raise InvalidInput(
            f"pred_probs must be a 2-D array (n, k), got shape {arr.shape}", field="pred_probs"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            raise InvalidInput(
                f"pred_probs must be numeric, got dtype {arr.dtype}", field="pred_probs"
            )
        arr = arr.astype(np.float64)
    n, k = arr.shape
    if k < (1 if multi_label else 2):
        raise InvalidInput(
            f"pred_probs needs at least {1 if multi_label else 2} columns, got {k}",
            field="pred_probs",
        )
    if n == 0:
        return arr
    lo, hi = float(arr.min()), float(arr.max())
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < -_PROB_TOL or hi > 1 + _PROB_TOL:
        raise InvalidInput("pred_probs must be finite probabilities in [0, 1]", field="pred_probs")
    if not multi_label:
        sums = arr.sum(axis=1, dtype=np.float64)
        if np.abs(sums - 1.0).max() > _PROB_TOL * max(1, k / 10):
            raise InvalidInput(
                "each row of pred_probs must sum to 1 (use a multi-label strategy for "
                "independent per-label probabilities)",
                field="pred_probs",
            )
    return arr


def check_embeddings(embeddings: object) -> np.ndarray:
    """Return ``embeddings`` as a 2-D float array (n, d) or raise :class:`InvalidInput`."""
    arr = np.asarray(embeddings)
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise InvalidInput(
            f"embeddings must be a 2-D array (n, d) with d >= 1, got shape {arr.shape}",
            field="embeddings",
        )
    if not np.issubdtype(arr.dtype, np.floating):
        if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            raise InvalidInput(
                f"embeddings must be numeric, got dtype {arr.dtype}", field="embeddings"
            )
        arr = arr.astype(np.float32)
    return arr


def check_n(n: object) -> int:
    """Return ``n`` as a positive ``int`` or raise :class:`InvalidInput`."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or int(n) < 1:
        raise InvalidInput(f"n must be a positive integer, got {n!r}", field="n")
    return int(n)


def resolve_candidates(candidates: object, n_items: int) -> np.ndarray:
    """Turn a boolean mask (n_items,) or an index array into sorted unique ``int64`` indices.

    Raises:
        InvalidInput: wrong mask length, indices out of range or repeated.
        PoolExhausted: no candidate at all.
    """
    idx: np.ndarray
    if candidates is None:
        idx = np.arange(n_items, dtype=np.int64)
    else:
        arr = np.asarray(candidates)
        if arr.ndim != 1:
            raise InvalidInput(
                f"candidates must be a 1-D mask or index array, got shape {arr.shape}",
                field="candidates",
            )
        if arr.dtype == np.bool_:
            if arr.shape[0] != n_items:
                raise InvalidInput(
                    f"candidates mask has length {arr.shape[0]} but there are {n_items} items",
                    field="candidates",
                )
            idx = np.flatnonzero(arr).astype(np.int64, copy=False)
        else:
            if arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise InvalidInput(
                    f"candidates must be a bool mask or integer indices, got dtype {arr.dtype}",
                    field="candidates",
                )
            idx = arr.astype(np.int64, copy=False)
            if idx.size:
                if idx.min() < 0 or idx.max() >= n_items:
                    raise InvalidInput(
                        f"candidate indices must lie in [0, {n_items})", field="candidates"
                    )
                mask = np.zeros(n_items, dtype=bool)
                mask[idx] = True
                unique = np.flatnonzero(mask)
                if unique.size != idx.size:
                    raise InvalidInput("candidate indices repeat", field="candidates")
                idx = unique.astype(np.int64, copy=False)
    if idx.size == 0:
        raise PoolExhausted("no candidate items are left to choose from")
    return idx
