"""Box formats, validated by their real consumers: COCO (pycocotools loads it and its evaluator
scores the export against itself), YOLO and Pascal VOC folders, Label Studio rectangles
(label-studio-sdk); each export reads back to the same boxes (to 0.01 px)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema
from labelloop.services.data.formats import ExportRecord, read_records, write_records

LABELS = ("cat", "dog", "Traffic light: red")
PIL = pytest.importorskip("PIL.Image")


def box_schema() -> LabelSchema:
    return LabelSchema(task="image-boxes", labels=LABELS)


def make_image(path: Path, size: tuple[int, int], *, orientation: int | None = None) -> Path:
    """A JPEG of ``size`` (as stored); with an EXIF ``orientation`` a viewer turns it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    img = PIL.new("RGB", size, (120, 30, 200))
    exif = PIL.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    img.save(path, format="JPEG", exif=exif.tobytes())
    return path


def box(x: float, y: float, w: float, h: float, label: str = "cat") -> dict[str, Any]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


def record(item_id: int, path: str, boxes: list[dict[str, Any]] | None) -> ExportRecord:
    prov = None
    if boxes is not None:
        prov = {"source": "human", "annotator": "ann", "model_version": None, "seconds": 2.0,
                "created_at": "2024-05-01T12:00:00+00:00"}  # fmt: skip
    return ExportRecord(
        external_id=f"e{item_id}",
        item_id=item_id,
        data={"path": path, "media": "image"},
        content_hash=f"h{item_id}",
        label=None if boxes is None else tuple(boxes),
        provenance=prov,
        history=() if boxes is None else ({"value": boxes, **(prov or {})},),
    )


@pytest.fixture
def media(tmp_path: Path) -> Path:
    """Three images: a landscape one, one stored 40x60 but turned upright to 60x40 by its EXIF
    orientation, and one in a subfolder with the same file name as the first."""
    root = tmp_path / "media"
    make_image(root / "a.jpg", (200, 100))
    make_image(root / "turned.jpg", (40, 60), orientation=6)
    make_image(root / "sub" / "a.jpg", (64, 48))
    return root


def records() -> list[ExportRecord]:
    return [
        record(1, "a.jpg", [box(10.25, 5.5, 50.125, 40.0), box(100, 20, 99.5, 79.75, "dog")]),
        # upright 60 wide, 40 high: a box 50 px wide only fits the upright image
        record(2, "turned.jpg", [box(5, 2, 50, 30, "Traffic light: red")]),
        record(3, "sub/a.jpg", []),  # labelled: no object in it
        record(4, "a.jpg", None),  # unlabelled: not in a training-set format
    ]


def read_boxes(path: Path, fmt: str, **options: Any) -> dict[str, list[dict[str, Any]]]:
    """File name -> boxes sorted, as the reader gives them (the path's base name with its
    parent folder, so two ``a.jpg`` stay apart)."""
    out = {}
    for rec in read_records(path, format=fmt, schema=box_schema(), **options):
        (annotation,) = rec.annotations
        out[rec.data["path"]] = sorted(annotation.value, key=lambda b: (b["x"], b["y"]))
    return out


def assert_same_boxes(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    """Each wanted box matches one got box of its label, every coordinate within 0.01 px."""
    left = list(got)
    assert len(left) == len(want), (got, want)
    for w in want:
        match = next(
            (
                g
                for g in left
                if g["label"] == w["label"]
                and all(abs(g[k] - w[k]) <= 0.01 for k in ("x", "y", "w", "h"))
            ),
            None,
        )
        assert match is not None, (w, got)
        left.remove(match)


def test_coco_export_is_what_pycocotools_loads_and_scores_at_one(media, tmp_path):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out = tmp_path / "boxes.json"
    assert write_records(records(), out, format="coco", schema=box_schema(), media_root=media) == 3
    gold = COCO(str(out))
    assert sorted(c["name"] for c in gold.loadCats(gold.getCatIds())) == sorted(LABELS)
    assert gold.imgs[2]["width"] == 60 and gold.imgs[2]["height"] == 40  # upright size
    detections = [{**a, "score": 1.0} for a in gold.dataset["annotations"]]
    evaluator = COCOeval(gold, gold.loadRes(detections), iouType="bbox")
    evaluator.evaluate()
    evaluator.accumulate()
    evaluator.summarize()
    assert evaluator.stats[1] == pytest.approx(1.0)  # AP at IoU 0.5

    got = read_boxes(out, "coco")
    assert set(got) == {"a.jpg", "turned.jpg", "sub/a.jpg"}
    for rec in records()[:3]:
        assert_same_boxes(got[rec.data["path"]], list(rec.label or ()))


def test_a_coco_file_of_another_tool_imports(tmp_path):
    make_image(tmp_path / "images" / "x.jpg", (100, 100))
    doc = {
        "images": [{"id": 7, "file_name": "images/x.jpg", "width": 100, "height": 100}],
        "annotations": [{"id": 1, "image_id": 7, "category_id": 3, "bbox": [1, 2, 30, 40]}],
        "categories": [{"id": 3, "name": "dog"}],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(doc))
    (rec,) = read_records(path, schema=box_schema())  # .json holding an object: COCO
    assert rec.data == {"path": "images/x.jpg", "media": "image"}
    assert rec.external_id == "images/x.jpg"
    assert list(rec.annotations[0].value) == [box(1.0, 2.0, 30.0, 40.0, "dog")]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"bbox": [1, 2, 3]}, "annotation 1: bbox must be"),
        ({"bbox": [1, 2, -3, 4]}, "annotation 1: box width and height must be positive"),
        ({"category_id": 9}, "annotation 1: category_id 9 is not in categories"),
    ],
)
def test_a_bad_coco_annotation_is_named(tmp_path, bad, message):
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], **bad}
    doc = {"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [ann],
           "categories": [{"id": 1, "name": "cat"}]}  # fmt: skip
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InvalidInput, match=message) as info:
        list(read_records(path, format="coco", schema=box_schema()))
    assert info.value.file == str(path)


