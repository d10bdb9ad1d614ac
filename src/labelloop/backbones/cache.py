"""Embedding cache: each item is embedded once per backbone, keyed by its content hash.

Layout and crash safety are described in :mod:`labelloop.backbones._chunks`: one folder per
backbone name, ``.npy`` chunk files read as memmaps, each chunk committed atomically.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.backbones._base import Encoder, ProgressCallback
from labelloop.backbones._chunks import (
    MAX_KEY_BYTES,
    ChunkIndex,
    backbone_lock,
    chunk_signature,
    load_index,
    remove_chunk,
    write_chunk,
)
from labelloop.errors import Conflict, InvalidInput

__all__ = ["EmbeddingCache"]

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$")
_MERGE_ABOVE_CHUNKS = 64
_MERGE_TARGET_ROWS = 65_536


class EmbeddingCache:
    """Embeddings stored on disk by (backbone name, content hash), computed only when missing.

    Args:
        directory: Root folder (e.g. ``<workspace>/artifacts/embeddings``); one sub-folder per
            backbone name is created inside on first write.
        commit_rows: New rows per committed chunk. A process killed while embedding loses at most
            the chunk in flight; the next call resumes from what was committed.

    Two processes may fill the same cache at once: writes take an exclusive file lock, reads a
    shared one, and a row both computed is stored twice at worst, never corrupted.

    Example:
        >>> from labelloop.backbones import EmbeddingCache, FakeEncoder
        >>> cache = EmbeddingCache(tmp_path)  # doctest: +SKIP
        >>> emb = cache.embed(FakeEncoder(), ["a cat", "a dog"], ["h1", "h2"])  # doctest: +SKIP
        >>> emb.shape, cache.count("fake")  # doctest: +SKIP
        ((2, 64), 2)
    """

    def __init__(self, directory: str | Path, *, commit_rows: int = 2048) -> None:
        if commit_rows < 1:
            raise InvalidInput(f"commit_rows must be >= 1, got {commit_rows}")
        self.directory = Path(directory)
        self.commit_rows = commit_rows
        self._indexes: dict[Path, ChunkIndex] = {}
        self._index_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EmbeddingCache({str(self.directory)!r})"

    def embed(
        self,
        encoder: Encoder,
        inputs: Sequence[Any],
        hashes: Sequence[str],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embeddings of ``inputs`` ``(n, encoder.dim)`` float32, in input order.

        Only hashes not yet cached for ``encoder.name`` are computed, each once even when it
        appears several times in ``hashes``; new rows are committed every ``commit_rows``.

        Args:
            encoder: The backbone; its ``name`` selects the cache folder.
            inputs: The n items (texts, or file paths for image/audio backbones).
            hashes: The n content hashes of ``inputs`` (equal hash means equal content).
            batch_size: Passed to ``encoder.encode``.
            progress: Called with increments summing to n: first the rows served from the cache
                (and duplicates), then each batch as it is encoded.

        Raises:
            InvalidInput: Lengths differ, a hash is empty or not a string, or the name is unsafe.
            Conflict: The cache holds rows of another width under this backbone name.
        """
        n = len(inputs)
        keys = _to_keys(hashes, n)
        folder = self._folder(encoder.name)
        result = np.empty((n, encoder.dim), dtype=np.float32)
        if n == 0:
            return result
        with backbone_lock(folder, exclusive=False):
            index = self._index(folder)
            if index.dim is not None and index.dim != encoder.dim:
                raise Conflict(
                    f"embedding cache {folder} holds {index.dim}-d rows but backbone "
                    f"{encoder.name!r} makes {encoder.dim}-d ones; clear it or rename the backbone"
                )
            found, chunk, row = index.find(keys)
            hit = np.flatnonzero(found)
            index.gather(chunk[hit], row[hit], result, hit)
        missing = np.flatnonzero(~found)
        if len(missing) == 0:
            if progress is not None:
                progress(n)
            return result
        new_keys, first, inverse = np.unique(keys[missing], return_index=True, return_inverse=True)
        if progress is not None and n > len(new_keys):
            progress(n - len(new_keys))
        new = np.empty((len(new_keys), encoder.dim), dtype=np.float32)
        todo = np.argsort(first, kind="stable")  # compute in input order
        for start in range(0, len(todo), self.commit_rows):
            sel = todo[start : start + self.commit_rows]
            batch = [inputs[int(i)] for i in missing[first[sel]]]
            emb = encoder.encode(batch, batch_size=batch_size, progress=progress)
            if emb.shape != (len(sel), encoder.dim):
                raise InvalidInput(
                    f"backbone {encoder.name!r} returned shape {emb.shape}, "
                    f"expected {(len(sel), encoder.dim)}"
                )
            new[sel] = emb
            self._commit(folder, new_keys[sel], new[sel], index.broken)
        self._maybe_merge(folder)
        result[missing] = new[inverse.reshape(-1)]
        return result

    def lookup(
        self, backbone_name: str, hashes: Sequence[str], *, dim: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Stored embeddings of ``hashes``, without computing anything.

        Args:
            backbone_name: Backbone whose rows to read.
            hashes: The n content hashes.
            dim: Width to use when nothing is stored for this backbone (else ``0``).

        Returns:
            ``(embeddings, found)``: ``(n, d)`` float32 with zero rows where missing, and the
            ``(n,)`` boolean mask of hashes that were cached.
        """
        keys = _to_keys(hashes, len(hashes))
        folder = self._folder(backbone_name)
        with backbone_lock(folder, exclusive=False):
            index = self._index(folder)
            width = index.dim if index.dim is not None else (dim or 0)
            out = np.zeros((len(keys), width), dtype=np.float32)
            found, chunk, row = index.find(keys)
            hit = np.flatnonzero(found)
            index.gather(chunk[hit], row[hit], out, hit)
        return out, found

    def count(self, backbone_name: str) -> int:
        """Number of distinct hashes cached for ``backbone_name``."""
        folder = self._folder(backbone_name)
        if not folder.is_dir():
            return 0
        with backbone_lock(folder, exclusive=False):
            return len(self._index(folder).keys)

    def clear(self, backbone_name: str) -> None:
        """Forget every cached row of ``backbone_name``."""
        folder = self._folder(backbone_name)
        if not folder.is_dir():
            return
        with backbone_lock(folder, exclusive=True):
            index = load_index(folder)
            for number in [*index.sizes, *index.broken, *index.orphans]:
                remove_chunk(folder, number)

    def backbone_names(self) -> list[str]:
        """Names of the backbones with a folder in this cache."""
        if not self.directory.is_dir():
            return []
        return sorted(p.name for p in self.directory.iterdir() if p.is_dir())

    def _index(self, folder: Path) -> ChunkIndex:
        """The folder's index, re-read only when its chunk files changed (call under a lock)."""
        signature = chunk_signature(folder)
        with self._index_lock:
            cached = self._indexes.get(folder)
        if cached is not None and cached.signature == signature:
            return cached
        index = load_index(folder)
        with self._index_lock:
            self._indexes[folder] = index
        return index

    def _folder(self, backbone_name: str) -> Path:
        if not _SAFE_NAME.match(backbone_name):
            raise InvalidInput(
                f"backbone name {backbone_name!r} cannot name a cache folder "
                "(use letters, digits, '.', '_', '+', '-')"
            )
        return self.directory / backbone_name

    def _commit(
        self, folder: Path, keys: np.ndarray, embeddings: np.ndarray, broken: list[int]
    ) -> None:
        with backbone_lock(folder, exclusive=True):
            for number in broken:
                logger.warning("embedding cache %s: removing unreadable chunk %d", folder, number)
                remove_chunk(folder, number)
            broken.clear()
            write_chunk(folder, keys, embeddings)

    def _maybe_merge(self, folder: Path) -> None:
        """Merge small chunks once there are many, so reads open few files."""
        with backbone_lock(folder, exclusive=True):
            index = load_index(folder)
            if len(index.sizes) <= _MERGE_ABOVE_CHUNKS:
                return
            group: list[int] = []
            rows = 0
            for number, size in sorted(index.sizes.items()):
                if group and rows + size > _MERGE_TARGET_ROWS:
                    _merge(index, group)
                    group, rows = [], 0
                group.append(number)
                rows += size
            _merge(index, group)


def _merge(index: ChunkIndex, numbers: list[int]) -> None:
    if len(numbers) < 2 or index.dim is None:
        return
    selected = np.isin(index.chunks, numbers)
    keys = index.keys[selected]
    embeddings = np.zeros((len(keys), index.dim), dtype=np.float32)
    index.gather(index.chunks[selected], index.rows[selected], embeddings, np.arange(len(keys)))
    write_chunk(index.folder, keys, embeddings)  # committed before the originals go
    for number in numbers:
        remove_chunk(index.folder, number)


def _to_keys(hashes: Sequence[str], n: int) -> np.ndarray:
    """Hashes as a ``(n,)`` bytes array, validated once (vectorised: this runs on 100,000s)."""
    if isinstance(hashes, str):
        raise InvalidInput("hashes must be a sequence of strings, not a single string")
    if len(hashes) != n:
        raise InvalidInput(f"got {n} inputs but {len(hashes)} hashes")
    if n == 0:
        return np.zeros(0, dtype="S1")
    if not all(type(h) is str for h in hashes):
        bad = next(i for i, h in enumerate(hashes) if not isinstance(h, str))
        raise InvalidInput(f"hash {bad} must be a non-empty string, got {hashes[bad]!r}")
    text = np.asarray(hashes, dtype=str)
    if (text == "").any():
        bad = int(np.flatnonzero(text == "")[0])
        raise InvalidInput(f"hash {bad} must be a non-empty string, got ''")
    try:
        keys = text.astype("S")  # ASCII, the usual case for hex digests: one C loop
    except UnicodeEncodeError:
        keys = np.char.encode(text, "utf-8")
    if keys.dtype.itemsize > MAX_KEY_BYTES:
        raise InvalidInput(f"content hashes must be at most {MAX_KEY_BYTES} bytes long")
    return keys
