"""Factories for active-learning tests: small random pools built per test."""

from __future__ import annotations

import numpy as np


def make_pred_probs(n: int, k: int, *, seed: int = 0) -> np.ndarray:
    """(n, k) softmax probabilities with distinct rows."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((n, k)) * 2.0
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def make_embeddings(n: int, d: int = 8, *, seed: int = 0, n_clusters: int = 4) -> np.ndarray:
    """(n, d) float32 points around ``n_clusters`` well separated centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_clusters, d)) * 10
    labels = np.arange(n) % n_clusters
    return (centres[labels] + rng.standard_normal((n, d))).astype(np.float32)


def make_pool(n: int = 60, k: int = 3, *, seed: int = 0, multi_label: bool = False) -> dict:
    """Inputs for any strategy: pred_probs, embeddings and a candidate mask (2/3 unlabelled)."""
    rng = np.random.default_rng(seed)
    probs = rng.random((n, k)) if multi_label else make_pred_probs(n, k, seed=seed)
    candidates = np.ones(n, dtype=bool)
    candidates[rng.choice(n, n // 3, replace=False)] = False
    return {
        "pred_probs": probs,
        "embeddings": make_embeddings(n, seed=seed),
        "candidates": candidates,
    }