@pytest.mark.parametrize("fmt", ["yolo", "voc"])
@pytest.mark.parametrize("zipped", [False, True])
def test_folder_formats_read_back_the_same_boxes(media, tmp_path, fmt, zipped):
    out = tmp_path / (f"{fmt}.zip" if zipped else fmt)
    assert write_records(records(), out, format=fmt, schema=box_schema(), media_root=media) == 3
    folder = out
    if zipped:
        folder = tmp_path / "unzipped"
        with zipfile.ZipFile(out) as zf:
            zf.extractall(folder)
    got = read_boxes(folder, fmt)
    assert len(got) == 3  # the two a.jpg were both kept
    images = "images" if fmt == "yolo" else "JPEGImages"
    by_name = {p.rsplit("/", 1)[-1]: b for p, b in got.items()}
    assert_same_boxes(by_name["a.jpg"], list(records()[0].label or ()))
    assert_same_boxes(by_name["turned.jpg"], list(records()[1].label or ()))
    assert by_name["3-a.jpg"] == []
    assert (folder / images / "turned.jpg").read_bytes() == (media / "turned.jpg").read_bytes()


def test_yolo_folder_layout_is_what_yolo_tools_read(media, tmp_path):
    out = tmp_path / "yolo"
    write_records(records(), out, format="yolo", schema=box_schema(), media_root=media)
    assert (out / "classes.txt").read_text().splitlines() == list(LABELS)
    import yaml

    data = yaml.safe_load((out / "data.yaml").read_text())
    assert data["names"] == list(LABELS) and data["nc"] == 3 and data["train"] == "images"
    # class cx cy w h, normalised by the upright size (60 x 40)
    (line,) = (out / "labels" / "turned.txt").read_text().splitlines()
    cls, cx, cy, w, h = line.split()
    assert cls == "2"
    assert [float(v) for v in (cx, cy, w, h)] == pytest.approx([30 / 60, 17 / 40, 50 / 60, 30 / 40])
    assert (out / "labels" / "3-a.txt").read_text() == ""


def test_voc_xml_has_the_pixel_corners(media, tmp_path):
    import xml.etree.ElementTree as ET

    out = tmp_path / "voc"
    write_records(records(), out, format="voc", schema=box_schema(), media_root=media)
    root = ET.parse(out / "Annotations" / "a.xml").getroot()
    assert root.findtext("filename") == "a.jpg"
    assert root.findtext("size/width") == "200"
    first = root.find("object")
    assert first is not None and first.findtext("name") == "cat"
    corners = [first.findtext(f"bndbox/{k}") for k in ("xmin", "ymin", "xmax", "ymax")]
    assert corners == ["10.25", "5.5", "60.375", "45.5"]


def test_yolo_reader_names_the_bad_label_line(tmp_path):
    make_image(tmp_path / "images" / "x.jpg", (10, 10))
    (tmp_path / "labels").mkdir()
    (tmp_path / "classes.txt").write_text("cat\ndog\n")
    (tmp_path / "labels" / "x.txt").write_text("0 0.5 0.5 0.2 0.2\n7 0.5 0.5 0.2 0.2\n")
    with pytest.raises(InvalidInput, match=r"x.txt line 2: class 7 is not one of the 2 classes"):
        list(read_records(tmp_path, schema=box_schema()))  # detected as a YOLO folder


def test_voc_reader_refuses_entities(tmp_path):
    (tmp_path / "Annotations").mkdir()
    (tmp_path / "Annotations" / "x.xml").write_text(
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "boom">]><annotation>'
        "<filename>&e;</filename></annotation>"
    )
    with pytest.raises(InvalidInput, match=r"x\.xml: not valid XML"):
        list(read_records(tmp_path, format="voc", schema=box_schema()))


