"""Projects and workspace storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import labelloop
from labelloop.errors import Conflict, InvalidInput, NotFound
from labelloop.services.projects import DEFAULT_SETTINGS


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
        ({"labels": "A,B", "task": "audio-classification"}, "needs an audio backbone"),
        ({"labels": "A,B", "backbone": "nope"}, "unknown backbone 'nope'"),
        ({"labels": "A,B", "settings": {"retrain_every": 0}}, "from 1 to"),
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

    info = BackboneInfo("fake-audio", Modality.AUDIO, 8, description="tests only")
    register_backbone(info, lambda: FakeEncoder(dim=8), replace=True)
    try:
        with pytest.raises(InvalidInput, match="embeds audio, but a text-classification project"):
            sqlite_workspace.create_project("p", labels="A,B", backbone="fake-audio")
        # with an audio backbone installed, audio classification is implemented and gets it
        made = sqlite_workspace.create_project(
            "snd", labels="bell,horn", task="audio-classification"
        )
        assert made.backbone == "fake-audio"
        with pytest.raises(InvalidInput, match="needs an audio backbone"):
            sqlite_workspace.update_project("snd", backbone="fake")
    finally:
        unregister_backbone("fake-audio")
    assert [p.name for p in sqlite_workspace.list_projects()] == ["snd"]


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


# -- settings: one typed, bounded check for Python, CLI and REST (issue 17) ------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("lease_seconds", 10**12),  # overflowed the lease's date: every `next` failed
        ("lease_seconds", 1e12),
        ("retrain_every", 10**20),  # overflowed the retrain count's bound: every submit failed
        ("retrain_every", 2.5),
        ("retrain_every", True),
        ("seed", -1),
        ("seed", 2**40),
        ("overlap", 0),
        ("gold_rate", 1.5),
        ("gold_rate", float("nan")),
        ("strategy", "nope"),
        ("finetune", "maybe"),
    ],
)
def test_settings_of_the_wrong_type_or_out_of_range_are_refused(workspace, setting, value):
    workspace.create_project("p", labels="A,B")
    with pytest.raises(InvalidInput, match=f"{setting} must be ") as refused:
        workspace.update_project("p", settings={setting: value})
    assert refused.value.field == setting
    assert workspace.project("p").settings == DEFAULT_SETTINGS


def test_settings_take_numbers_strings_and_booleans(workspace):
    workspace.create_project("p", labels="A,B", settings={"gold_rate": 0.25})
    info = workspace.update_project(
        "p",
        settings={"blind_rate": "0.1", "finetune": "yes", "lease_seconds": "30", "seed": 7.0},
    )
    expected = {"gold_rate": 0.25, "blind_rate": 0.1, "finetune": True, "lease_seconds": 30}
    assert {k: info.settings[k] for k in expected} == expected
    assert info.settings["seed"] == 7 and isinstance(info.settings["seed"], int)
    assert workspace.project("p").settings == info.settings  # as stored


def test_the_cli_checks_settings_like_the_api(tmp_path: Path):
    from test_cli import run

    ws = tmp_path / "ws"
    run(ws, "project", "create", "p", "--labels", "A,B")
    refused = run(ws, "project", "set", "p", "--set", "lease_seconds=1000000000000", check=False)
    assert refused.returncode == 2
    assert "lease_seconds must be a whole number from 1 to 2592000" in refused.stderr
    done = run(ws, "project", "set", "p", "--set", "gold_rate=0.2", "--json")
    assert json.loads(done.stdout)["settings"]["gold_rate"] == 0.2


# -- names and labels that look like others, or like nothing (issue 17) ---------------------------


@pytest.mark.parametrize("name", ["news\n", "news\r\n", "\nnews", "new s", "news\x00"])
def test_project_names_with_line_breaks_or_controls_are_refused(workspace, name):
    with pytest.raises(InvalidInput, match="project name"):
        workspace.create_project(name, labels="A,B")
    assert workspace.list_projects() == []


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (["caf\u00e9", "cafe\u0301"], "given twice"),  # NFC and NFD of one label
        (["\u200b", "B"], "invisible character U\\+200B"),  # a zero-width space alone
        (["A\u200b", "A"], "invisible character U\\+200B"),
        (["\ufeffA", "B"], "invisible character U\\+FEFF"),
        (["A\u202eB", "C"], "invisible character U\\+202E"),  # a right-to-left override
        (["A\x07", "B"], "control character U\\+0007"),
        (["A\nB", "C"], "control character U\\+000A"),
        (["A\u2028B", "C"], "control character U\\+2028"),
    ],
)
def test_labels_that_look_like_another_or_like_nothing_are_refused(workspace, labels, message):
    with pytest.raises(InvalidInput, match=message):
        workspace.create_project("p", labels=labels)
    assert workspace.list_projects() == []


def test_labels_are_stored_in_nfc_and_answers_in_any_form_match(sqlite_workspace, tmp_path: Path):
    from labelloop.schema import LabelSchema
    from labelloop.services.annotation.annotating import check_value

    info = sqlite_workspace.create_project(
        "p", labels=["cafe\u0301", "th\u00e9"], descriptions={"cafe\u0301": "a coffee place"}
    )
    assert info.labels == ["caf\u00e9", "th\u00e9"]
    schema = LabelSchema.parse("text-classification", info.labels)
    assert check_value(schema, "cafe\u0301") == ["caf\u00e9"]
    assert schema.index("the\u0301") == 1
    # a joiner inside a word is writing (Persian), not an invisible label
    persian = LabelSchema.parse(
        "text-classification", ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "B"]
    )
    assert persian.labels[0] == "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


# -- the SQLite file holds password hashes: its owner's alone (issue 17) ---------------------------


def test_the_sqlite_database_and_its_wal_are_private(tmp_path: Path):
    import os
    import stat

    old = os.umask(0o022)  # the usual umask, which leaves new files world-readable
    try:
        ws = labelloop.open_workspace(tmp_path / "w")
        ws.create_project("p", labels="A,B")
        from labelloop.services import users

        users.add_user(ws, "alice", password="pw-alice-123")
        files = {f.name: f for f in (tmp_path / "w").iterdir() if f.name.startswith("labelloop")}
        assert {"labelloop.db", "labelloop.db-wal", "labelloop.db-shm"} <= set(files)
        for f in files.values():
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
        ws.close()
        # a workspace made before: its files were 0644, and opening it makes them private
        for f in (tmp_path / "w").glob("labelloop.db*"):
            f.chmod(0o644)
        labelloop.open_workspace(tmp_path / "w").close()
        for f in (tmp_path / "w").glob("labelloop.db*"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f.name
    finally:
        os.umask(old)
