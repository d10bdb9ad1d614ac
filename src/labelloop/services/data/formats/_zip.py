"""Safe extraction of an uploaded or named zip file: no path leaves the target folder, no
symlinks, and the uncompressed size and number of files are bounded before a byte is written."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from labelloop.errors import InvalidInput

__all__ = ["extract_zip", "is_zip", "zip_root"]

#: Entries a zip tool adds that are not part of the data (macOS resource forks).
_JUNK = ("__MACOSX",)


def is_zip(path: Path) -> bool:
    """Whether ``path`` is a file named ``*.zip``."""
    return path.is_file() and path.suffix.lower() == ".zip"


def _member_path(info: zipfile.ZipInfo, zip_name: str) -> PurePosixPath | None:
    """The member's relative path, checked; None for what is skipped (folders, hidden files,
    macOS resource forks)."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or (parts and ":" in parts[0]) or ".." in parts:
        raise InvalidInput(
            f"zip member {info.filename!r} points outside the folder it is extracted to",
            file=zip_name,
            field=info.filename,
        )
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InvalidInput(
            f"zip member {info.filename!r} is a symlink; labelloop does not extract links",
            file=zip_name,
            field=info.filename,
        )
    if info.is_dir() or not parts or parts[0] in _JUNK or any(p.startswith(".") for p in parts):
        return None
    return PurePosixPath(*parts)


def extract_zip(path: Path, dest: Path, *, max_bytes: int, max_files: int) -> bool:
    """Extract the zip file ``path`` into the new folder ``dest``, all or nothing.

    Members are checked first (paths, links, the declared total size and count), then written
    to a temporary folder beside ``dest`` that is renamed to ``dest`` when every member is out.

    Returns:
        True when this call made ``dest``; False when another one did meanwhile (an import of
        the same zip at the same time: ``dest`` is named by the zip's content).

    Raises:
        InvalidInput: not a readable zip, a member that would leave ``dest`` or is a link, more
            than ``max_files`` files or ``max_bytes`` bytes uncompressed, or a corrupt member
            (naming the zip and the member).
    """
    name = str(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InvalidInput(f"not a readable zip file ({exc})", file=name) from None
    with archive:
        members = [(info, rel) for info in archive.infolist() if (rel := _member_path(info, name))]
        total = sum(info.file_size for info, _ in members)
        if len(members) > max_files:
            raise InvalidInput(
                f"the zip holds {len(members)} files, over the limit of {max_files}", file=name
            )
        if total > max_bytes:
            raise InvalidInput(
                f"the zip holds {total} bytes uncompressed, over the limit of {max_bytes}",
                file=name,
            )
        if not members:
            raise InvalidInput("the zip holds no files", file=name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
        try:
            for info, rel in members:
                target = tmp.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    # zipfile stops at the declared size and checks the CRC
                    with archive.open(info) as src, target.open("wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise InvalidInput(
                        f"zip member {info.filename!r} is corrupt ({exc})",
                        file=name,
                        field=info.filename,
                    ) from None
            try:
                os.replace(tmp, dest)
            except OSError:
                if not dest.is_dir():
                    raise
                return False
            return True
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def zip_root(folder: Path) -> Path:
    """The folder to import from an extracted zip: its only top folder when it has one and no
    files beside it (``dataset.zip`` holding ``dataset/...``), else ``folder`` itself."""
    entries = [e for e in folder.iterdir() if not e.name.startswith(".")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return folder