def test_label_studio_rectangles_are_what_label_studio_sdk_reads(media, tmp_path):
    from label_studio_sdk.label_interface import LabelInterface

    from labelloop.services.data.formats import label_studio_config

    out = tmp_path / "ls.json"
    recs = records()
    suggestion = {"value": [{**box(1, 1, 20, 20, "dog"), "score": 0.75}], "pred_probs": [0.75],
                  "confidence": 0.75, "model_version": 3}  # fmt: skip
    recs[3] = ExportRecord(**{**recs[3].__dict__, "suggestion": suggestion})
    write_records(recs, out, format="labelstudio", schema=box_schema(), media_root=media)
    tasks = json.loads(out.read_text())
    config = label_studio_config(box_schema())
    assert "<RectangleLabels" in config
    li = LabelInterface(config)
    for task in tasks:
        for ann in task["annotations"]:
            assert li.validate_annotation(ann)
        for pred in task["predictions"]:
            assert li.validate_prediction(pred, return_errors=True) == []
    region = tasks[1]["annotations"][0]["result"][0]
    assert (region["original_width"], region["original_height"]) == (60, 40)
    assert region["value"]["x"] == pytest.approx(100 * 5 / 60)

    read = list(read_records(out, schema=box_schema()))
    for rec, want in zip(read[:3], recs[:3], strict=True):
        assert rec.data["path"] == want.data["path"]
        got = sorted(rec.annotations[0].value, key=lambda b: (b["x"], b["y"]))
        assert_same_boxes(got, list(want.label or ()))
    (prediction,) = read[3].predictions
    assert prediction.value[0]["score"] == pytest.approx(0.75)
    assert_same_boxes(list(prediction.value), suggestion["value"])


def test_box_formats_refuse_a_classification_project(media, tmp_path):
    schema = LabelSchema(task="image-classification", labels=LABELS)
    with pytest.raises(InvalidInput, match="the coco format holds boxes"):
        write_records([], tmp_path / "c.json", format="coco", schema=schema, media_root=media)
    with pytest.raises(InvalidInput, match="does not write boxes as csv"):
        write_records(records(), tmp_path / "c.csv", format="csv", schema=box_schema())


def test_a_failed_box_export_leaves_nothing(media, tmp_path):
    recs = [*records()[:2], record(9, "missing.jpg", [box(1, 1, 2, 2)])]
    before = sorted(p.name for p in tmp_path.iterdir())
    for fmt, name in (("coco", "c.json"), ("yolo", "y"), ("voc", "v.zip")):
        with pytest.raises(InvalidInput, match="item 9: image file not found"):
            write_records(recs, tmp_path / name, format=fmt, schema=box_schema(), media_root=media)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@st.composite
def boxes_in(draw: Any, size: tuple[int, int]) -> list[dict[str, Any]]:
    """Boxes inside a ``size`` (width, height) image, with fractional pixels."""
    width, height = size
    out: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(0, 4))):
        x = draw(st.floats(0, width - 1, allow_nan=False))
        y = draw(st.floats(0, height - 1, allow_nan=False))
        w = draw(st.floats(0.05, width - x, allow_nan=False))
        h = draw(st.floats(0.05, height - y, allow_nan=False))
        new = box(x, y, w, h, draw(st.sampled_from(LABELS)))
        if new not in out:  # an answer holds each box once
            out.append(new)
    return out


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), fmt=st.sampled_from(["coco", "yolo", "voc", "labelstudio"]))
def test_any_boxes_read_back_within_a_hundredth_of_a_pixel(media, tmp_path_factory, data, fmt):
    # the upright sizes of the fixture's images: a.jpg 200x100, turned.jpg 60x40
    first = data.draw(boxes_in((200, 100)))
    second = data.draw(boxes_in((60, 40)))
    recs = [record(1, "a.jpg", first), record(2, "turned.jpg", second)]
    out = tmp_path_factory.mktemp(fmt) / ("out.json" if fmt in ("coco", "labelstudio") else "out")
    write_records(recs, out, format=fmt, schema=box_schema(), media_root=media)
    got = read_boxes(out, fmt)  # the readers give the paths; the importer resolves them
    by_name = {p.rsplit("/", 1)[-1]: b for p, b in got.items()}
    for name, want in (("a.jpg", first), ("turned.jpg", second)):
        assert_same_boxes(by_name[name], want)


def test_label_studio_media_references_become_paths(tmp_path):
    result = [{"type": "rectanglelabels", "from_name": "label", "to_name": "image",
               "original_width": 100, "original_height": 50,
               "value": {"x": 10, "y": 20, "width": 50, "height": 40, "rotation": 0,
                         "rectanglelabels": ["dog"]}}]  # fmt: skip
    tasks = [
        {"id": 1, "data": {"image": "/data/local-files/?d=photos/a%20b.jpg"},
         "annotations": [{"result": result}]},
        {"id": 2, "data": {"image": "/data/upload/3/5f2e-x.jpg"}, "annotations": []},
    ]  # fmt: skip
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    first, second = read_records(path, schema=box_schema())
    assert first.data["path"] == "photos/a b.jpg" and second.data["path"] == "upload/3/5f2e-x.jpg"
    assert list(first.annotations[0].value) == [box(10.0, 10.0, 50.0, 20.0, "dog")]
    path.write_text(json.dumps([{"data": {"image": "https://example.org/a.jpg"}}]))
    with pytest.raises(InvalidInput, match="is a URL; labelloop imports local files") as caught:
        list(read_records(path, schema=box_schema()))
    assert caught.value.line == 1 and caught.value.field == "image"
