"""Pascal VOC XML: one ``<annotation>`` file per image, each box an ``<object>`` with a
``<name>`` and a ``<bndbox>`` (``xmin ymin xmax ymax`` in pixels)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.services.data.formats._boxes import (
    BoxImage,
    box_images,
    copy_image,
    folder_or_zip,
    make_box,
    unique_name,
)
from labelloop.services.data.formats._common import IdTracker, ReadOptions
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportRecord,
)

__all__ = ["is_voc_folder", "read_voc", "write_voc"]

#: Where a VOC file's ``<filename>`` is looked for, relative to the dataset folder, in order
#: (then next to the XML file).
IMAGE_FOLDERS = ("JPEGImages", "images", ".")


def is_voc_folder(folder: Path) -> bool:
    """Whether ``folder`` holds an ``Annotations/`` folder of XML files (the VOC layout)."""
    annotations = folder / "Annotations"
    return annotations.is_dir() and any(annotations.glob("*.xml"))


def _number(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _xml(image: BoxImage, filename: str) -> bytes:
    root = ET.Element("annotation")
    ET.SubElement(root, "folder").text = "JPEGImages"
    ET.SubElement(root, "filename").text = filename
    source = ET.SubElement(root, "source")
    ET.SubElement(source, "database").text = "labelloop"
    size = ET.SubElement(root, "size")
    for tag, value in (("width", image.width), ("height", image.height), ("depth", 3)):
        ET.SubElement(size, tag).text = str(value)
    ET.SubElement(root, "segmented").text = "0"
    for box in image.boxes:
        obj = ET.SubElement(root, "object")
        ET.SubElement(obj, "name").text = box["label"]
        ET.SubElement(obj, "pose").text = "Unspecified"
        ET.SubElement(obj, "truncated").text = "0"
        ET.SubElement(obj, "difficult").text = "0"
        bndbox = ET.SubElement(obj, "bndbox")
        corners = (box["x"], box["y"], box["x"] + box["w"], box["y"] + box["h"])
        for tag, value in zip(("xmin", "ymin", "xmax", "ymax"), corners, strict=True):
            ET.SubElement(bndbox, tag).text = _number(value)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_voc(
    records: Iterable[ExportRecord], out: Path, *, labels: tuple[str, ...], media_root: Path | None
) -> int:
    """Write ``Annotations/<image>.xml``, ``JPEGImages/<image>`` and ``labels.txt`` into the
    folder ``out`` (or a zip file, when ``out`` ends in ``.zip``).

    Coordinates are 0-based pixels of the upright image, ``xmax = x + w`` (not the devkit's
    1-based integers: fractions are kept, so a box reads back exactly). Unlabelled items are
    left out; an image labelled "no objects" has an XML file without ``<object>``.

    Returns:
        The number of images written.
    """
    n = 0
    taken: set[str] = set()
    with folder_or_zip(out) as folder:
        (folder / "Annotations").mkdir()
        (folder / "JPEGImages").mkdir()
        for image in box_images(records, media_root):
            name = unique_name(taken, image.path.name, image.record.item_id)
            copy_image(image.path, folder / "JPEGImages" / name)
            xml_name = Path(name).with_suffix(".xml")
            (folder / "Annotations" / xml_name).write_bytes(_xml(image, name))
            n += 1
        (folder / "labels.txt").write_text("".join(f"{n}\n" for n in labels), "utf-8")
    return n


def read_voc(folder: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per XML file (``Annotations/*.xml``, or every ``*.xml`` under the
    folder), in name order; ``line`` is the XML file's number. The image is the file
    ``<filename>`` names, looked for in ``JPEGImages/``, ``images/``, the folder itself and
    next to the XML file."""
    try:
        from defusedxml import ElementTree as SafeET
    except ImportError:  # pragma: no cover - defusedxml comes with the images extra
        raise MissingDependency("reading Pascal VOC XML", extra="images") from None
    annotations = folder / "Annotations"
    files = (
        sorted(annotations.glob("*.xml"))
        if annotations.is_dir()
        else sorted(
            p for p in folder.rglob("*.xml") if not any(part.startswith(".") for part in p.parts)
        )
    )
    if not files:
        raise opts.error("the folder holds no Pascal VOC XML files (Annotations/*.xml)")
    ids = IdTracker()
    for line, xml_file in enumerate(files, start=1):
        try:
            root = SafeET.parse(xml_file).getroot()
        except (ET.ParseError, ValueError) as exc:  # defusedxml refuses entities with ValueError
            raise opts.error(f"{xml_file.name}: not valid XML ({exc})", line=line) from None
        name = (root.findtext("filename") or "").strip()
        if not name:
            raise opts.error(f"{xml_file.name} has no <filename>", line=line, field="filename")
        rel = _image_of(folder, xml_file, name)
        if rel is None:
            raise opts.error(
                f"{xml_file.name}: image {name!r} is in none of JPEGImages/, images/, the folder"
                " or beside the XML file",
                line=line,
                field="filename",
            )
        boxes = tuple(_boxes(root, xml_file.name, opts, line))
        yield ImportRecord(
            line,
            ids.check(rel, opts, line, "filename"),
            {"path": rel, "media": "image"},
            (ImportedAnnotation(value=boxes, annotator=opts.annotator),),
        )


def _image_of(folder: Path, xml_file: Path, name: str) -> str | None:
    if PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
        return None  # the importer would refuse it; a VOC filename is a plain name
    for sub in IMAGE_FOLDERS:
        if (folder / sub / name).is_file():
            return str(PurePosixPath(*(folder / sub / name).relative_to(folder).parts))
    beside = xml_file.parent / name
    if beside.is_file():
        return str(PurePosixPath(*beside.relative_to(folder).parts))
    return None


def _boxes(root: Any, xml_name: str, opts: ReadOptions, line: int) -> Iterator[dict[str, Any]]:
    for number, obj in enumerate(root.iter("object"), start=1):

        def fail(message: str, number: int = number) -> InvalidInput:
            return opts.error(f"{xml_name} object {number}: {message}", line=line, field="object")

        label = (obj.findtext("name") or "").strip()
        bndbox = obj.find("bndbox")
        if bndbox is None:
            raise fail("has no <bndbox>")
        corners = [bndbox.findtext(tag) for tag in ("xmin", "ymin", "xmax", "ymax")]
        if any(c is None for c in corners):
            raise fail("<bndbox> needs xmin, ymin, xmax and ymax")
        try:
            xmin, ymin, xmax, ymax = (float(str(c)) for c in corners)
        except ValueError:
            raise fail(f"coordinates {corners} are not numbers") from None
        yield make_box(xmin, ymin, xmax - xmin, ymax - ymin, label, fail=fail)
