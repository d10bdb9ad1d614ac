"""Projects and workspace storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import labelloop
from labelloop.errors import Conflict, InvalidInput, NotFound


def test_create_and_list_projects(workspace):
    info = workspace.create_project("news", labels="World,Sports,Business")
    assert info.labels == ["World", "Sports", "Business"]
    assert info.backbone == "minilm-l6"
    assert info.settings["retrain_every"] == 10
    workspace.create_project("tags", labels=["a", "b"], multi_label=True)
    assert [p.name for p in workspace.list_projects()] == ["news", "tags"]
    assert workspace.project("tags").multi_label is True


def test_duplicate_project_name_is_a_conflict(workspace):
    workspace.create_project("news", labels="A,B")
    with pytest.raises(Conflict, match="already exists"):
        workspace.create_project("news", labels="A,B")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": "A"}, "at least two labels"),
        ({"labels": "A,A"}, "given twice"),
        ({"labels": "A,,B"}, "must not be empty"),
        ({"labels": "A,B", "task": "poetry"}, "task type 'poetry' is not implemented"),
        # no image backbone installed: the task cannot run here
        ({"labels": "A,B", "task": "image-classification"}, "needs an image backbone"),
        ({"labels": "A,B", "backbone": "nope"}, "unknown backbone 'nope'"),
        ({"labels": "A,B", "settings": {"retrain_every": 0}}, "at least 1"),
        ({"labels": "A,B", "settings": {"colour": "red"}}, "unknown setting"),
    ],
)
def test_bad_project_definitions_are_refused(sqlite_workspace, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        sqlite_workspace.create_project("p", **kwargs)
    assert sqlite_workspace.list_projects() == []


def test_backbone_must_embed_the_task_modality(sqlite_workspace):
    from labelloop.backbones import BackboneInfo, FakeEncoder, register_backbone
    from labelloop.backbones._registry import unregister_backbone
    from labelloop.schema import Modality

    info = BackboneInfo("fake-image", Modality.IMAGE, 8, description="tests only")
    register_backbone(info, lambda: FakeEncoder(dim=8), replace=True)
    try:
        with pytest.raises(InvalidInput, match="embeds image, but a text-classification project"):
            sqlite_workspace.create_project("p", labels="A,B", backbone="fake-image")
        # with an image backbone installed, image classification is implemented and gets it
        made = sqlite_workspace.create_project("img", labels="cat,dog", task="image-classification")
        assert made.backbone == "fake-image"
        with pytest.raises(InvalidInput, match="needs an image backbone"):
            sqlite_workspace.update_project("img", backbone="fake")
    finally:
        unregister_backbone("fake-image")
    assert [p.name for p in sqlite_workspace.list_projects()] == ["img"]


def test_bad_project_name(sqlite_workspace):
    with pytest.raises(InvalidInput, match="project name"):
        sqlite_workspace.create_project("../etc", labels="A,B")


def test_unknown_project_names_the_known_ones(workspace):
    workspace.create_project("news", labels="A,B")
    with pytest.raises(NotFound, match="projects: news"):
        workspace.status("nope")


def test_update_settings_and_backbone(sqlite_workspace):
    sqlite_workspace.create_project("p", labels="A,B")
    info = sqlite_workspace.update_project("p", settings={"retrain_every": "25"}, backbone="fake")
    assert info.settings["retrain_every"] == 25
    assert info.backbone == "fake"


def test_sqlite_workspace_uses_wal_and_reopens(tmp_path: Path):
    ws = labelloop.open_workspace(tmp_path / "w")
    ws.create_project("p", labels="A,B")
    ws.close()
    mode = (
        sqlite3.connect(tmp_path / "w" / "labelloop.db").execute("PRAGMA journal_mode").fetchone()
    )
    assert mode[0] == "wal"
    again = labelloop.open_workspace(tmp_path / "w")
    assert [p.name for p in again.list_projects()] == ["p"]
    again.close()


def test_workspace_from_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("LABELLOOP_WORKSPACE", str(tmp_path / "envws"))
    ws = labelloop.open_workspace()
    assert ws.path == tmp_path / "envws"
    ws.close()


def test_workspace_path_that_is_a_file(tmp_path: Path):
    file = tmp_path / "f"
    file.write_text("x")
    with pytest.raises(InvalidInput, match="is a file"):
        labelloop.open_workspace(file)


def test_bad_database_url(tmp_path: Path):
    with pytest.raises(InvalidInput, match="unsupported database"):
        labelloop.open_workspace(tmp_path / "w", database_url="mysql://x@y/z")
