"""Quality of an image-boxes project through the Workspace API: agreement and gold by matched
IoU, label issues from cleanlab's object-detection module in the review queue, and auto-accept
of whole images on out-of-fold image-level evidence. Fake detector and box model
(tests/boxes_fakes.py); the real database."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxes_fakes import FakeBoxModel, fake_learning, image_set
from labelloop.errors import InvalidInput, PoolExhausted
from labelloop.services import stats
from labelloop.services.models import boxes as box_service


@pytest.fixture
def project(workspace, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(box_service, "box_learning", fake_learning)
    FakeBoxModel.fits.clear()
    gold = image_set(tmp_path / "images", 40)
    workspace.create_project("det", labels=["cat", "shoe"], task="image-boxes")
    workspace.import_file("det", tmp_path / "images")
    items = workspace.next_items("det", n=100, annotator=None)
    ids = {Path(i.data["path"]).name: i.item_id for i in items}
    return workspace, gold, ids


def _shifted(boxes, dx):
    return [{**b, "x": b["x"] + dx} for b in boxes]


def test_agreement_is_box_f1_and_mean_iou(project):
    ws, gold, ids = project
    for name in ("img000.png", "img001.png", "img002.png"):
        ws.submit("det", ids[name], gold[name], annotator="ann")
    ws.submit("det", ids["img000.png"], _shifted(gold["img000.png"], 2), annotator="bob")
    ws.submit("det", ids["img001.png"], [], annotator="bob")  # bob missed the shoe
    ws.submit("det", ids["img002.png"], gold["img002.png"], annotator="bob")
    agreement = ws.qa_report("det").agreement
    assert agreement.kind == "boxes" and agreement.n_items == 3
    # ann drew 4 boxes, bob 3; 3 matched (img000's at IoU 10*12/(14*12)): F1 = 6 / 7
    assert agreement.exact_f1 == pytest.approx(6 / 7, abs=1e-4)
    assert agreement.mean_iou == pytest.approx((10 / 14 + 2) / 3, abs=1e-4)
    assert agreement.percent_agreement == pytest.approx(2 / 3, abs=1e-4)
    assert agreement.n_disagreements == 1
    assert agreement.pairs[0].mean_iou == agreement.mean_iou
    board = stats.dashboard(ws, "det")  # the dashboard's figure is the same box F1
    assert board.agreement_measure == "box F1"
    assert board.agreement == pytest.approx(6 / 7)


def test_gold_images_are_scored_by_matched_boxes(project):
    ws, gold, ids = project
    for name in ("img000.png", "img002.png"):
        ws.set_gold("det", ids[name], gold[name])
    ws.submit("det", ids["img000.png"], gold["img000.png"], annotator="ann")
    ws.submit("det", ids["img002.png"], gold["img002.png"][:1], annotator="ann")
    summary = ws.qa_report("det").gold
    (ann,) = summary.annotators
    assert (ann.n, ann.n_correct) == (2, 1)  # an image counts only when all its boxes match
    assert ann.exact_f1 == pytest.approx(2 * 2 / (2 + 3), abs=1e-4)
    assert summary.mean_iou == pytest.approx(1.0)


def test_gold_boxes_import_from_a_csv_with_json_cells_checked_against_the_image(project, tmp_path):
    import csv
    import json

    ws, gold, ids = project
    path = tmp_path / "gold.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerow(["img000.png", json.dumps(gold["img000.png"])])
        writer.writerow(["img001.png", "[]"])
    assert ws.import_gold("det", path).gold_set == 2
    stored = {g.item_id: g.gold for g in ws.gold("det")}
    assert stored == {ids["img000.png"]: gold["img000.png"], ids["img001.png"]: []}
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "label"])
        writer.writerow(
            ["img002.png", json.dumps([{"x": 60, "y": 0, "w": 10, "h": 5, "label": "cat"}])]
        )
    with pytest.raises(InvalidInput, match=r"box 0 .* outside the 64 x 48 image") as info:
        ws.import_gold("det", path)
    assert info.value.line == 2


def test_a_missing_box_is_a_label_issue_in_the_review_queue(project):
    ws, gold, ids = project
    ws.train("det")
    names = [f"img{i:03d}.png" for i in range(16)]
    for name in names:
        value = [] if name == "img006.png" else gold[name]  # the annotator missed both boxes
        ws.submit("det", ids[name], value, annotator="ann")
    assert ws.train("det").kind == "finetuned"
    found = ws.label_issues("det", refresh=True)
    assert [i.item_id for i in found.issues] == [ids["img006.png"]]
    issue = found.issues[0]
    assert issue.given == [] and sorted(b["label"] for b in issue.suggested_boxes) == [
        "cat",
        "shoe",
    ]
    flags = ws.flags("det")
    assert [f.item_id for f in flags] == [ids["img006.png"]]


def test_whole_images_are_auto_accepted_on_held_out_evidence(project):
    ws, gold, ids = project
    ws.train("det")
    for name in [f"img{i:03d}.png" for i in range(24)]:
        ws.submit("det", ids[name], gold[name], annotator="ann")
    ws.train("det")
    ws.predict("det")
    result = ws.auto_accept("det", target_precision=0.8, min_evidence=20)
    # every out-of-fold image was exactly right, so the bound clears 0.8 and all are accepted
    assert result.n_evidence == 24 and result.estimated_precision == 1.0
    assert result.precision_lower_bound >= 0.8
    assert result.n_accepted == 16
    with pytest.raises(PoolExhausted):  # every unlabelled image now has a label
        ws.next_items("det", n=100, annotator=None)


def test_auto_accept_counts_an_image_with_an_extra_box_as_wrong(project, monkeypatch):
    ws, gold, ids = project
    real_predict = FakeBoxModel.predict

    def extra_box(self, images, **kw):  # a spurious confident box on every image
        out = real_predict(self, images, **kw)
        spurious = {"x": 0.0, "y": 40.0, "w": 5.0, "h": 5.0, "label": "shoe", "score": 0.99}
        return [[*boxes, spurious] for boxes in out]

    monkeypatch.setattr(FakeBoxModel, "predict", extra_box)
    ws.train("det")
    for name in [f"img{i:03d}.png" for i in range(24)]:
        ws.submit("det", ids[name], gold[name], annotator="ann")
    ws.train("det")
    _, correct, _, _ = box_service.auto_accept_evidence(ws, "det")
    assert not correct.any()
