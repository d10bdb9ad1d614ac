"""The loop for an image-boxes project through the Workspace API: the mapped detector suggests
before any label, people correct, a box model learns the class the detector lacks and replaces
it only when better on held-out images; suggestions carry scored boxes, the queue is ranked by
box uncertainty. Fake detector and box model (tests/boxes_fakes.py): the loop is the point."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxes_fakes import FakeBoxModel, fake_learning, image_set
from labelloop.errors import InvalidInput
from labelloop.services.models import boxes as box_service


@pytest.fixture
def project(workspace, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(box_service, "box_learning", fake_learning)
    FakeBoxModel.fits.clear()
    gold = image_set(tmp_path / "images", 16)
    workspace.create_project("det", labels=["cat", "shoe"], task="image-boxes")
    workspace.import_file("det", tmp_path / "images")
    return workspace, gold


def _items(ws):
    items = ws.next_items("det", n=100, annotator=None)
    return {Path(i.data["path"]).name: i for i in items}


def _label(ws, gold, names):
    by_name = _items(ws)
    for name in names:
        ws.submit("det", by_name[name].item_id, gold[name], annotator="ann")


def test_the_detector_suggests_its_mapped_classes_before_any_label(project):
    ws, gold = project
    result = ws.train("det")
    assert result.kind == "pretrained" and result.promoted
    ws.predict("det")
    items = _items(ws)
    cat_only = items["img000.png"].suggestion
    assert [b["label"] for b in cat_only.value] == ["cat"]
    box = cat_only.value[0]
    assert {k: box[k] for k in ("x", "y", "w", "h")} == {
        k: gold["img000.png"][0][k] for k in ("x", "y", "w", "h")
    }
    assert box["score"] == pytest.approx(0.9)
    assert items["img001.png"].suggestion.value == []  # a shoe: the detector has no such class


def test_corrections_teach_the_new_class_and_the_model_is_promoted_on_held_out_images(project):
    ws, gold = project
    ws.train("det")
    _label(ws, gold, [f"img{i:03d}.png" for i in range(8)])
    result = ws.train("det")
    assert result.kind == "finetuned" and result.promoted, result.reason
    assert result.metrics["map50"] == pytest.approx(1.0)
    # three folds, then the refit on all eight images
    assert sorted(FakeBoxModel.fits[:3]) == [5, 5, 6] and FakeBoxModel.fits[3:] == [8]
    ws.predict("det")
    shoe = _items(ws)["img009.png"].suggestion
    assert [b["label"] for b in shoe.value] == ["shoe"]
    models = ws.models("det")
    assert models[-1].metrics["candidates"]["mediapipe-ssd"]["map50"] < 1.0


def test_a_model_no_better_than_the_champion_is_kept_as_a_challenger(project):
    ws, gold = project
    ws.train("det")
    _label(ws, gold, [f"img{i:03d}.png" for i in range(8)])
    first = ws.train("det")
    _label(ws, gold, [f"img{i:03d}.png" for i in range(8, 12)])
    second = ws.train("det")
    assert first.promoted and not second.promoted
    assert "kept the champion" in second.reason and "on 4 new images" in second.reason


def test_few_labels_keep_the_detector(project):
    ws, gold = project
    ws.train("det")
    _label(ws, gold, ["img000.png", "img001.png"])
    result = ws.train("det")
    assert not result.promoted and "too few" in result.reason
    assert FakeBoxModel.fits == []


def test_the_type_map_maps_detector_classes_and_bad_ones_are_named(project):
    ws, _ = project
    ws.update_project("det", type_map={"Footwear": "shoe"})
    assert ws.project("det").type_map == {"Footwear": "shoe"}
    ws.train("det")
    assert ws.models("det")[-1].params["mapping"] == {"Cat": "cat", "Footwear": "shoe"}
    ws.update_project("det", type_map={"Sock": "shoe"})
    with pytest.raises(InvalidInput, match="'Sock' is not one of the detector's classes"):
        ws.train("det")


def test_the_queue_puts_uncertain_images_first(project):
    ws, _ = project
    ws.train("det")
    ws.predict("det")
    items = ws.next_items("det", n=16, annotator=None)
    # every candidate scores 0.9 (uncertainty 0.1) and images without any score 0: cats first
    first = [b["label"] for b in items[0].suggestion.value]
    assert first == ["cat"]
    assert items[-1].suggestion.value == []
    with pytest.raises(InvalidInput, match="strategy 'mnlp' does not apply"):
        ws.update_project("det", settings={"strategy": "mnlp"})
