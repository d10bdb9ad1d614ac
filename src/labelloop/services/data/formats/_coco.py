"""COCO object-detection JSON: ``images``, ``annotations`` (``bbox`` = ``[x, y, w, h]`` in
pixels) and ``categories``, as pycocotools reads it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._boxes import box_images, make_box, posix
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    annotation_from_provenance,
)
from labelloop.services.data.formats._rows import provenance
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportRecord,
)

__all__ = ["is_coco", "read_coco", "write_coco"]

#: Largest COCO file read (it is parsed whole, as every COCO tool does).
MAX_COCO_BYTES = 1 << 30


def is_coco(path: Path) -> bool:
    """Whether a ``.json`` file looks like COCO: one JSON object whose first 64 KiB name one of
    its lists (``images``, ``annotations``, ``categories``); a Label Studio export is a list."""
    with path.open("rb") as f:
        head = f.read(65536).lstrip(b"\xef\xbb\xbf \t\r\n")
    keys = (b'"images"', b'"annotations"', b'"categories"')
    return head.startswith(b"{") and any(key in head for key in keys)


def write_coco(
    records: Iterable[ExportRecord], out: Path, *, labels: tuple[str, ...], media_root: Path | None
) -> int:
    """Write the labelled images and their boxes as one COCO JSON file.

    ``images[].file_name`` is the item's stored path (relative to the workspace's media root,
    or absolute); ``id`` is labelloop's item id and ``labelloop`` keeps the item's external id
    and its label's provenance. Categories are numbered from 1 in the project's label order.
    Unlabelled items are left out; an image labelled "no objects" is an image without
    annotations.

    Returns:
        The number of images written.
    """
    category = {name: i for i, name in enumerate(labels, start=1)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for image in box_images(records, media_root):
        rec = image.record
        images.append(
            {
                "id": rec.item_id,
                "file_name": posix(str(rec.data["path"])),
                "width": image.width,
                "height": image.height,
                "labelloop": {"external_id": rec.external_id, "provenance": provenance(rec)},
            }
        )
        for box in image.boxes:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": rec.item_id,
                    "category_id": category[box["label"]],
                    "bbox": [box["x"], box["y"], box["w"], box["h"]],
                    "area": box["w"] * box["h"],
                    "iscrowd": 0,
                }
            )
    document = {
        "info": {"description": "exported by labelloop"},
        "images": images,
        "annotations": annotations,
        "categories": [
            {"id": i, "name": name, "supercategory": "object"} for name, i in category.items()
        ],
    }
    with atomic_file(out) as tmp:
        tmp.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return len(images)


def read_coco(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per entry of ``images``, labelled with its annotations' boxes.

    ``line`` is the image's position in ``images`` (1-based). An image without annotations is
    labelled "no objects" (``[]``). ``file_name`` is read relative to the media folder the
    import names (by default the JSON file's own folder).
    """
    document = _load(path, opts)
    categories = _categories(document, opts)
    boxes_of = _annotations(document, categories, opts)
    ids = IdTracker()
    for line, image in enumerate(document["images"], start=1):
        if not isinstance(image, Mapping):
            raise opts.error("each image must be an object", line=line, field="images")
        name = image.get("file_name")
        if not isinstance(name, str) or not name:
            raise opts.error("image has no file_name", line=line, field="file_name")
        raw = image.get("labelloop")
        ours: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        external = ours.get("external_id") or name
        external_id = ids.check(external, opts, line, "file_name")
        value = tuple(boxes_of.get(_image_key(image.get("id")), ()))
        prov = ours.get("provenance")
        annotation = (
            annotation_from_provenance(value, prov, opts, line)
            if isinstance(prov, Mapping)
            else ImportedAnnotation(value=value, annotator=opts.annotator)
        )
        yield ImportRecord(line, external_id, {"path": name, "media": "image"}, (annotation,))


def _load(path: Path, opts: ReadOptions) -> dict[str, Any]:
    if path.stat().st_size > MAX_COCO_BYTES:
        raise opts.error(f"COCO file is over {MAX_COCO_BYTES} bytes")
    try:
        document = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise opts.error(f"invalid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise opts.error("a COCO file is one JSON object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(document.get(key), list):
            raise opts.error(f"a COCO file needs a {key!r} list", field=key)
    if not document["images"]:
        raise opts.error("the COCO file lists no images", field="images")
    return document


def _categories(document: dict[str, Any], opts: ReadOptions) -> dict[Any, str]:
    names: dict[Any, str] = {}
    for entry in document["categories"]:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            raise opts.error("each category needs an id and a name", field="categories")
        names[_image_key(entry.get("id"))] = entry["name"]
    return names


def _image_key(value: Any) -> Any:
    # ids are integers in COCO; some tools write them as strings
    return str(value)


def _annotations(
    document: dict[str, Any], categories: dict[Any, str], opts: ReadOptions
) -> dict[Any, list[dict[str, Any]]]:
    by_image: dict[Any, list[dict[str, Any]]] = {}
    for number, ann in enumerate(document["annotations"], start=1):

        def fail(message: str, number: int = number) -> InvalidInput:
            return opts.error(f"annotation {number}: {message}", field="annotations")

        if not isinstance(ann, Mapping):
            raise fail("must be an object")
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise fail("bbox must be [x, y, width, height]")
        label = categories.get(_image_key(ann.get("category_id")))
        if label is None:
            raise fail(f"category_id {ann.get('category_id')!r} is not in categories")
        box = make_box(bbox[0], bbox[1], bbox[2], bbox[3], label, fail=fail)
        by_image.setdefault(_image_key(ann.get("image_id")), []).append(box)
    return by_image
