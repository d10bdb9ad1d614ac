"""Folder import: image and audio files, optionally labelled by their class subfolder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._common import ReadOptions
from labelloop.services.data.formats.records import ImportedAnnotation, ImportRecord

__all__ = [
    "AUDIO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "UNSUPPORTED",
    "UNSUPPORTED_EXTENSIONS",
    "iter_media_files",
    "read_folder",
]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"})
AUDIO_EXTENSIONS = frozenset({".wav", ".mp3", ".flac", ".ogg"})
#: Image and camera formats a folder may hold that labelloop does not import (browsers do not
#: show them, so no one could annotate them): reported by name rather than passed over.
UNSUPPORTED_EXTENSIONS = frozenset(
    {".tif", ".tiff", ".heic", ".heif", ".avif", ".svg", ".ico", ".jp2", ".psd", ".raw",
     ".cr2", ".nef", ".dng"}
)  # fmt: skip
#: The media kind of a file of :data:`UNSUPPORTED_EXTENSIONS`.
UNSUPPORTED = "unsupported"


def media_kind(name: str) -> str | None:
    """``"image"``, ``"audio"``, :data:`UNSUPPORTED` or None (not a media file), from the file
    extension (case-insensitive)."""
    suffix = os.path.splitext(name)[1].lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in AUDIO_EXTENSIONS:
        return "audio"
    if suffix in UNSUPPORTED_EXTENSIONS:
        return UNSUPPORTED
    return None


def iter_media_files(folder: Path) -> Iterator[tuple[str, str]]:
    """Yield ``(relative POSIX path, media kind)`` of every image/audio file under ``folder``
    (and of every file in a format labelloop does not import, kind :data:`UNSUPPORTED`).

    Files come sorted by relative path (stable across runs). Hidden files and folders (name
    starting with ``.``) are skipped, symlinked folders are not followed, and a symlink that points
    outside ``folder`` raises :class:`~labelloop.errors.InvalidInput`.

    Example:
        >>> list(iter_media_files(Path("pets")))  # doctest: +SKIP
        [('cat/1.jpg', 'image'), ('dog/2.png', 'image')]
    """
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput("folder not found", file=str(folder))
    yield from _walk(root, root, root.resolve())


def _walk(here: Path, root: Path, real_root: Path) -> Iterator[tuple[str, str]]:
    # Entries of one folder in name order, subfolders in place: the whole listing is sorted by
    # relative path, and only one folder's names are held at a time per level.
    with os.scandir(here) as it:
        entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    for entry in entries:
        full = here / entry.name
        if entry.is_symlink():
            _check_inside(full, real_root, root)
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(full, root, real_root)
            continue
        kind = media_kind(entry.name)
        if kind is not None and entry.is_file():
            yield str(PurePosixPath(*full.relative_to(root).parts)), kind


def _check_inside(path: Path, real_root: Path, root: Path) -> None:
    target = path.resolve()
    if not target.is_relative_to(real_root):
        raise InvalidInput(
            f"symlink points outside the folder (to {target}); refusing to import it",
            file=str(root),
            field=str(path.relative_to(root)),
        )


def read_folder(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per media file; the class subfolder is the label if asked for."""
    n = 0
    for index, (rel, kind) in enumerate(iter_media_files(path), start=1):
        n += 1
        annotations: tuple[ImportedAnnotation, ...] = ()
        parts = rel.split("/")
        if opts.labels_from_subfolders and len(parts) > 1:
            annotations = (ImportedAnnotation(value=(parts[0],), annotator=opts.annotator),)
        yield ImportRecord(index, rel, {"path": rel, "media": kind}, annotations)
    if n == 0:
        raise opts.error(
            "folder holds no image or audio files (extensions: "
            f"{' '.join(sorted(IMAGE_EXTENSIONS | AUDIO_EXTENSIONS))})"
        )
