"""The dashboard's learning curve of an image-boxes project: each version's cross-validated
mAP@0.5 (box versions record no accuracy). Fake detector and box model (tests/boxes_fakes.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from boxes_fakes import FakeBoxModel, fake_learning, image_set
from labelloop.services import stats
from labelloop.services.models import boxes as box_service


@pytest.fixture
def ws(sqlite_workspace, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(box_service, "box_learning", fake_learning)
    FakeBoxModel.fits.clear()
    gold = image_set(tmp_path / "pool", 8)
    sqlite_workspace.create_project("det", labels=["cat", "shoe"], task="image-boxes")
    sqlite_workspace.import_file("det", tmp_path / "pool")
    sqlite_workspace.train("det")  # no labels: the detector, without a cross-validated score
    for item in sqlite_workspace.next_items("det", n=8, annotator=None):
        boxes = gold[Path(item.data["path"]).name]
        sqlite_workspace.submit("det", item.item_id, boxes, annotator="ann")
    sqlite_workspace.train("det")
    return sqlite_workspace


def test_the_learning_curve_holds_each_versions_cross_validated_map50(ws):
    board = stats.dashboard(ws, "det")
    assert board.curve_measure == "mAP@0.5"
    first, second = board.learning_curve
    assert first.map50 is None and first.n_labels == 0
    assert second.map50 == pytest.approx(1.0) and second.n_labels == 8
    assert second.accuracy is None  # what the curve plotted before, empty for boxes
    assert second.map50 == ws.models("det")[-1].metrics["map50"]


def test_the_plot_draws_map50_against_labelled_images(ws):
    from labelloop.server import plots

    ax = plots.PLOTS["learning-curve"](stats.dashboard(ws, "det")).axes[0]
    (line,) = ax.get_lines()
    assert line.get_label() == "mAP@0.5"
    assert list(line.get_xdata()) == [8] and list(line.get_ydata()) == pytest.approx([1.0])
    assert ax.get_ylabel() == "cross-validated mAP@0.5"
    assert plots.render("learning-curve", stats.dashboard(ws, "det")).startswith(b"<?xml")
