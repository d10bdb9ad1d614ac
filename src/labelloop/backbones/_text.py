"""Helpers shared by the text encoders: input checks, length-sorted batching, runtime setup."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.errors import InvalidInput

__all__ = [
    "char_lengths",
    "check_texts",
    "configure_runtime",
    "encode_by_length",
    "l2_normalize",
]

_runtime_lock = threading.Lock()
_runtime_done = False


def configure_runtime() -> None:
    """Prepare the process for loading a model: offline hub, a sane torch thread count.

    Runs once per process. ``HF_HUB_OFFLINE`` is only set if the user has not chosen; torch's
    intra-op threads are capped at the CPUs this process may use (containers often report the host's
    cores) or at ``LABELLOOP_TORCH_THREADS`` when set.
    """
    global _runtime_done
    with _runtime_lock:
        if _runtime_done:
            return
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        try:
            import torch
        except ImportError:
            _runtime_done = True
            return
        wanted = os.environ.get("LABELLOOP_TORCH_THREADS")
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        threads = int(wanted) if wanted else min(torch.get_num_threads(), available or 1 << 16)
        if threads >= 1 and threads != torch.get_num_threads():
            torch.set_num_threads(threads)
        _runtime_done = True


def check_texts(inputs: Sequence[Any], *, batch_size: int) -> list[str]:
    """Validate text inputs once at the boundary; return them as a list."""
    if isinstance(inputs, str):
        raise InvalidInput("inputs must be a sequence of texts, not a single string")
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be >= 1, got {batch_size}")
    texts = list(inputs)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidInput(f"input {i} is {type(text).__name__}, expected str")
    return texts


def l2_normalize(embeddings: np.ndarray) -> np.ndarray:
    """Scale rows of ``embeddings`` ``(n, d)`` to unit length, in place; zero rows stay zero."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    np.maximum(norms, 1e-12, out=norms)
    embeddings /= norms
    return embeddings


def encode_by_length(
    lengths: np.ndarray,
    embed_rows: Callable[[np.ndarray], np.ndarray],
    *,
    dim: int,
    batch_size: int,
    progress: ProgressCallback | None,
) -> np.ndarray:
    """Embed n inputs in batches of similar length, then restore the input order.

    Sorting by length (longest first, so a too-large batch fails early) keeps padding small, which
    is most of the cost of a transformer on short, uneven texts.

    Args:
        lengths: ``(n,)`` sort keys, e.g. token or character counts.
        embed_rows: Maps an index array of m inputs to their ``(m, dim)`` embeddings (any float
            dtype, any norm).
        dim: Embedding width.
        batch_size: Inputs per call of ``embed_rows``.
        progress: Called with the size of each batch after it is embedded.

    Returns:
        ``(n, dim)`` float32, C-contiguous, rows L2-normalised, in input order.
    """
    n = len(lengths)
    out = np.empty((n, dim), dtype=np.float32)
    if n == 0:
        return out
    order = np.argsort(-np.asarray(lengths), kind="stable")
    for start in range(0, n, batch_size):
        idx = order[start : start + batch_size]
        out[idx] = embed_rows(idx)
        if progress is not None:
            progress(len(idx))
    return l2_normalize(out)


def char_lengths(texts: list[str]) -> np.ndarray:
    """``(n,)`` character counts of ``texts``."""
    return np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
