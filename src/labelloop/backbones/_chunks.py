"""On-disk layout of one backbone's embedding cache: chunk files, their key index, the lock.

A backbone folder holds committed chunks, each a pair of ``.npy`` files:

- ``chunk-NNNNNNNN.npy``: ``(m, d)`` float32 embeddings, read with ``mmap_mode="r"``;
- ``chunk-NNNNNNNN.keys.npy``: ``(m,)`` bytes, the content hash of each row.

Both are written to a temporary name and ``os.replace``-d into place, embeddings first: a chunk
exists once its keys file does, so a process killed mid-commit leaves at most an orphan embeddings
file, which the next commit removes. Writers hold an exclusive ``flock`` on ``.lock``; readers a
shared one. The same key in two chunks (two processes computing the same row) is harmless: the rows
are equal and the first is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no cross-process lock
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ChunkIndex",
    "backbone_lock",
    "chunk_signature",
    "fingerprint",
    "load_index",
    "remove_chunk",
    "write_chunk",
]

logger = logging.getLogger(__name__)

_CHUNK = re.compile(r"^chunk-(\d{8})\.npy$")
_KEYS = re.compile(r"^chunk-(\d{8})\.keys\.npy$")


def emb_path(folder: Path, number: int) -> Path:
    return folder / f"chunk-{number:08d}.npy"


def keys_path(folder: Path, number: int) -> Path:
    return folder / f"chunk-{number:08d}.keys.npy"


@contextlib.contextmanager
def backbone_lock(folder: Path, *, exclusive: bool) -> Iterator[None]:
    """Hold the folder's ``flock`` (exclusive for writers, shared for readers)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / ".lock").open("a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


MAX_KEY_BYTES = 256
# Fixed odd multipliers: fingerprint(key) = sum_k word_k * M_k (mod 2**64) over the key's 8-byte
# words. NUL padding adds nothing, so a fingerprint does not depend on the array's string width.
_MULTIPLIERS = np.random.default_rng(0x1ABE1100).integers(
    1, 2**63, size=MAX_KEY_BYTES // 8, dtype=np.uint64
) | np.uint64(1)


