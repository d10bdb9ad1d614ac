"""YOLO detection folders: ``images/``, ``labels/*.txt`` (one ``class cx cy w h`` line per box,
normalised to [0, 1] by the image's size) and the class names in ``classes.txt`` or
``data.yaml``, as Ultralytics and Darknet read them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from labelloop.backbones.images import image_size
from labelloop.errors import InvalidInput
from labelloop.services.data.formats._boxes import (
    box_images,
    copy_image,
    folder_or_zip,
    labels_index,
    make_box,
    unique_name,
)
from labelloop.services.data.formats._common import IdTracker, ReadOptions
from labelloop.services.data.formats._folder import iter_media_files
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportRecord,
)

__all__ = ["is_yolo_folder", "read_yolo", "write_yolo"]

_NAME_FILES = ("data.yaml", "dataset.yaml", "data.yml")


def is_yolo_folder(folder: Path) -> bool:
    """Whether ``folder`` looks like a YOLO dataset: a ``labels/`` folder and class names."""
    names = any((folder / f).is_file() for f in (*_NAME_FILES, "classes.txt"))
    return names and (folder / "labels").is_dir()


def write_yolo(
    records: Iterable[ExportRecord], out: Path, *, labels: tuple[str, ...], media_root: Path | None
) -> int:
    """Write ``images/``, ``labels/``, ``classes.txt`` and ``data.yaml`` into the folder ``out``
    (or a zip file, when ``out`` ends in ``.zip``).

    Images are copied unchanged (their EXIF orientation too: YOLO tools apply it, and the
    coordinates are of the upright image). Unlabelled items are left out; an image labelled
    "no objects" gets an empty label file.

    Returns:
        The number of images written.
    """
    index = labels_index(labels)
    n = 0
    taken: set[str] = set()
    with folder_or_zip(out) as folder:
        (folder / "images").mkdir()
        (folder / "labels").mkdir()
        for image in box_images(records, media_root):
            name = unique_name(taken, image.path.name, image.record.item_id)
            copy_image(image.path, folder / "images" / name)
            lines = [_line(index[b["label"]], b, image.width, image.height) for b in image.boxes]
            text = "".join(line + "\n" for line in lines)
            (folder / "labels" / Path(name).with_suffix(".txt")).write_text(text, "utf-8")
            n += 1
        (folder / "classes.txt").write_text("".join(f"{n}\n" for n in labels), "utf-8")
        # JSON is YAML: names as a flow list, quoted (a label may hold ':' or '#')
        yaml = (
            "# written by labelloop\npath: .\ntrain: images\nval: images\n"
            f"nc: {len(labels)}\nnames: {json.dumps(list(labels), ensure_ascii=False)}\n"
        )
        (folder / "data.yaml").write_text(yaml, "utf-8")
    return n


def _line(cls: int, box: dict[str, Any], width: int, height: int) -> str:
    cx = (box["x"] + box["w"] / 2) / width
    cy = (box["y"] + box["h"] / 2) / height
    return f"{cls} {cx:.8f} {cy:.8f} {box['w'] / width:.8f} {box['h'] / height:.8f}"


def read_yolo(folder: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per image of a YOLO folder, labelled with its label file's boxes.

    Images are looked for under ``images/`` (any subfolders, such as ``images/train``), each
    with its label file at the same place under ``labels/``; without ``images/``, image and
    label files lie side by side. An image without a label file is labelled "no objects"
    (``[]``), as YOLO trainers read it. ``line`` is the image's number in sorted order.
    """
    names = _class_names(folder, opts)
    base = folder / "images" if (folder / "images").is_dir() else folder
    ids = IdTracker()
    n = 0
    for rel, kind in iter_media_files(base):
        if kind != "image":
            continue
        n += 1
        path = posix_join(base.relative_to(folder), rel)
        label_file = folder / _label_path(path)
        boxes: tuple[dict[str, Any], ...] = ()
        size = _size(folder / path)
        if label_file.is_file() and size is not None:
            boxes = tuple(_boxes(label_file, size, names, opts, n))
        yield ImportRecord(
            n,
            ids.check(path, opts, n, "path"),
            {"path": path, "media": "image"},
            (ImportedAnnotation(value=boxes, annotator=opts.annotator),),
        )
    if n == 0:
        raise opts.error(f"the YOLO folder holds no images (under {base.name}/)")


def posix_join(prefix: Path, rel: str) -> str:
    return str(PurePosixPath(*prefix.parts, *PurePosixPath(rel).parts))


def _label_path(image_rel: str) -> str:
    parts = list(PurePosixPath(image_rel).parts)
    if parts and parts[0] == "images":
        parts[0] = "labels"
    return str(PurePosixPath(*parts).with_suffix(".txt"))


def _class_names(folder: Path, opts: ReadOptions) -> list[str]:
    for name in _NAME_FILES:
        if (folder / name).is_file():
            return _yaml_names(folder / name, opts)
    classes = folder / "classes.txt"
    if classes.is_file():
        return [line.strip() for line in classes.read_text("utf-8").splitlines() if line.strip()]
    raise opts.error("a YOLO folder needs classes.txt or data.yaml naming its classes")


def _yaml_names(path: Path, opts: ReadOptions) -> list[str]:
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML comes with the images extra
        from labelloop.errors import MissingDependency

        raise MissingDependency("reading YOLO data.yaml", extra="images") from None
    try:
        doc = yaml.safe_load(path.read_text("utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInput(f"invalid YAML: {exc}", file=str(path)) from None
    names = doc.get("names") if isinstance(doc, dict) else None
    if isinstance(names, dict):  # Ultralytics: {0: person, 1: bicycle}
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError):
            raise InvalidInput("names keys must be class numbers", file=str(path)) from None
    if isinstance(names, list) and all(isinstance(n, str) for n in names):
        return names
    raise InvalidInput("data.yaml needs 'names': a list or a {number: name} map", file=str(path))


def _size(image: Path) -> tuple[int, int] | None:
    """The upright size of an image; None when it cannot be read (the importer then reports
    the file as bad, refusing or skipping it as the user chose)."""
    try:
        return image_size(image)
    except InvalidInput:
        return None


def _boxes(
    label_file: Path, size: tuple[int, int], names: list[str], opts: ReadOptions, image_number: int
) -> Iterator[dict[str, Any]]:
    rel = label_file.name
    width, height = size
    for line_no, raw in enumerate(label_file.read_text("utf-8").splitlines(), start=1):
        if not raw.strip():
            continue

        def fail(message: str, line_no: int = line_no) -> InvalidInput:
            return InvalidInput(
                f"{rel} line {line_no}: {message}", file=opts.file, line=image_number,
                field="labels",
            )  # fmt: skip

        fields = raw.split()
        if len(fields) != 5:
            raise fail(
                f"expected 'class cx cy w h', got {len(fields)} values (polygons and keypoints"
                " are not boxes)"
            )
        try:
            cls = int(fields[0])
        except ValueError:
            raise fail(f"class {fields[0]!r} is not a class number") from None
        if not 0 <= cls < len(names):
            raise fail(f"class {cls} is not one of the {len(names)} classes")
        try:
            cx, cy, w, h = (float(v) for v in fields[1:])
        except ValueError:
            raise fail("coordinates must be numbers") from None
        yield make_box(
            (cx - w / 2) * width, (cy - h / 2) * height, w * width, h * height, names[cls],
            fail=fail,
        )  # fmt: skip
