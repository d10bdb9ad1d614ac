"""What the box formats (COCO, YOLO, Pascal VOC, Label Studio rectangles) share.

A box is ``{"x", "y", "w", "h", "label"}`` in pixels of the upright image (EXIF orientation
applied, what a browser shows), origin top-left; a suggestion's boxes also hold ``"score"``.
Writers read each image's upright size from its file; readers hand the boxes to the importer,
whose task checks them against the image (clipping a box that pokes out by at most 1 px).
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from labelloop.backbones.images import image_size
from labelloop.errors import InvalidInput
from labelloop.services.data.formats._atomic import atomic_dir, atomic_file
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    annotation_from_provenance,
    object_fields,
    optional_str,
    parse_probability,
)
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportedPrediction,
    ImportRecord,
)

__all__ = [
    "BoxImage",
    "box_images",
    "box_record",
    "folder_or_zip",
    "image_path",
    "make_box",
    "unique_name",
]


@dataclass(frozen=True)
class BoxImage:
    """One labelled image as the box writers see it.

    Attributes:
        record: The exported item.
        path: Its image file, resolved against the workspace's media root.
        width: Upright width in pixels.
        height: Upright height in pixels.
        boxes: Its current boxes (``[]``: labelled, no object in the image).
    """

    record: ExportRecord
    path: Path
    width: int
    height: int
    boxes: list[dict[str, Any]]


def image_path(rec: ExportRecord, media_root: Path | None) -> Path:
    """The image file of ``rec``: its stored path, a relative one under ``media_root``.

    Raises:
        InvalidInput: the item names no image file.
    """
    stored = rec.data.get("path")
    if not isinstance(stored, str) or not stored:
        raise InvalidInput(f"item {rec.item_id} names no image file", field="path")
    path = Path(stored)
    if not path.is_absolute() and media_root is not None:
        path = media_root / path
    return path


def box_images(records: Iterable[ExportRecord], media_root: Path | None) -> Iterator[BoxImage]:
    """The labelled records as :class:`BoxImage` values; unlabelled items are left out (these
    formats hold training sets: an image in them without boxes says "no object here").

    Raises:
        InvalidInput: an image file is missing or unreadable (naming the item and the file).
    """
    for rec in records:
        if rec.label is None:
            continue
        path = image_path(rec, media_root)
        try:
            width, height = image_size(path)
        except InvalidInput as exc:
            raise InvalidInput(
                f"item {rec.item_id}: {exc.reason}", file=str(path), field="path"
            ) from None
        yield BoxImage(rec, path, width, height, [dict(b) for b in rec.label])


def unique_name(taken: set[str], name: str, item_id: int) -> str:
    """``name`` if no other exported file took it yet, else ``<item_id>-<name>``; recorded in
    ``taken`` (two images from different folders may share a base name)."""
    candidate = name if name.lower() not in taken else f"{item_id}-{name}"
    taken.add(candidate.lower())
    return candidate


def make_box(
    x: Any, y: Any, w: Any, h: Any, label: Any, *, fail: Callable[[str], InvalidInput]
) -> dict[str, Any]:
    """A box from a file's numbers, checked: finite numbers, ``w`` and ``h`` positive, a label
    that is a non-empty string. ``fail`` builds the error (it knows the file and the line)."""
    values = []
    for name, value in (("x", x), ("y", y), ("w", w), ("h", h)):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise fail(f"box {name} {value!r} is not a number") from None
        if not math.isfinite(number):
            raise fail(f"box {name} {value!r} is not a finite number")
        values.append(number)
    if values[2] <= 0 or values[3] <= 0:
        raise fail(f"box width and height must be positive, got {values[2]} x {values[3]}")
    if not isinstance(label, str) or not label.strip():
        raise fail(f"box label {label!r} is not a name")
    return {"x": values[0], "y": values[1], "w": values[2], "h": values[3], "label": label.strip()}


def posix(path: str) -> str:
    """A path as the files of these formats write it (forward slashes)."""
    return str(PurePosixPath(*Path(path).parts))


@contextlib.contextmanager
def folder_or_zip(out: Path) -> Iterator[Path]:
    """A temporary folder to write an export into; on success it becomes ``out``: the folder
    itself, or (``out`` named ``*.zip``) a zip file of its content. Nothing is left on error."""
    if out.suffix.lower() != ".zip":
        with atomic_dir(out) as tmp:
            yield tmp
        return
    with atomic_file(out) as tmp_zip:
        folder = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            yield folder
            with zipfile.ZipFile(tmp_zip, "w", zipfile.ZIP_DEFLATED) as zf:
                for root, dirs, files in os.walk(folder):
                    dirs.sort()
                    for name in sorted(files):
                        full = Path(root) / name
                        zf.write(full, full.relative_to(folder).as_posix())
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def copy_image(src: Path, dest: Path) -> None:
    """Copy an exported image (its bytes unchanged, EXIF included)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def labels_index(labels: Iterable[str]) -> Mapping[str, int]:
    """Label name -> 0-based class index, in the project's label order."""
    return {name: i for i, name in enumerate(labels)}


def box_record(
    obj: Mapping[str, Any], opts: ReadOptions, line: int, ids: IdTracker
) -> ImportRecord:
    """A record of an image-boxes project from one JSON object (a JSONL line or a Parquet row):
    the image in the path field, the boxes (a list of box objects) in the label field, and in
    a labelloop export the label's provenance and the suggestion's scored boxes."""
    external_id, data, exported = object_fields(obj, opts, line, ids)
    field = opts.label_field or "label"
    annotations: tuple[ImportedAnnotation, ...] = ()
    value = obj.get(field)
    if value is not None:
        if not isinstance(value, list):
            raise opts.error("boxes must be a list of box objects", line=line, field=field)
        prov = obj.get("provenance") if exported else None
        annotations = (
            annotation_from_provenance(tuple(value), prov, opts, line)
            if isinstance(prov, Mapping)
            else ImportedAnnotation(value=tuple(value), annotator=opts.annotator),
        )
    predictions: tuple[ImportedPrediction, ...] = ()
    suggestion = obj.get("suggestion") if exported else None
    if isinstance(suggestion, Mapping) and isinstance(suggestion.get("value"), list):
        predictions = (
            ImportedPrediction(
                value=tuple(suggestion["value"]),
                score=parse_probability(
                    suggestion.get("confidence"), opts, line, "suggestion.confidence"
                ),
                model_version=optional_str(suggestion.get("model_version")),
            ),
        )
    return ImportRecord(line, external_id, data, annotations, predictions)
