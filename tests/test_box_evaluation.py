"""``evaluate`` for image-boxes projects: the champion (the mapped detector, or a trained box
model) scored on an outside file of images with boxes, in the formats a box project imports.
Fake detector and box model (tests/boxes_fakes.py): the detector finds cats only, so its
mAP@0.5 is 0.5 on a file with cats and shoes; the box model learns both."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from boxes_fakes import SIZE, FakeBoxModel, box_image, fake_learning, image_set
from labelloop.errors import InvalidInput, NotFound
from labelloop.services.models import boxes as box_service
from labelloop.services.results import EvaluateResult

LABELS = ["cat", "shoe"]


@pytest.fixture
def ws(sqlite_workspace, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(box_service, "box_learning", fake_learning)
    FakeBoxModel.fits.clear()
    sqlite_workspace.create_project("det", labels=LABELS, task="image-boxes")
    image_set(tmp_path / "pool", 8)
    sqlite_workspace.import_file("det", tmp_path / "pool")
    return sqlite_workspace


def write_coco(path: Path, gold: dict[str, list[dict[str, Any]]], folder: str) -> Path:
    """A COCO detection file of ``gold`` (file name -> boxes), images under ``folder``."""
    images, annotations = [], []
    for k, (name, image_boxes) in enumerate(sorted(gold.items()), start=1):
        images.append({"id": k, "file_name": f"{folder}/{name}", "width": SIZE[0],
                       "height": SIZE[1]})  # fmt: skip
        for b in image_boxes:
            annotations.append(
                {"id": len(annotations) + 1, "image_id": k,
                 "category_id": LABELS.index(b["label"]) + 1,
                 "bbox": [b["x"], b["y"], b["w"], b["h"]], "area": b["w"] * b["h"], "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": i + 1, "name": label} for i, label in enumerate(LABELS)]
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return path


def write_yolo_zip(path: Path, gold: dict[str, list[dict[str, Any]]], images: Path) -> Path:
    """A YOLO zip (images/, labels/, classes.txt) of ``gold``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("classes.txt", "\n".join(LABELS) + "\n")
        for name, image_boxes in gold.items():
            z.write(images / name, f"images/{name}")
            lines = [
                f"{LABELS.index(b['label'])} {(b['x'] + b['w'] / 2) / SIZE[0]:.8f} "
                f"{(b['y'] + b['h'] / 2) / SIZE[1]:.8f} {b['w'] / SIZE[0]:.8f} "
                f"{b['h'] / SIZE[1]:.8f}"
                for b in image_boxes
            ]
            z.writestr(f"labels/{Path(name).stem}.txt", "\n".join(lines))
    return path


