"""Content hashes: an item's identity inside a project and the key of the embedding cache.

The digests are part of stored data (``items.content_hash``, the embedding cache file names), so
they never change: the same text or the same file bytes give the same hex digest in every version.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import stat
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["content_hash", "file_digest", "text_hash"]


def text_hash(text: str) -> str:
    """sha256 of the NFC-normalised, stripped text: the same text always gets the same hash."""
    normalised = unicodedata.normalize("NFC", text).strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def file_digest(path: Path, *, extra: Any = None) -> str:
    """sha256 of a regular file's bytes (streamed), optionally mixed with JSON-able ``extra``.

    Raises :class:`OSError` for anything else (a device, a FIFO, a folder).
    """
    digest = hashlib.sha256()
    # O_NONBLOCK: opening a FIFO must not wait for a writer; then only regular files are read
    # (a device such as /dev/zero never ends)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", str(path))
    with os.fdopen(fd, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if extra is not None:
        digest.update(json.dumps(extra, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def content_hash(data: Mapping[str, Any], *, root: Path | None = None) -> str:
    """The hash of an item's content: its text, or the bytes of its media file.

    A relative ``data["path"]`` is read relative to ``root``. Raises :class:`OSError` when the
    file cannot be read (the importer turns that into an error naming the line).
    """
    if "text" in data:
        return text_hash(str(data["text"]))
    if "path" in data:
        path = Path(data["path"])
        if root is not None and not path.is_absolute():
            path = root / path
        return file_digest(path)
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True).encode()).hexdigest()
