"""Factories for learn tests: small synthetic embeddings whose classes a head can learn."""

from __future__ import annotations

import numpy as np


def blobs(
    n_per_class: int = 20,
    n_classes: int = 3,
    *,
    dim: int = 16,
    separation: float = 3.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(embeddings (n, dim) float32, labels (n,))``: Gaussian clusters around random centres."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * separation / np.sqrt(dim)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[labels] + rng.normal(size=(len(labels), dim)) / np.sqrt(dim)
    order = rng.permutation(len(labels))
    return x[order].astype(np.float32), labels[order]


def overconfident_logits(
    n: int = 3000, k: int = 4, *, true_temperature: float = 3.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Logits whose labels are drawn from ``softmax(logits / true_temperature)``: over-confident
    as given, calibrated once divided by ``true_temperature``."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, k)) * 4.0
    z = logits / true_temperature
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)
    return logits, labels
