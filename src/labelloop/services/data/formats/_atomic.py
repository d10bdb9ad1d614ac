"""Atomic output: write to a temporary name in the target's folder, then rename into place."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from labelloop.errors import InvalidInput

__all__ = ["atomic_dir", "atomic_file"]


def _check_parent(out: Path) -> None:
    if not out.parent.is_dir():
        raise InvalidInput("the folder to export into does not exist", file=str(out))


@contextlib.contextmanager
def atomic_file(out: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``out``; on success it replaces ``out``, on error it goes."""
    _check_parent(out)
    if out.is_dir():
        raise InvalidInput("a folder of that name exists; export needs a file name", file=str(out))
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(out: Path) -> Iterator[Path]:
    """Like :func:`atomic_file` for a folder; an existing ``out`` is replaced only on success."""
    _check_parent(out)
    if out.exists() and not out.is_dir():
        raise InvalidInput("a file of that name exists; this export writes a folder", file=str(out))
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    old: Path | None = None
    try:
        yield tmp
        if out.exists():
            old = out.with_name(f"{tmp.name}.old")
            os.replace(out, old)
        os.replace(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