def _held_out(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    # 8 images not in the project: 4 cats and 4 shoes, in 2 cat-only, 2 shoe-only, 2 with
    # both and 2 empty images
    return image_set(tmp_path / "held" / "images", 8, seed=5)


def test_the_detector_is_scored_on_a_coco_file(ws, tmp_path):
    ws.train("det")
    gold = _held_out(tmp_path)
    result = ws.evaluate("det", write_coco(tmp_path / "held" / "eval.json", gold, "images"))
    assert result.n == 8 and result.model_version == 1
    assert result.accuracy is None and result.macro_f1 is None
    # every cat found exactly, no shoe: AP 1 and 0
    assert result.map50 == pytest.approx(0.5)
    assert result.per_class["cat"]["ap50"] == pytest.approx(1.0)
    assert result.per_class["shoe"]["ap50"] == pytest.approx(0.0)
    assert result.per_class["shoe"]["support"] == 4 and result.per_class["shoe"]["recall"] == 0
    # 4 of 8 gold boxes suggested, nothing extra: F1 = 2 * 4 / (4 + 8)
    assert result.box_f1 == pytest.approx(2 / 3)
    assert result.mean_iou == pytest.approx(1.0)
    # the cat-only and the empty images are exactly right
    assert result.images_exact == pytest.approx(0.5)
    dumped = result.model_dump(mode="json")
    assert "accuracy" not in dumped and dumped["map50"] == pytest.approx(0.5)


def test_a_trained_box_model_is_scored_on_a_yolo_zip(ws, tmp_path):
    ws.train("det")
    for item in ws.next_items("det", n=10, annotator=None):
        name = Path(item.data["path"]).name
        ws.submit("det", item.item_id, _pool_gold(tmp_path)[name], annotator="ann")
    trained = ws.train("det")
    assert trained.kind == "finetuned" and trained.promoted, trained.reason
    gold = _held_out(tmp_path)
    path = write_yolo_zip(tmp_path / "eval.zip", gold, tmp_path / "held" / "images")
    result = ws.evaluate("det", path)
    assert result.model_version == trained.model_version
    assert result.map50 == pytest.approx(1.0)
    assert result.box_f1 == pytest.approx(1.0) and result.images_exact == pytest.approx(1.0)


def _pool_gold(tmp_path: Path) -> dict[str, list[dict[str, Any]]]:
    return image_set(tmp_path / "pool", 8)  # rewrites the same images, returns their boxes


def test_a_jsonl_file_reads_boxes_from_its_label_field(ws, tmp_path):
    ws.train("det")
    gold = _held_out(tmp_path)
    path = tmp_path / "held" / "eval.jsonl"
    rows = [{"path": f"images/{name}", "boxes": b} for name, b in sorted(gold.items())]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = ws.evaluate("det", path, label_field="boxes")
    assert result.n == 8 and result.map50 == pytest.approx(0.5)


def test_bad_files_are_named_by_file_and_line(ws, tmp_path):
    ws.train("det")
    gold = _held_out(tmp_path)
    missing = dict(gold)
    missing["gone.png"] = []
    coco = write_coco(tmp_path / "held" / "missing.json", missing, "images")
    with pytest.raises(InvalidInput, match=r"missing\.json:1.*image file not found: images/gone"):
        ws.evaluate("det", coco)  # sorted: gone.png is image 1
    empty = {"e.png": box_image(tmp_path / "held" / "images" / "e.png", [], tag=77)}
    coco = write_coco(tmp_path / "held" / "empty.json", empty, "images")
    with pytest.raises(InvalidInput, match=r"empty\.json.*holds no boxes"):
        ws.evaluate("det", coco)
    path = tmp_path / "held" / "unlabelled.jsonl"
    path.write_text(json.dumps({"path": "images/img000.png"}) + "\n")
    with pytest.raises(InvalidInput, match=r"unlabelled\.jsonl:1.*has no boxes"):
        ws.evaluate("det", path)
    path.write_text(
        json.dumps({"path": "images/img000.png", "label": [{**gold["img000.png"][0],
                                                           "label": "bird"}]}) + "\n"
    )  # fmt: skip
    with pytest.raises(InvalidInput, match=r"unlabelled\.jsonl:1.*unknown label 'bird'"):
        ws.evaluate("det", path)


def test_a_bad_zip_member_is_named_inside_the_zip(ws, tmp_path):
    ws.train("det")
    gold = _held_out(tmp_path)
    path = write_yolo_zip(tmp_path / "eval.zip", gold, tmp_path / "held" / "images")
    with zipfile.ZipFile(path, "a") as z:
        z.writestr("images/extra.png", (tmp_path / "held" / "images" / "img000.png").read_bytes())
        z.writestr("labels/extra.txt", "0 0.5 0.5 0.2 0.2 0.9 0.9\n")  # a polygon
    with pytest.raises(InvalidInput) as refused:
        ws.evaluate("det", path)
    message = str(refused.value)  # the zip, not its temporary copy
    assert message.startswith(f"{path}:1") and "extra.txt line 1" in message, message
    assert "labelloop-evaluate-" not in message


def test_no_champion_is_not_found(ws, tmp_path):
    gold = _held_out(tmp_path)
    with pytest.raises(NotFound, match="no trained model"):
        ws.evaluate("det", write_coco(tmp_path / "held" / "eval.json", gold, "images"))


def test_a_classification_result_keeps_its_json_shape():
    result = EvaluateResult(accuracy=0.5, macro_f1=0.4, n=2, model_version=1)
    assert set(result.model_dump(mode="json")) == {
        "accuracy", "macro_f1", "n", "model_version", "per_class",
    }  # fmt: skip
    published = EvaluateResult.model_json_schema(mode="serialization")["properties"]
    assert {"accuracy", "map50", "images_exact", "per_class"} <= set(published)  # REST spec


def test_the_cli_prints_box_scores(ws, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from labelloop.cli import app

    ws.train("det")
    monkeypatch.setenv("LABELLOOP_WORKSPACE", str(ws.path))
    gold = _held_out(tmp_path)
    coco = write_coco(tmp_path / "held" / "eval.json", gold, "images")
    runner = CliRunner()
    res = runner.invoke(app, ["evaluate", "det", str(coco), "--format", "coco", "--json"])
    assert res.exit_code == 0, res.output
    shown = json.loads(res.stdout)
    assert shown["map50"] == pytest.approx(0.5) and shown["images_exact"] == pytest.approx(0.5)
    assert "accuracy" not in shown
    res = runner.invoke(app, ["evaluate", "det", str(coco)])
    assert res.exit_code == 0, res.output
    assert "mAP@0.5 0.5000" in res.output and "images exactly right 50.0%" in res.output
    assert "shoe" in res.output


def test_the_rest_route_scores_an_uploaded_zip(ws, tmp_path):
    from fastapi.testclient import TestClient

    from labelloop.server import ServerSettings, create_app
    from labelloop.services import users

    ws.train("det")
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    auth = {"Authorization": f"Bearer {users.create_token(ws, 'root')}"}
    gold = _held_out(tmp_path)
    path = write_yolo_zip(tmp_path / "eval.zip", gold, tmp_path / "held" / "images")
    app = create_app(ws, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        upload = {"file": ("eval.zip", path.read_bytes())}
        r = client.post("/api/v1/projects/det/evaluate", headers=auth, files=upload)
    assert r.status_code == 200, r.text
    assert r.json() == ws.evaluate("det", path).model_dump(mode="json")
    assert r.json()["map50"] == pytest.approx(0.5) and "accuracy" not in r.json()


def test_the_server_reads_no_image_outside_its_media_roots(ws, tmp_path):
    from fastapi.testclient import TestClient

    from labelloop.server import ServerSettings, create_app
    from labelloop.services import users

    ws.train("det")
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    auth = {"Authorization": f"Bearer {users.create_token(ws, 'root')}"}
    gold = _held_out(tmp_path)  # images outside the workspace's media root
    outside = [{"path": str(tmp_path / "held" / "images" / n), "label": b} for n, b in gold.items()]
    escaping = [{"path": f"../../held/images/{n}", "label": b} for n, b in gold.items()]
    app = create_app(ws, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        for rows in (outside, escaping):
            body = "".join(json.dumps(r) + "\n" for r in rows).encode()
            upload = {"file": ("eval.jsonl", body)}
            r = client.post("/api/v1/projects/det/evaluate", headers=auth, files=upload)
            assert r.status_code == 422, r.text
            error = r.json()["error"]
            assert "folders this server may read" in error["message"]
            assert error["line"] == 1 and error["field"] == "path"
    # a local caller may name any file it can read
    local = tmp_path / "outside.jsonl"
    local.write_text("".join(json.dumps(r) + "\n" for r in outside))
    assert ws.evaluate("det", local).n == 8