def fingerprint(keys: np.ndarray) -> np.ndarray:
    """``(n,)`` uint64 fingerprints of a ``(n,)`` bytes array of at most ``MAX_KEY_BYTES`` each.

    Sorting and searching ints is many times faster than strings; equal keys always share a
    fingerprint, and the rare clash of different keys is resolved by comparing the keys.
    """
    words = -(-keys.dtype.itemsize // 8)
    padded = np.ascontiguousarray(keys, dtype=f"S{words * 8}")
    matrix = padded.view(np.uint64).reshape(len(keys), words)
    out = np.zeros(len(keys), dtype=np.uint64)
    for k in range(words):
        out += matrix[:, k] * _MULTIPLIERS[k]
    return out


@dataclass
class ChunkIndex:
    """Every committed row of one backbone, sorted by key fingerprint for vectorised lookup.

    Attributes:
        folder: The backbone folder.
        keys: ``(r,)`` bytes, in fingerprint order, unique.
        fingerprints: ``(r,)`` uint64 :func:`fingerprint` of ``keys``, sorted.
        chunks: ``(r,)`` int64 chunk number holding each key.
        rows: ``(r,)`` int64 row of each key within its chunk.
        dim: Embedding width, ``None`` when nothing is stored.
        sizes: Rows per chunk number.
        broken: Chunk numbers that could not be read (ignored; removed by the next writer).
        orphans: Embedding files without a keys file (an interrupted commit).
        signature: :func:`chunk_signature` of the folder when this index was read.
    """

    folder: Path
    keys: np.ndarray
    fingerprints: np.ndarray
    chunks: np.ndarray
    rows: np.ndarray
    dim: int | None
    sizes: dict[int, int] = field(default_factory=dict)
    broken: list[int] = field(default_factory=list)
    orphans: list[int] = field(default_factory=list)
    signature: tuple[tuple[str, int, int], ...] = ()

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Locate ``keys`` ``(q,)``; returns ``(found (q,) bool, chunk (q,), row (q,))``."""
        if len(self.keys) == 0 or len(keys) == 0:
            zeros = np.zeros(len(keys), dtype=np.int64)
            return np.zeros(len(keys), dtype=bool), zeros, zeros
        prints = fingerprint(keys)
        pos = np.searchsorted(self.fingerprints, prints)
        pos = np.minimum(pos, len(self.keys) - 1)
        found = self.keys[pos] == keys
        # Different keys with one fingerprint sit side by side: look past the first.
        for i in np.flatnonzero(~found & (self.fingerprints[pos] == prints)):
            p = int(pos[i]) + 1
            while p < len(self.keys) and self.fingerprints[p] == prints[i]:
                if self.keys[p] == keys[i]:
                    found[i], pos[i] = True, p
                    break
                p += 1
        return found, self.chunks[pos], self.rows[pos]

    def gather(self, chunk: np.ndarray, row: np.ndarray, out: np.ndarray, dest: np.ndarray) -> None:
        """Copy stored rows into ``out[dest]``: one sequential memmap read per chunk touched.

        ``chunk``, ``row`` and ``dest`` are ``(q,)``; ``out`` is ``(n, dim)``.
        """
        if len(chunk) == 0:
            return
        order = np.lexsort((row, chunk))
        sorted_chunks = chunk[order]
        bounds = np.flatnonzero(np.diff(sorted_chunks)) + 1
        for group in np.split(order, bounds):
            stored = np.load(emb_path(self.folder, int(chunk[group[0]])), mmap_mode="r")
            rows = row[group]
            if len(rows) > 1 and bool((np.diff(rows) == 1).all()):  # a run: slice it
                out[dest[group]] = stored[rows[0] : rows[-1] + 1]
            else:
                out[dest[group]] = stored[rows]


def chunk_signature(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """(name, inode, mtime_ns) of every chunk file: changes whenever a chunk comes or goes."""
    out: list[tuple[str, int, int]] = []
    if not folder.is_dir():
        return ()
    for entry in os.scandir(folder):
        if entry.name.startswith("chunk-"):
            stat = entry.stat()
            out.append((entry.name, stat.st_ino, stat.st_mtime_ns))
    return tuple(sorted(out))


def load_index(folder: Path) -> ChunkIndex:
    """Read every committed chunk's keys (call under at least a shared lock)."""
    signature = chunk_signature(folder)
    index = _build_index(folder)
    index.signature = signature
    return index


def _build_index(folder: Path) -> ChunkIndex:
    numbers_keys, numbers_emb = _list_chunks(folder)
    parts_keys: list[np.ndarray] = []
    parts_chunk: list[np.ndarray] = []
    parts_row: list[np.ndarray] = []
    sizes: dict[int, int] = {}
    broken: list[int] = []
    dim: int | None = None
    for number in sorted(numbers_keys):
        try:
            keys = np.load(keys_path(folder, number), allow_pickle=False)
            emb = np.load(emb_path(folder, number), mmap_mode="r")
            if keys.ndim != 1 or keys.dtype.kind != "S" or emb.ndim != 2:
                raise ValueError("unexpected array shape or dtype")
            if emb.shape[0] != keys.shape[0] or emb.dtype != np.float32:
                raise ValueError(f"{emb.shape[0]} embeddings for {keys.shape[0]} keys")
            if dim is not None and emb.shape[1] != dim:
                raise ValueError(f"width {emb.shape[1]} differs from {dim}")
        except (OSError, ValueError, EOFError) as exc:
            logger.warning(
                "embedding cache %s: ignoring unreadable chunk %d: %s", folder, number, exc
            )
            broken.append(number)
            continue
        dim = int(emb.shape[1])
        sizes[number] = len(keys)
        parts_keys.append(keys)
        parts_chunk.append(np.full(len(keys), number, dtype=np.int64))
        parts_row.append(np.arange(len(keys), dtype=np.int64))
    orphans = sorted(numbers_emb - numbers_keys)
    if not parts_keys:
        empty = np.zeros(0, dtype=np.int64)
        no_keys = np.zeros(0, dtype="S1")
        no_prints = np.zeros(0, dtype=np.uint64)
        return ChunkIndex(folder, no_keys, no_prints, empty, empty, dim, sizes, broken, orphans)
    all_keys = np.concatenate(parts_keys)
    all_prints = fingerprint(all_keys)
    order = np.argsort(all_prints, kind="stable")
    sorted_keys = all_keys[order]
    sorted_prints = all_prints[order]
    # Drop a key stored twice (two writers computed it); rows are equal, keep the first.
    first = np.ones(len(sorted_keys), dtype=bool)
    first[1:] = (sorted_prints[1:] != sorted_prints[:-1]) | (sorted_keys[1:] != sorted_keys[:-1])
    keep = order[first]
    return ChunkIndex(
        folder,
        sorted_keys[first],
        sorted_prints[first],
        np.concatenate(parts_chunk)[keep],
        np.concatenate(parts_row)[keep],
        dim,
        sizes,
        broken,
        orphans,
    )


def _list_chunks(folder: Path) -> tuple[set[int], set[int]]:
    keys: set[int] = set()
    embs: set[int] = set()
    if not folder.is_dir():
        return keys, embs
    for entry in os.scandir(folder):
        if match := _KEYS.match(entry.name):
            keys.add(int(match.group(1)))
        elif match := _CHUNK.match(entry.name):
            embs.add(int(match.group(1)))
    return keys, embs


def _atomic_save(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npy", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_chunk(folder: Path, keys: np.ndarray, embeddings: np.ndarray) -> int:
    """Commit one chunk (call under the exclusive lock); returns its number.

    Also removes what earlier crashes left: orphan embedding files and temporary files.
    """
    numbers_keys, numbers_emb = _list_chunks(folder)
    for number in numbers_emb - numbers_keys:
        with contextlib.suppress(FileNotFoundError):
            emb_path(folder, number).unlink()
    for stale in folder.glob(".tmp-*"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    number = max(numbers_keys | numbers_emb, default=0) + 1
    _atomic_save(emb_path(folder, number), np.ascontiguousarray(embeddings, dtype=np.float32))
    _atomic_save(keys_path(folder, number), keys)
    _fsync_dir(folder)
    return number


def remove_chunk(folder: Path, number: int) -> None:
    """Delete a chunk, keys first so it is never half-visible (call under the exclusive lock)."""
    for path in (keys_path(folder, number), emb_path(folder, number)):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
