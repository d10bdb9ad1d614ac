"""Factories for the backbone tests: texts, hashes and encoders that count or fail."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.backbones import FakeEncoder
from labelloop.backbones._base import ProgressCallback


def make_texts(n: int, *, seed: int = 0) -> list[str]:
    """n distinct texts of very different lengths (so length sorting really reorders them)."""
    rng = np.random.default_rng(seed)
    words = ["card", "refund", "match", "goal", "market", "stocks", "rain", "storm", "phone", "app"]
    texts = []
    for i in range(n):
        k = int(rng.integers(1, 30))
        texts.append(f"item {i} " + " ".join(rng.choice(words, size=k)))
    return texts


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def make_hashes(texts: Sequence[str]) -> list[str]:
    return [content_hash(t) for t in texts]


class CountingEncoder:
    """Wraps a FakeEncoder; records each batch it is asked to encode; can fail on call k."""

    def __init__(self, *, name: str = "fake", dim: int = 16, fail_on_call: int | None = None):
        self._inner = FakeEncoder(dim=dim, name=name)
        self.name = name
        self.modality = self._inner.modality
        self.dim = dim
        self.calls: list[list[Any]] = []
        self.fail_on_call = fail_on_call

    @property
    def n_encoded(self) -> int:
        return sum(len(c) for c in self.calls)

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        if self.fail_on_call is not None and len(self.calls) + 1 == self.fail_on_call:
            raise KeyboardInterrupt("simulated kill")
        self.calls.append(list(inputs))
        return self._inner.encode(inputs, batch_size=batch_size, progress=progress)
