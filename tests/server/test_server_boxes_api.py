"""Box answers through the REST API: the answer schema passes a list of boxes (or ``[]``, no
objects) to the boxes task, keeps a suggested box's score, and refuses a malformed box with a
422 naming the field; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from box_factories import Picture, make_box_project
from fastapi.testclient import TestClient

from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.quality import review

# three sizes: the same pixels in two files would be one item (items are keyed by content)
PICTURES = [
    Picture(f"{k}.png", (64 + i, 48), suggested=((4, 4, 20, 10, "dog", 0.8),))
    for i, k in enumerate("abc")
]


@pytest.fixture
def api(workspace) -> Iterator[tuple[TestClient, dict[str, str], dict[str, int]]]:
    ws = workspace
    ids = make_box_project(ws, "det", PICTURES)
    users.add_user(ws, "ann", password="pw-annotator", role="annotator", project="det")
    headers = {"Authorization": f"Bearer {users.create_token(ws, 'ann')}"}
    app = create_app(ws, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield client, headers, ids


def _submit(api: Any, item: str, value: Any) -> Any:
    client, headers, ids = api
    body = json.dumps({"item_id": ids[item], "value": value})  # json.dumps writes NaN as is
    headers = {**headers, "Content-Type": "application/json"}
    return client.post("/api/v1/projects/det/annotations", content=body, headers=headers)


def _current(ws: Any, item_id: int) -> Any:
    return next(a.value for a in review.item_detail(ws, "det", item_id).answers if a.current)


def test_boxes_and_no_objects_are_answers(api, workspace):
    boxes = [
        {"x": 1.5, "y": 2, "w": 30, "h": 20.25, "label": "cat"},
        {"x": 4, "y": 4, "w": 20, "h": 10, "label": "dog", "score": 0.8},
    ]
    r = _submit(api, "a.png", boxes)
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "human"
    stored = _current(workspace, api[2]["a.png"])
    assert [(b["x"], b["y"], b["w"], b["h"], b["label"]) for b in stored] == [
        (1.5, 2, 30, 20.25, "cat"),
        (4, 4, 20, 10, "dog"),
    ]
    assert _submit(api, "b.png", []).status_code == 201
    assert _current(workspace, api[2]["b.png"]) == []


@pytest.mark.parametrize(
    ("box", "field"),
    [
        ({"x": float("nan"), "y": 0, "w": 5, "h": 5, "label": "cat"}, "x"),
        ({"x": 0, "y": 0, "w": 0, "h": 5, "label": "cat"}, "w"),
        ({"x": 0, "y": 0, "w": 5, "h": 5, "label": "cat", "colour": "red"}, "colour"),
        ({"x": 0, "y": 0, "w": 5, "h": 5, "label": "cat", "score": 1.5}, "score"),
        ({"x": 0, "y": 0, "w": 5, "label": "cat"}, "h"),
    ],
)
def test_a_malformed_box_is_refused_by_name_and_nothing_is_stored(api, workspace, box, field):
    r = _submit(api, "c.png", [{"x": 1, "y": 1, "w": 2, "h": 2, "label": "cat"}, box])
    assert r.status_code == 422, r.text
    assert f"value.boxes.1.{field}" in r.json()["error"]["message"]
    detail = review.item_detail(workspace, "det", api[2]["c.png"])
    assert detail.answers == []


def test_a_bulk_batch_checks_boxes_against_each_image(api, workspace):
    client, headers, ids = api
    inside = {"x": 1, "y": 1, "w": 10, "h": 10, "label": "cat"}
    outside = {"x": 50, "y": 30, "w": 40, "h": 10, "label": "cat"}  # b.png is 65 px wide
    answers = [
        {"item_id": ids["a.png"], "value": [inside]},
        {"item_id": ids["b.png"], "value": [outside]},
    ]
    r = client.post(
        "/api/v1/projects/det/annotations/bulk", json={"answers": answers}, headers=headers
    )
    assert r.status_code == 422, r.text
    assert f"item {ids['b.png']}" in r.json()["error"]["message"]
    assert not any(a.current for a in review.item_detail(workspace, "det", ids["a.png"]).answers)

    answers[1]["value"] = [inside]
    r = client.post(
        "/api/v1/projects/det/annotations/bulk", json={"answers": answers}, headers=headers
    )
    assert r.status_code == 201, r.text
    assert _current(workspace, ids["b.png"]) == [inside]
