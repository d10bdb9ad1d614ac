"""Class folders: every labelled image (or audio file) copied to ``<label>/<file name>``, the
layout ``torchvision.datasets.ImageFolder``, Keras and labelloop's own folder import read."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._boxes import copy_image, folder_or_zip, image_path
from labelloop.services.data.formats._rows import ExportContext
from labelloop.services.data.formats.records import ExportRecord

__all__ = ["write_class_folders"]


def _folder_name(label: str) -> str:
    """A label as a folder name; refused when it cannot be one (``/``, ``..``, a NUL)."""
    if label in (".", "..") or any(c in label for c in "/\\\x00") or label.startswith("."):
        raise InvalidInput(
            f"label {label!r} cannot be a folder name; export as jsonl or csv instead",
            field="label",
        )
    return label


def write_class_folders(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    """Copy each labelled file to ``out/<label>/<name>`` (``out`` a folder, or a ``*.zip``).

    Unlabelled items are left out. Two files of one label with the same name keep both: the
    second becomes ``<item id>-<name>``. Written to a temporary folder and renamed into place,
    so a failed export leaves nothing.

    Raises:
        InvalidInput: a multi-label project (a file would need several folders), a label that
            cannot be a folder name, or a missing media file (naming the item).

    Returns:
        The number of files written.
    """
    if ctx.multi_label:
        raise InvalidInput(
            "class folders hold one label per file; export a multi-label project as jsonl, "
            "hf or labelstudio",
            field="format",
        )
    folders = {label: _folder_name(label) for label in ctx.label_names}
    taken: dict[str, set[str]] = {}
    n = 0
    with folder_or_zip(out) as folder:
        for rec in records:
            if not rec.label:
                continue
            label = folders[rec.label[0]]
            src = image_path(rec, ctx.media_root)
            if not src.is_file():
                raise InvalidInput(
                    f"item {rec.item_id}: its file is missing", file=str(src), field="path"
                )
            names = taken.setdefault(label, set())
            name = src.name if src.name.lower() not in names else f"{rec.item_id}-{src.name}"
            names.add(name.lower())
            copy_image(src, folder / label / name)
            n += 1
    return n
