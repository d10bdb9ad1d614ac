"""The item list, an item's history, comments and label hotkeys through the REST API, on SQLite
and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_factories import LABELS, Env, make_env

from labelloop.server import ServerSettings, create_app
from labelloop.services.annotation import browse

API = "/api/v1/projects/alpha"


@pytest.fixture
def db_env(workspace, tmp_path: Path) -> Env:
    return make_env(workspace, tmp_path)


@pytest.fixture
def api(db_env: Env) -> Iterator[TestClient]:
    with TestClient(create_app(db_env.ws, ServerSettings(background_retrain=False))) as c:
        yield c


def _answer(env: Env, item_id: int, label: str, who: str) -> None:
    env.ws.submit("alpha", item_id, [label], annotator=who, seconds=1.5)


def _ids(body: dict) -> list[int]:
    return [row["item_id"] for row in body["items"]]


def test_items_filter_by_label_source_annotator_confidence_status_and_text(api, db_env):
    env, h = db_env, db_env.auth("alpha-reviewer")
    ids = env.items["alpha"]
    first = api.get(f"{API}/items", params={"limit": 500}, headers=h).json()
    assert first["total"] == len(ids) == len(first["items"])
    assert _ids(first) == sorted(ids)
    row = first["items"][0]
    assert row["label"] is None and row["suggestion"] and 0 < row["confidence"] <= 1
    assert row["model_version"] == 1

    a, b, c = sorted(ids)[:3]
    _answer(env, a, "tech", "alpha-annotator")
    _answer(env, b, "sports", "alpha-admin")
    _answer(env, c, "tech", "alpha-admin")
    _answer(env, c, "politics", "alpha-reviewer")  # corrects the admin's answer

    def listed(**params) -> list[int]:
        r = api.get(f"{API}/items", params=params, headers=h)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["total"] == len(body["items"])
        return _ids(body)

    assert listed(label="tech") == [a]
    assert listed(label="politics") == [c]
    assert listed(status="labelled") == [a, b, c]
    assert len(listed(status="unlabelled", limit=500)) == len(ids) - 3
    assert listed(annotator="alpha-admin") == [b, c]  # anyone who answered, at any time
    by_source = api.get(f"{API}/items", params={"status": "labelled"}, headers=h).json()
    assert {r["annotator"] for r in by_source["items"]} == {
        "alpha-annotator", "alpha-admin", "alpha-reviewer"
    }  # fmt: skip
    sources = {r["item_id"]: r["source"] for r in by_source["items"]}
    for source in set(sources.values()):
        assert listed(source=source) == [i for i, s in sources.items() if s == source]

    confidences = {r["item_id"]: r["confidence"] for r in first["items"]}
    low, high = sorted(confidences.values())[5], sorted(confidences.values())[20]
    expected = sorted(i for i, p in confidences.items() if low <= p <= high)
    assert listed(min_confidence=low, max_confidence=high, limit=500) == expected
    suggested = first["items"][3]["suggestion"][0]
    want = [r["item_id"] for r in first["items"] if suggested in r["suggestion"]]
    assert listed(suggested=suggested, limit=500) == want

    text = first["items"][4]["data"]["text"]
    word = max(text.split(), key=len)
    hits = [r["item_id"] for r in first["items"] if word.lower() in r["data"]["text"].lower()]
    assert listed(q=word.upper(), limit=500) == hits
    assert listed(q="alpha-1", limit=500) == [
        r["item_id"] for r in first["items"] if "alpha-1" in r["external_id"]
    ]
    assert listed(q="100%_no_such") == []  # LIKE wildcards are taken literally

    page = api.get(f"{API}/items", params={"offset": 10, "limit": 5}, headers=h).json()
    assert page["total"] == len(ids) and _ids(page) == sorted(ids)[10:15]


def test_items_list_refuses_bad_filters_with_422_naming_them(api, db_env):
    h = db_env.auth("alpha-reviewer")
    cases = {
        "label=nope": "no label 'nope'",
        "suggested=nope": "no label 'nope'",
        "status=done": "status",
        "source=robot": "source",
        "min_confidence=1.5": "min_confidence",
        "min_confidence=0.9&max_confidence=0.1": "min_confidence 0.9 is over max_confidence 0.1",
        "limit=0": "limit",
        "offset=-1": "offset",
    }
    for query, needle in cases.items():
        r = api.get(f"{API}/items?{query}", headers=h)
        assert r.status_code == 422, query
        assert needle in r.json()["error"]["message"], (query, r.json())


def test_items_list_is_for_reviewers(api, db_env):
    assert api.get(f"{API}/items", headers=db_env.auth("alpha-annotator")).status_code == 403
    assert api.get(f"{API}/items", headers=db_env.auth("beta-admin")).status_code == 404
    assert api.get(f"{API}/items", headers=db_env.auth("alpha-admin")).status_code == 200


def test_item_history_has_answers_suggestions_and_model_versions_in_time_order(api, db_env):
    env = db_env
    item = sorted(env.items["alpha"])[0]
    _answer(env, item, "tech", "alpha-admin")
    env.ws.flag("alpha", item, "looks like politics", annotator="alpha-reviewer")
    _answer(env, item, "politics", "alpha-reviewer")
    env.ws.undo("alpha", item, annotator="alpha-reviewer")
    r = api.get(f"{API}/items/{item}/history", headers=env.auth("alpha-reviewer"))
    assert r.status_code == 200, r.text
    history = r.json()
    events = history["events"]
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    assert events[0]["kind"] == "imported"
    answers = [e for e in events if e["kind"] == "answer"]
    assert [(e["who"], e["value"]) for e in answers] == [
        ("alpha-admin", ["tech"]),
        ("alpha-reviewer", ["politics"]),
        ("alpha-reviewer", None),  # the undo: a retraction
    ]
    assert [e["current"] for e in answers] == [False, False, True]
    assert answers[0]["seconds"] == 1.5 and answers[0]["model_version"] == 1
    (flag,) = [e for e in events if e["kind"] == "flag"]
    assert flag["who"] == "alpha-reviewer" and "looks like politics" in flag["note"]
    (version,) = [e for e in events if e["kind"] == "model_version"]
    assert version["model_version"] == 1 and version["value"][0] in LABELS
    assert 0 < version["confidence"] <= 1
    (stored,) = [e for e in events if e["kind"] == "suggestion"]
    # the version's prediction, computed again from its files, is the suggestion it stored
    assert (stored["value"], stored["model_version"]) == (version["value"], 1)
    assert stored["confidence"] == pytest.approx(version["confidence"], abs=1e-6)
    assert history["model_versions_total"] == history["model_versions_shown"] == 1

    # an annotator sees their own answers only, on items handed to them
    ann = env.auth("alpha-annotator")
    assert api.get(f"{API}/items/{item}/history", headers=ann).status_code == 403
    handed = api.get(f"{API}/next", headers=ann).json()["items"][0]["item_id"]
    _answer(env, handed, "sports", "alpha-admin")
    _answer(env, handed, "tech", "alpha-annotator")
    mine = api.get(f"{API}/items/{handed}/history", headers=ann).json()
    assert [e["who"] for e in mine["events"] if e["kind"] == "answer"] == ["alpha-annotator"]
    other = env.items["beta"][0]
    assert api.get(f"{API}/items/{other}/history", headers=ann).status_code == 404


def test_history_lists_the_newest_model_versions_with_their_predictions(api, db_env):
    env = db_env
    for item, label in zip(sorted(env.items["alpha"])[:9], LABELS * 3, strict=True):
        _answer(env, item, label, "alpha-admin")
    env.ws.train("alpha")
    item = sorted(env.items["alpha"])[0]
    history = api.get(f"{API}/items/{item}/history", headers=env.auth("alpha-admin")).json()
    versions = [e for e in history["events"] if e["kind"] == "model_version"]
    assert [v["model_version"] for v in versions] == [1, 2]
    assert all(v["value"] and v["value"][0] in LABELS for v in versions)
    assert "trained on this item's label" in versions[1]["note"]
    assert "trained on this item's label" not in versions[0]["note"]
    assert browse.PREDICTED_VERSIONS >= 2


def test_comments_add_list_and_delete_own(api, db_env):
    env = db_env
    item = sorted(env.items["alpha"])[0]
    url = f"{API}/items/{item}/comments"
    rev, adm = env.auth("alpha-reviewer"), env.auth("alpha-admin")
    evil = '<img src=x onerror="alert(1)"> is this sports?'
    r = api.post(url, json={"body": f"  {evil}  "}, headers=rev)
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["author"] == "alpha-reviewer" and mine["body"] == evil
    theirs = api.post(url, json={"body": "no, tech"}, headers=adm).json()
    listed = api.get(url, headers=env.auth("alpha-reviewer")).json()
    assert [(c["author"], c["body"]) for c in listed] == [
        ("alpha-reviewer", evil),
        ("alpha-admin", "no, tech"),
    ]
    # a reviewer deletes their own comment only; an admin anyone's
    r = api.delete(f"{url}/{theirs['id']}", headers=rev)
    assert r.status_code == 403 and "alpha-admin" in r.json()["error"]["message"]
    assert api.delete(f"{url}/{mine['id']}", headers=rev).status_code == 204
    assert api.delete(f"{url}/{mine['id']}", headers=rev).status_code == 404
    other = sorted(env.items["alpha"])[1]
    wrong_item = api.delete(f"{API}/items/{other}/comments/{theirs['id']}", headers=adm)
    assert wrong_item.status_code == 404
    assert api.delete(f"{url}/{theirs['id']}", headers=adm).status_code == 204
    assert api.get(url, headers=adm).json() == []

    for body in ({"body": "   "}, {"body": ""}, {"body": "x" * 5001}, {}):
        r = api.post(url, json=body, headers=rev)
        assert r.status_code in (413, 422), body
    assert api.get(url, headers=adm).json() == []  # nothing half-written
    # annotators comment on items handed to them, not on others; other projects do not exist
    ann = env.auth("alpha-annotator")
    assert api.post(url, json={"body": "hi"}, headers=ann).status_code == 403
    handed = api.get(f"{API}/next", headers=ann).json()["items"][0]["item_id"]
    r = api.post(f"{API}/items/{handed}/comments", json={"body": "hi"}, headers=ann)
    assert r.status_code == 201
    beta_item = env.items["beta"][0]
    r = api.post(f"{API}/items/{beta_item}/comments", json={"body": "x"}, headers=adm)
    assert r.status_code == 404


def test_hotkeys_default_set_validate_and_reset(api, db_env):
    env = db_env
    url = f"{API}/hotkeys"
    ann, adm = env.auth("alpha-annotator"), env.auth("alpha-admin")
    assert api.get(url, headers=ann).json() == {
        "hotkeys": {"sports": "1", "tech": "2", "politics": "3"},
        "default": True,
        "descriptions": {},
    }
    r = api.put(url, json={"hotkeys": {"politics": "P", "sports": "q"}}, headers=adm)
    assert r.status_code == 200, r.text
    assert r.json()["hotkeys"] == {"sports": "q", "politics": "p"}
    assert r.json()["default"] is False
    assert api.get(url, headers=ann).json()["hotkeys"] == {"sports": "q", "politics": "p"}
    refusals = {
        "both 'sports' and 'tech'": {"sports": "a", "tech": "a"},
        "no label 'nope'": {"nope": "a"},
        "'s' is not a digit or a letter": {"sports": "s"},
        "at least one label": {},
    }
    for needle, keys in refusals.items():
        r = api.put(url, json={"hotkeys": keys}, headers=adm)
        assert r.status_code == 422 and needle in r.json()["error"]["message"], (needle, r.text)
    r = api.put(url, json={"hotkeys": {"sports": "ab"}}, headers=adm)
    assert r.status_code == 422
    assert api.get(url, headers=ann).json()["hotkeys"] == {"sports": "q", "politics": "p"}
    assert api.put(url, json={"hotkeys": {"sports": "1"}}, headers=ann).status_code == 403
    assert api.delete(url, headers=adm).json()["default"] is True
    assert api.get(url, headers=ann).json()["hotkeys"]["sports"] == "1"
