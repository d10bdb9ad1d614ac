"""Boundary checks shared by the public functions of :mod:`labelloop.learn`."""

from __future__ import annotations

import numpy as np

from labelloop.errors import InvalidInput

__all__ = ["check_embeddings", "check_hard_labels", "check_targets", "normalize_rows"]


def check_embeddings(embeddings: object, *, dim: int | None = None) -> np.ndarray:
    """Return ``embeddings`` as a finite float32 ``(n, d)`` array or raise :class:`InvalidInput`."""
    arr = np.asarray(embeddings)
    if arr.ndim != 2:
        raise InvalidInput(f"must be a 2-D (n, d) array, got shape {arr.shape}", field="embeddings")
    if not np.issubdtype(arr.dtype, np.number):
        raise InvalidInput(f"must be numeric, got dtype {arr.dtype}", field="embeddings")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if dim is not None and arr.shape[1] != dim:
        raise InvalidInput(
            f"have {arr.shape[1]} dimensions but the model was trained on {dim}", field="embeddings"
        )
    if not np.isfinite(arr).all():
        raise InvalidInput("contain NaN or infinite values", field="embeddings")
    return arr


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """L2-normalise rows (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def check_hard_labels(labels: object, n: int, n_labels: int) -> np.ndarray:
    """Return ``labels`` as an int64 ``(n,)`` array of ids in ``[0, n_labels)``."""
    arr = np.asarray(labels)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInput(f"must have shape ({n},), got {arr.shape}", field="labels")
    is_int = np.issubdtype(arr.dtype, np.integer)
    is_whole_float = np.issubdtype(arr.dtype, np.floating) and bool(np.all(arr == np.round(arr)))
    if arr.size and not (is_int or is_whole_float):
        raise InvalidInput("must be integer label ids", field="labels")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_labels):
        raise InvalidInput(
            f"label ids must lie in [0, {n_labels}), got {arr.min()}..{arr.max()}", field="labels"
        )
    return arr


def check_targets(labels: object, n: int, n_labels: int | None) -> tuple[np.ndarray, int]:
    """Turn hard ids ``(n,)`` or soft targets ``(n, k)`` into float32 ``(n, k)`` target rows.

    Returns the targets and ``k``. When ``n_labels`` is ``None`` it is inferred (max id + 1).
    """
    arr = np.asarray(labels)
    if arr.ndim == 2:
        if arr.shape[0] != n:
            raise InvalidInput(f"must have {n} rows, got {arr.shape[0]}", field="labels")
        k = arr.shape[1] if n_labels is None else n_labels
        if arr.shape[1] != k:
            raise InvalidInput(
                f"soft labels must have {k} columns, got {arr.shape[1]}", field="labels"
            )
        targets = np.asarray(arr, dtype=np.float32)
        if not np.isfinite(targets).all() or targets.min(initial=0.0) < 0:
            raise InvalidInput("soft labels must be non-negative and finite", field="labels")
        if n and not np.allclose(targets.sum(axis=1), 1.0, atol=1e-3):
            raise InvalidInput("soft label rows must sum to 1", field="labels")
        return targets, k
    if n == 0:
        raise InvalidInput("at least one label is needed to train", field="labels")
    k = int(np.max(arr)) + 1 if n_labels is None else n_labels
    hard = check_hard_labels(arr, n, k)
    targets = np.zeros((n, k), dtype=np.float32)
    targets[np.arange(n), hard] = 1.0
    return targets, k
