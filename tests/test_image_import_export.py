"""Image imports (folder, zip, CSV/JSONL of paths under a media root; bad files refused or
skipped by name, nothing half-written) and image exports checked by their consumers: class
folders, Hugging Face ``Image`` columns, Label Studio over ``<Image>``, and every box format
read back into a project with the same boxes."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelloop.errors import InvalidInput
from labelloop.services.data.importing import ImportOptions
from test_image_classification import BACKBONE, ByteHistogramEncoder

PIL = pytest.importorskip("PIL.Image")


@pytest.fixture
def ws(workspace):
    """A workspace with an image-classification project ``pets`` (cat, dog)."""
    from labelloop.backbones import BackboneInfo, register_backbone
    from labelloop.backbones._registry import unregister_backbone
    from labelloop.schema import Modality

    info = BackboneInfo(BACKBONE, Modality.IMAGE, 16, description="byte histogram, tests only")
    register_backbone(info, ByteHistogramEncoder, replace=True)
    workspace.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=BACKBONE
    )
    yield workspace
    unregister_backbone(BACKBONE)


def image_bytes(seed: int, size: tuple[int, int] = (24, 16), fmt: str = "PNG") -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    PIL.fromarray(pixels).save(out, format=fmt)
    return out.getvalue()


def write_image(path: Path, seed: int, size: tuple[int, int] = (24, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else "PNG"
    path.write_bytes(image_bytes(seed, size, fmt))
    return path


def pets_folder(root: Path, n: int = 2) -> Path:
    for i in range(n):
        write_image(root / "cat" / f"c{i}.png", seed=i)
        write_image(root / "dog" / f"d{i}.jpg", seed=100 + i)
    return root


def bad_files(root: Path) -> dict[str, str]:
    """One bad file of each kind in ``root/cat``, and the words its error carries."""
    cat = root / "cat"
    (cat / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    whole = image_bytes(7, (64, 64), "JPEG")
    (cat / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    (cat / "scan.tif").write_bytes(b"II*\x00")
    write_image(cat / "huge.png", seed=9, size=(400, 400))
    return {
        "corrupt.png": "corrupt or truncated",
        "truncated.jpg": "corrupt or truncated",
        "scan.tif": "unsupported file type .tif",
        "huge.png": "over the limit",
    }


def n_items(ws: Any, project: str = "pets") -> int:
    return ws.status(project).items


def exported(ws: Any, tmp_path: Path, project: str = "pets") -> list[dict[str, Any]]:
    out = tmp_path / f"{project}-snapshot.jsonl"
    ws.export(project, out, format="jsonl")
    return [json.loads(line) for line in out.read_text().splitlines()]


# -- bad files ----------------------------------------------------------------------------------


def test_bad_files_refuse_the_whole_import_by_default_naming_each(ws, tmp_path):
    folder = pets_folder(tmp_path / "pets")
    reasons = bad_files(folder)
    with pytest.raises(InvalidInput) as caught:
        ws.import_file(
            "pets", folder, ImportOptions(labels_from_subfolders=True, max_media_bytes=20_000)
        )
    problems = [caught.value, *caught.value.also]
    assert all(p.file == str(folder) and p.field == "path" for p in problems)
    for name, why in reasons.items():  # each named, with its reason and its file number
        assert any(name in p.reason and why in p.reason and p.line for p in problems), name
    assert n_items(ws) == 0  # nothing half-written


def test_skip_imports_the_good_files_and_lists_the_bad_with_reasons(ws, tmp_path):
    folder = pets_folder(tmp_path / "pets")
    reasons = bad_files(folder)
    opts = ImportOptions(labels_from_subfolders=True, max_media_bytes=20_000, on_bad_file="skip")
    result = ws.import_file("pets", folder, opts)
    assert result.items_added == 4 and result.annotations_added == 4
    skipped = {Path(s.file).name: s.reason for s in result.skipped}
    assert set(skipped) == set(reasons)
    for name, why in reasons.items():
        assert why in skipped[name]
    # a skipping import is not recorded as done: fixed files import on the next run
    (folder / "cat" / "corrupt.png").write_bytes(image_bytes(55))
    again = ws.import_file("pets", folder, opts)
    assert again.items_added == 1 and len(again.skipped) == 3


def test_an_unknown_choice_is_refused_by_name(ws, tmp_path):
    with pytest.raises(InvalidInput, match="unknown on_bad_file 'ignore'"):
        ws.import_file("pets", pets_folder(tmp_path / "p"), ImportOptions(on_bad_file="ignore"))


# -- zip ----------------------------------------------------------------------------------------


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def pets_zip(path: Path, **extra: bytes) -> Path:
    members = {
        "pets/cat/a.png": image_bytes(1),
        "pets/dog/b.png": image_bytes(2),
        "pets/README.txt": b"not an image",
        "__MACOSX/pets/._a.png": b"resource fork",
        **extra,
    }
    return make_zip(path, members)


def test_a_zip_is_extracted_into_the_media_root_and_imported(ws, tmp_path):
    archive = pets_zip(tmp_path / "pets.zip")
    result = ws.import_file("pets", archive, ImportOptions(labels_from_subfolders=True))
    assert (result.items_added, result.annotations_added) == (2, 2)
    assert result.file == str(archive) and result.format == "zip/folder"
    rows = exported(ws, tmp_path)
    paths = sorted(r["path"] for r in rows)
    # stored relative to the media root: the workspace keeps the files, the zip may go
    assert all(p.startswith("imports/") and p.endswith(("cat/a.png", "dog/b.png")) for p in paths)
    assert all((ws.media_root / p).is_file() for p in paths)
    assert {r["label"] for r in rows} == {"cat", "dog"}
    again = ws.import_file("pets", archive, ImportOptions(labels_from_subfolders=True))
    assert again.already_imported


def test_a_zip_holding_a_csv_imports_its_rows_with_the_files_beside_it(ws, tmp_path):
    rows = b"path,label\nimg/a.png,cat\nimg/b.png,dog\n"
    archive = make_zip(
        tmp_path / "rows.zip",
        {"rows.csv": rows, "img/a.png": image_bytes(1), "img/b.png": image_bytes(2)},
    )
    result = ws.import_file("pets", archive, ImportOptions(label_field="label"))
    assert (result.items_added, result.annotations_added) == (2, 2)


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../evil.png", "points outside the folder"),
        ("/etc/evil.png", "points outside the folder"),
        ("pets/../../evil.png", "points outside the folder"),
    ],
)
def test_a_zip_that_would_leave_its_folder_is_refused_before_writing(ws, tmp_path, member, why):
    archive = pets_zip(tmp_path / "evil.zip", **{member: image_bytes(3)})
    with pytest.raises(InvalidInput, match=why) as caught:
        ws.import_file("pets", archive)
    assert caught.value.file == str(archive)
    assert not (ws.media_root / "imports").exists() or not any(
        (ws.media_root / "imports").iterdir()
    )
    assert not (tmp_path / "evil.png").exists() and n_items(ws) == 0


def test_a_zip_link_and_a_zip_bomb_are_refused(ws, tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        info = zipfile.ZipInfo("pets/link.png")
        info.external_attr = (0o120777 << 16) | 0
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(InvalidInput, match="is a symlink"):
        ws.import_file("pets", archive)
    bomb = make_zip(tmp_path / "bomb.zip", {"pets/a.png": b"\x00" * 5_000_000})
    with pytest.raises(InvalidInput, match="5000000 bytes uncompressed, over the limit"):
        ws.import_file("pets", bomb, ImportOptions(max_zip_bytes=1_000_000))
    not_zip = tmp_path / "fake.zip"
    not_zip.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InvalidInput, match="not a readable zip file"):
        ws.import_file("pets", not_zip)


def test_a_refused_zip_import_leaves_no_extracted_files(ws, tmp_path):
    archive = pets_zip(tmp_path / "bad.zip", **{"pets/cat/broken.png": b"\x89PNG broken"})
    with pytest.raises(InvalidInput, match=r"broken\.png") as caught:
        ws.import_file("pets", archive, ImportOptions(labels_from_subfolders=True))
    assert str(archive) in str(caught.value)  # named by the zip, not its extracted copy
    assert n_items(ws) == 0
    assert not any((ws.media_root / "imports").iterdir())
    skipping = ImportOptions(labels_from_subfolders=True, on_bad_file="skip")
    result = ws.import_file("pets", archive, skipping)
    assert result.items_added == 2 and [Path(s.file).name for s in result.skipped] == ["broken.png"]


# -- CSV / JSONL of paths -----------------------------------------------------------------------


def test_csv_rows_name_images_relative_to_the_media_root_given(ws, tmp_path):
    pics = tmp_path / "pictures"
    write_image(pics / "2024" / "a.png", 1)
    write_image(pics / "b.jpg", 2)
    table = tmp_path / "lists" / "labels.csv"
    table.parent.mkdir()
    with table.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([["path", "label", "note"], ["2024/a.png", "cat", "x"], ["b.jpg", "", ""]])
    opts = ImportOptions(label_field="label", media_dir=str(pics))
    result = ws.import_file("pets", table, opts)
    assert (result.items_added, result.annotations_added) == (2, 1)
    rows = {Path(r["path"]).name: r for r in exported(ws, tmp_path)}
    assert rows["a.png"]["label"] == "cat" and rows["b.jpg"]["label"] is None
    assert rows["a.png"]["meta"] == {"note": "x"}


def test_jsonl_rows_with_a_missing_file_are_named_by_line(ws, tmp_path):
    pics = tmp_path / "pictures"
    write_image(pics / "a.png", 1)
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        json.dumps({"file": "a.png", "label": "cat"})
        + "\n"
        + json.dumps({"file": "gone.png", "label": "dog"})
        + "\n"
    )
    opts = ImportOptions(label_field="label", media_dir=str(pics), path_field="file")
    with pytest.raises(InvalidInput, match=r"no such media file: gone\.png") as caught:
        ws.import_file("pets", rows, opts)
    assert caught.value.line == 2 and caught.value.file == str(rows)
    assert n_items(ws) == 0
    skipped = ws.import_file(
        "pets", rows, ImportOptions(**{**opts.__dict__, "on_bad_file": "skip"})
    )
    assert skipped.items_added == 1 and skipped.skipped[0].line == 2


# -- classification exports ---------------------------------------------------------------------


@pytest.mark.parametrize("zipped", [False, True])
def test_class_folders_export_reimports_with_the_same_labels(ws, tmp_path, zipped):
    ws.import_file(
        "pets", pets_folder(tmp_path / "pets"), ImportOptions(labels_from_subfolders=True)
    )
    out = tmp_path / ("folders.zip" if zipped else "folders")
    assert ws.export("pets", out, format="folders").rows == 4
    folder = out
    if zipped:
        folder = tmp_path / "unzipped"
        with zipfile.ZipFile(out) as zf:
            zf.extractall(folder)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "cat/c0.png", "cat/c1.png", "dog/d0.jpg", "dog/d1.jpg",
    ]  # fmt: skip
    ws.create_project("again", labels="cat,dog", task="image-classification", backbone=BACKBONE)
    ws.import_file("again", folder, ImportOptions(labels_from_subfolders=True))
    by_hash = {r["content_hash"]: r["label"] for r in exported(ws, tmp_path)}
    assert {r["content_hash"]: r["label"] for r in exported(ws, tmp_path, "again")} == by_hash


def test_hf_export_has_an_image_feature_that_datasets_decodes(ws, tmp_path):
    datasets = pytest.importorskip("datasets")
    ws.import_file(
        "pets", pets_folder(tmp_path / "pets"), ImportOptions(labels_from_subfolders=True)
    )
    out = tmp_path / "hf"
    ws.export("pets", out, format="hf")
    ds = datasets.load_from_disk(str(out))
    assert isinstance(ds.features["image"], datasets.Image)
    row = next(r for r in ds if r["path"].endswith("c0.png"))
    assert row["image"].size == (24, 16)  # decoded by datasets from the bytes it holds
    assert ds.features["label"].int2str(row["label"]) == "cat"


def test_label_studio_choices_over_image_are_what_label_studio_sdk_reads(ws, tmp_path):
    from label_studio_sdk.label_interface import LabelInterface

    ws.import_file(
        "pets", pets_folder(tmp_path / "pets"), ImportOptions(labels_from_subfolders=True)
    )
    tasks_file, config_file = tmp_path / "tasks.json", tmp_path / "config.xml"
    ws.export("pets", tasks_file, format="labelstudio")
    ws.export("pets", config_file, format="label-studio-config")
    li = LabelInterface(config_file.read_text())
    assert {o.tag for o in li.objects} == {"Image"}
    tasks = json.loads(tasks_file.read_text())
    assert {t["data"]["image"] for t in tasks} == {
        r["path"] for r in exported(ws, tmp_path)
    }  # the <Image> reads $image: the file's path under the media root
    for task in tasks:
        for ann in task["annotations"]:
            assert li.validate_annotation(ann)


def test_csv_and_jsonl_exports_reimport_under_the_media_root(ws, tmp_path):
    ws.import_file(
        "pets", pets_folder(ws.media_root / "batch"), ImportOptions(labels_from_subfolders=True)
    )
    want = {r["content_hash"]: r["label"] for r in exported(ws, tmp_path)}
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"pets.{fmt}"
        ws.export("pets", out)
        project = f"from-{fmt}"
        ws.create_project(project, labels="cat,dog", task="image-classification", backbone=BACKBONE)
        opts = ImportOptions(label_field="label", media_dir=str(ws.media_root))
        assert ws.import_file(project, out, opts).items_added == 4
        got = {r["content_hash"]: r["label"] for r in exported(ws, tmp_path, project)}
        assert got == want


# -- boxes ---------------------------------------------------------------------------------------

BOX_LABELS = ["cat", "dog"]


def box_project(ws: Any, tmp_path: Path, name: str = "det") -> dict[str, list[dict[str, Any]]]:
    """A box project imported from a COCO file; returns file name -> its boxes."""
    pics = tmp_path / "coco"
    sizes = {"a.png": (80, 60), "b.jpg": (50, 70), "c.png": (40, 40)}
    for i, (file, size) in enumerate(sizes.items()):
        write_image(pics / file, seed=i, size=size)
    boxes = {
        "a.png": [[10.5, 4.25, 30.0, 20.125, 1], [40, 30, 39.5, 29.5, 2]],
        "b.jpg": [[0, 0, 50, 70, 2]],
        "c.png": [],
    }
    doc = {
        "images": [{"id": i, "file_name": f} for i, f in enumerate(sizes, start=1)],
        "annotations": [
            {"id": 10 * i + k, "image_id": i, "category_id": b[4], "bbox": b[:4]}
            for i, f in enumerate(sizes, start=1)
            for k, b in enumerate(boxes[f])
        ],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
    }
    (pics / "instances.json").write_text(json.dumps(doc))
    ws.create_project(name, labels=BOX_LABELS, task="image-boxes")
    result = ws.import_file(name, pics / "instances.json", ImportOptions(annotator="ann"))
    assert (result.items_added, result.annotations_added) == (3, 3)
    return {
        f: [{"x": b[0], "y": b[1], "w": b[2], "h": b[3], "label": BOX_LABELS[b[4] - 1]} for b in bs]
        for f, bs in boxes.items()
    }


def boxes_by_hash(ws: Any, tmp_path: Path, project: str) -> dict[str, list[dict[str, Any]]]:
    return {
        r["content_hash"]: sorted(r["label"], key=lambda b: (b["x"], b["y"]))
        for r in exported(ws, tmp_path, project)
        if r["label"] is not None
    }


@pytest.mark.parametrize(
    ("fmt", "name"),
    [("coco", "out.json"), ("yolo", "yolo"), ("yolo", "yolo.zip"), ("voc", "voc"),
     ("voc", "voc.zip"), ("labelstudio", "ls.json"), ("jsonl", "rows.jsonl")],
)  # fmt: skip
def test_box_exports_import_back_with_the_same_boxes(sqlite_workspace, tmp_path, fmt, name):
    ws = sqlite_workspace
    box_project(ws, tmp_path)
    want = boxes_by_hash(ws, tmp_path, "det")
    assert sorted(len(b) for b in want.values()) == [0, 1, 2]
    out = tmp_path / name
    assert ws.export("det", out, format=fmt).rows == 3
    ws.create_project("back", labels=BOX_LABELS, task="image-boxes")
    # COCO, Label Studio and JSONL name the images relative to the workspace's media root;
    # the folder formats hold their images
    opts = ImportOptions(label_field="label") if fmt == "jsonl" else ImportOptions()
    if fmt in ("coco", "labelstudio", "jsonl"):
        opts = ImportOptions(**{**opts.__dict__, "media_dir": str(tmp_path / "coco")})
    result = ws.import_file("back", out, opts)
    assert result.items_added == 3
    got = boxes_by_hash(ws, tmp_path, "back")
    assert set(got) == set(want)
    for digest, boxes in want.items():
        assert [b["label"] for b in got[digest]] == [b["label"] for b in boxes]
        for g, w in zip(got[digest], boxes, strict=True):
            for key in ("x", "y", "w", "h"):
                assert g[key] == pytest.approx(w[key], abs=0.01)


def test_a_box_outside_its_image_is_refused_naming_the_box(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    pics = tmp_path / "pics"
    write_image(pics / "images" / "x.png", 1, size=(20, 20))
    (pics / "labels").mkdir()
    (pics / "classes.txt").write_text("cat\ndog\n")
    # centre 0.9, width 0.6: the box reaches 1.2 x 20 = 24 px, 4 px past the right edge
    (pics / "labels" / "x.txt").write_text("0 0.9 0.5 0.6 0.2\n")
    ws.create_project("det", labels=BOX_LABELS, task="image-boxes")
    with pytest.raises(InvalidInput, match="box 0") as caught:
        ws.import_file("det", pics)
    assert caught.value.line == 1
    assert ws.status("det").items == 0


# -- CLI ----------------------------------------------------------------------------------------


@pytest.mark.slow  # four CLI processes
def test_the_cli_imports_a_zip_skipping_bad_files_and_exports_coco(tmp_path):
    from test_cli import run

    home = tmp_path / "ws"
    run(home, "project", "create", "det", "--labels", "cat,dog", "--task", "image-boxes")
    pics = tmp_path / "pics"
    write_image(pics / "images" / "a.png", 1, size=(40, 20))
    write_image(pics / "images" / "b.png", 2, size=(40, 20))
    (pics / "images" / "c.png").write_bytes(b"\x89PNG cut")
    (pics / "labels").mkdir()
    (pics / "labels" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (pics / "classes.txt").write_text("cat\ndog\n")
    archive = make_zip(
        tmp_path / "yolo.zip",
        {p.relative_to(pics).as_posix(): p.read_bytes() for p in pics.rglob("*") if p.is_file()},
    )
    refused = run(home, "import", "det", str(archive), check=False)
    assert refused.returncode == 2 and "c.png" in refused.stderr
    imported = json.loads(
        run(home, "import", "det", str(archive), "--on-bad-file", "skip", "--json").stdout
    )
    assert imported["format"] == "zip/yolo" and imported["items_added"] == 2
    assert [Path(s["file"]).name for s in imported["skipped"]] == ["c.png"]
    out = tmp_path / "det.json"
    run(home, "export", "det", str(out), "--format", "coco")
    doc = json.loads(out.read_text())
    assert [a["bbox"] for a in doc["annotations"]] == [[10.0, 5.0, 20.0, 10.0]]
    assert doc["categories"][doc["annotations"][0]["category_id"] - 1]["name"] == "dog"


def test_hf_export_of_boxes_has_the_image_and_its_objects(sqlite_workspace, tmp_path):
    datasets = pytest.importorskip("datasets")
    ws = sqlite_workspace
    want = box_project(ws, tmp_path)
    out = tmp_path / "det_hf"
    ws.export("det", out, format="hf")
    ds = datasets.load_from_disk(str(out))
    names = ds.features["objects"]["category"].feature.names  # a Sequence of dicts: lists
    assert names == BOX_LABELS
    for row in ds:
        file = Path(row["path"]).name
        assert row["image"].size == {"a.png": (80, 60), "b.jpg": (50, 70), "c.png": (40, 40)}[file]
        got = sorted(zip(row["objects"]["bbox"], row["objects"]["category"], strict=True))
        expected = sorted(([b["x"], b["y"], b["w"], b["h"]], b["label"]) for b in want[file])
        assert [names[c] for _, c in got] == [label for _, label in expected]
        for (bbox, _), (box, _) in zip(got, expected, strict=True):
            assert bbox == pytest.approx(box, abs=0.01)


def test_an_hf_export_of_images_imports_back_by_path(ws, tmp_path):
    pytest.importorskip("datasets")
    ws.import_file(
        "pets", pets_folder(ws.media_root / "batch"), ImportOptions(labels_from_subfolders=True)
    )
    out = tmp_path / "pets_hf"
    ws.export("pets", out, format="hf")
    ws.create_project("again", labels="cat,dog", task="image-classification", backbone=BACKBONE)
    assert (
        ws.import_file("again", out, ImportOptions(media_dir=str(ws.media_root))).items_added == 4
    )
    want = {r["content_hash"]: r["label"] for r in exported(ws, tmp_path)}
    assert {r["content_hash"]: r["label"] for r in exported(ws, tmp_path, "again")} == want


def test_a_corrupt_image_with_a_yolo_label_file_is_skipped_or_refused(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    pics = tmp_path / "yolo"
    write_image(pics / "images" / "good.png", 1, size=(20, 20))
    (pics / "images" / "cut.png").write_bytes(image_bytes(2)[:40])
    (pics / "labels").mkdir()
    for name in ("good", "cut"):
        (pics / "labels" / f"{name}.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (pics / "classes.txt").write_text("cat\ndog\n")
    ws.create_project("det", labels=BOX_LABELS, task="image-boxes")
    with pytest.raises(InvalidInput, match=r"images/cut\.png: not an image file"):
        ws.import_file("det", pics)
    result = ws.import_file("det", pics, ImportOptions(on_bad_file="skip"))
    assert result.items_added == 1 and [s.file for s in result.skipped] == ["images/cut.png"]


def test_imported_box_predictions_become_suggestions_with_their_scores(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    write_image(tmp_path / "a.png", 1, size=(100, 50))
    region = {"type": "rectanglelabels", "from_name": "label", "to_name": "image",
              "original_width": 100, "original_height": 50, "score": 0.8,
              "value": {"x": 10, "y": 20, "width": 30, "height": 40, "rotation": 0,
                        "rectanglelabels": ["dog"]}}  # fmt: skip
    second = {**region, "score": 0.6, "value": {**region["value"], "x": 50}}
    tasks = [{"data": {"image": "a.png"}, "predictions": [{"result": [region, second]}]}]
    (tmp_path / "ls.json").write_text(json.dumps(tasks))
    ws.create_project("det", labels=BOX_LABELS, task="image-boxes")
    assert ws.import_file("det", tmp_path / "ls.json").suggestions_added == 1
    (row,) = exported(ws, tmp_path, "det")
    suggestion = row["suggestion"]
    assert [b["score"] for b in suggestion["value"]] == [0.8, 0.6]
    assert suggestion["pred_probs"] == [0.8, 0.6] and suggestion["confidence"] == 0.6
    assert suggestion["value"][0]["x"] == pytest.approx(10.0)
