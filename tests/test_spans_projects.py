"""A span project's own schema options: the type map, overlapping spans and the sequence
strategies, checked in one place for the Python API, the CLI and REST (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from labelloop.errors import InvalidInput
from labelloop.server import ServerSettings, create_app
from labelloop.services import users

LABELS = ["PER", "LOC", "ORG", "MISC", "DRUG"]


def test_type_map_is_given_at_creation_merged_later_and_shown_in_effect(workspace):
    info = workspace.create_project(
        "ner", labels=LABELS, task="spans", type_map={"PRODUCT": "DRUG", "NORP": ""}
    )
    assert info.type_map is not None
    assert info.type_map["PRODUCT"] == "DRUG" and info.type_map["PERSON"] == "PER"
    assert "NORP" not in info.type_map  # "" drops a type the default would send to MISC
    updated = workspace.update_project("ner", type_map={"EVENT": "ORG"})
    assert updated.type_map["EVENT"] == "ORG" and updated.type_map["PRODUCT"] == "DRUG"
    # other schema changes keep the span options (descriptions used to rebuild the schema)
    described = workspace.update_project("ner", descriptions={"DRUG": "a medicine"})
    assert described.type_map == updated.type_map


def test_bad_type_maps_are_refused_naming_the_problem(workspace):
    with pytest.raises(InvalidInput, match=r"unknown entity types \['DISEASE'\]"):
        workspace.create_project("ner", labels=LABELS, task="spans", type_map={"DISEASE": "DRUG"})
    with pytest.raises(InvalidInput, match=r"unknown labels: \['NOPE'\]"):
        workspace.create_project("ner", labels=LABELS, task="spans", type_map={"PERSON": "NOPE"})
    workspace.create_project("news", labels=["a", "b"])
    with pytest.raises(InvalidInput, match="span projects only") as exc:
        workspace.update_project("news", type_map={"PERSON": "a"})
    assert exc.value.field == "type_map"
    with pytest.raises(InvalidInput, match="span projects only"):
        workspace.create_project("news2", labels=["a", "b"], allow_overlap=True)
    assert [p.name for p in workspace.list_projects()] == ["news"]


def test_overlap_can_be_switched_on_and_then_overlapping_answers_pass(workspace, tmp_path):
    from factories import write_jsonl

    workspace.create_project("ner", labels=LABELS, task="spans")
    workspace.import_file("ner", write_jsonl(tmp_path / "s.jsonl", [{"text": "New York Times"}]))
    item = workspace.next_items("ner", n=1, annotator=None)[0]
    both = [{"start": 0, "end": 8, "label": "LOC"}, {"start": 0, "end": 14, "label": "ORG"}]
    with pytest.raises(InvalidInput, match="overlap"):
        workspace.submit("ner", item.item_id, both, annotator="ann")
    assert workspace.update_project("ner", allow_overlap=True).allow_overlap
    stored = workspace.submit("ner", item.item_id, both, annotator="ann")
    assert len(stored.value) == 2


@pytest.mark.parametrize(
    ("task", "strategy", "ok"),
    [
        ("spans", "mnlp", True),
        ("spans", "token_entropy", True),
        ("spans", "margin", True),
        ("spans", "random", True),
        ("spans", "kcenter", False),
        ("text-classification", "mnlp", False),
        ("text-classification", "token_entropy", False),
        ("text-classification", "random", True),
    ],
)
def test_strategies_are_checked_against_the_task(workspace, task, strategy, ok):
    workspace.create_project("p", labels=["PER", "LOC"], task=task)
    if ok:
        assert (
            workspace.update_project("p", settings={"strategy": strategy}).settings["strategy"]
            == strategy
        )
    else:
        with pytest.raises(InvalidInput, match="does not apply") as exc:
            workspace.update_project("p", settings={"strategy": strategy})
        assert exc.value.field == "strategy"
        assert workspace.project("p").settings["strategy"] == "margin"


def test_rest_creates_and_patches_a_span_project(workspace):
    users.add_user(workspace, "root", password="pw-root!!", superuser=True)
    headers = {"Authorization": f"Bearer {users.create_token(workspace, 'root')}"}
    client = TestClient(create_app(workspace, ServerSettings(background_retrain=False)))
    body = {"name": "ner", "labels": LABELS, "task": "spans", "type_map": {"PRODUCT": "DRUG"}}
    r = client.post("/api/v1/projects", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["type_map"]["PRODUCT"] == "DRUG"
    r = client.patch("/api/v1/projects/ner", json={"allow_overlap": True}, headers=headers)
    assert r.status_code == 200 and r.json()["allow_overlap"] is True
    r = client.patch("/api/v1/projects/ner", json={"type_map": {"X": "PER"}}, headers=headers)
    assert r.status_code == 422 and "unknown entity types" in r.json()["error"]["message"]
    assert workspace.project("ner").type_map["PRODUCT"] == "DRUG"
