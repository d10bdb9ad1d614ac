"""A deterministic, model-free encoder for tests: hashed words and character 3-grams."""

from __future__ import annotations

import re
import threading
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.backbones._text import l2_normalize
from labelloop.errors import InvalidInput
from labelloop.schema import Modality

__all__ = ["FakeEncoder"]

_WORD = re.compile(r"\w+")
_WORD_WEIGHT = 1.0
_GRAM_WEIGHT = 0.5
# Every input gets this feature too, so the empty text still has a unit-norm embedding.
_BIAS_FEATURE = "\x00bias"
_BIAS_WEIGHT = 0.3


class FakeEncoder:
    """Hashing encoder: texts that share words or word pieces get similar embeddings.

    Each input is lower-cased and split into word unigrams (weight 1) and character 3-grams of
    each space-padded word (weight 0.5); every feature is hashed (CRC32, stable across processes
    and platforms) to one of ``dim`` signed buckets, and the vector is L2-normalised. It loads no
    model, so it is what the project's tests use in place of a real backbone.

    Non-text modalities hash ``str(input)`` (e.g. a file path), which is enough for tests of code
    that only moves embeddings around.

    Attributes:
        n_encoded: How many inputs this instance has encoded so far (lets tests check that a cache
            really avoided work).

    Example:
        >>> enc = FakeEncoder()
        >>> e = enc.encode(["football match tonight", "the football match", "interest rates rise"])
        >>> bool(e[0] @ e[1] > e[0] @ e[2])
        True
    """

    def __init__(
        self, *, dim: int = 64, name: str = "fake", modality: Modality = Modality.TEXT
    ) -> None:
        if dim < 2:
            raise InvalidInput(f"dim must be >= 2, got {dim}")
        self.name = name
        self.modality = modality
        self.dim = dim
        self.n_encoded = 0
        self._count_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"FakeEncoder(dim={self.dim}, name={self.name!r})"

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed ``inputs``; returns ``(len(inputs), dim)`` float32, rows L2-normalised."""
        if isinstance(inputs, str):
            raise InvalidInput("inputs must be a sequence of texts, not a single string")
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be >= 1, got {batch_size}")
        items = list(inputs)
        if self.modality == Modality.TEXT:
            for i, text in enumerate(items):
                if not isinstance(text, str):
                    raise InvalidInput(f"input {i} is {type(text).__name__}, expected str")
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            for offset, item in enumerate(batch):
                self._embed_one(str(item), out[start + offset])
            if progress is not None:
                progress(len(batch))
        with self._count_lock:
            self.n_encoded += len(items)
        return l2_normalize(out)

    def _embed_one(self, text: str, row: np.ndarray) -> None:
        self._add(_BIAS_FEATURE, _BIAS_WEIGHT, row)
        for word in _WORD.findall(text.lower()):
            self._add("w:" + word, _WORD_WEIGHT, row)
            padded = f" {word} "
            for i in range(len(padded) - 2):
                self._add("c:" + padded[i : i + 3], _GRAM_WEIGHT, row)

    def _add(self, feature: str, weight: float, row: np.ndarray) -> None:
        h = zlib.crc32(feature.encode("utf-8"))
        sign = 1.0 if (h // self.dim) % 2 == 0 else -1.0
        row[h % self.dim] += sign * weight
