"""Span answers through the REST API: the queue hands out tokens and suggested spans with their
confidences, submit and review take span lists, and a bad span gets a 422 naming it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from span_factories import SENTENCES, make_span_project

from labelloop.server import ServerSettings, create_app
from labelloop.services import users

S1 = SENTENCES[0]  # "Peter Blackburn visited Brussels on Monday ."


class Api:
    """A client over a span project ``ner``; ``h``: an annotator's headers, ``root``: an admin's."""

    def __init__(self, client: TestClient, ws: Any, ids: dict[str, int]) -> None:
        self.client, self.ws, self.ids = client, ws, ids
        self.root = {"Authorization": f"Bearer {users.create_token(ws, 'root')}"}
        self.h = {"Authorization": f"Bearer {users.create_token(ws, 'ann')}"}

    def next(self, n: int = 3) -> list[dict[str, Any]]:
        r = self.client.get(f"/api/v1/projects/ner/next?n={n}", headers=self.h)
        assert r.status_code == 200, r.text
        return list(r.json()["items"])

    def submit(self, item_id: int, value: Any) -> Any:
        body = {"item_id": item_id, "value": value}
        return self.client.post("/api/v1/projects/ner/annotations", json=body, headers=self.h)


@pytest.fixture
def api(workspace, tmp_path: Path) -> Iterator[Api]:
    ids = make_span_project(workspace, "ner", tmp_path)
    users.add_user(workspace, "root", password="pw-root-root", superuser=True)
    users.add_user(workspace, "ann", password="pw-annotator", role="annotator", project="ner")
    app = create_app(workspace, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield Api(client, workspace, ids)


def test_next_hands_out_tokens_and_suggested_spans_with_their_confidence(api):
    items = {it["external_id"]: it for it in api.next()}
    first = items["s1"]
    text = first["data"]["text"]
    assert [text[a:b] for a, b in first["tokens"]] == text.split(" ")
    suggestion = first["suggestion"]
    assert suggestion["value"] == [
        S1.span("Peter Blackburn", "PER"),
        S1.span("Brussels", "LOC"),
    ]
    assert suggestion["pred_probs"] == {"0:15:PER": 0.91, "24:32:LOC": 0.64}
    # the item route (undo, review) carries the same tokens and confidences
    detail = api.client.get(f"/api/v1/projects/ner/items/{first['item_id']}", headers=api.h)
    assert detail.status_code == 200, detail.text
    assert detail.json()["tokens"] == first["tokens"]
    assert detail.json()["suggestion"]["pred_probs"] == suggestion["pred_probs"]


def test_good_spans_are_stored_snapped_to_tokens(api):
    item_id = api.ids["s1"]
    api.next()
    # "eter Blackbur" covers parts of two tokens: stored as the whole words
    r = api.submit(item_id, [{"start": 1, "end": 14, "label": "PER"}, S1.span("Monday", "MISC")])
    assert r.status_code == 201, r.text
    assert r.json()["value"] == [S1.span("Peter Blackburn", "PER"), S1.span("Monday", "MISC")]
    assert r.json()["source"] == "human"
    detail = api.client.get(f"/api/v1/projects/ner/items/{item_id}", headers=api.h).json()
    assert detail["current"] == r.json()["value"]
    assert detail["answers"][0]["value"] == r.json()["value"]
    # the suggestion as it is: model_accepted; no span at all is an answer too
    s2 = api.ids["s2"]
    suggested = next(it for it in api.next() if it["item_id"] == s2)["suggestion"]["value"]
    assert api.submit(s2, suggested).json()["source"] == "model_accepted"
    empty = api.submit(api.ids["s3"], [])
    assert empty.status_code == 201 and empty.json()["value"] == []


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ([{"start": 0, "end": 15, "label": "PER"}, {"start": 33, "end": 90, "label": "LOC"}],
         ["span 1 (33-90) is out of range", "44 characters"]),
        ([{"start": 0, "end": 15, "label": "PER"}, {"start": 24, "end": 32, "label": "CITY"}],
         ["span 1 (24-32)", "unknown label 'CITY'", "PER, LOC, ORG, MISC"]),
        ([{"start": 0, "end": 15, "label": "PER"}, {"start": 6, "end": 23, "label": "MISC"}],
         ["spans 0-15 'PER' and 6-23 'MISC' overlap"]),
        ([{"start": 0, "end": 15, "label": "PER"}, {"start": 0, "end": 15, "label": "PER"}],
         ["0-15 'PER' is given twice"]),
        ([{"start": 10, "end": 3, "label": "PER"}], ["span 0 (10-3) is out of range"]),
        ([{"start": 0, "end": 15}], ["value.spans.0.label: Field required"]),
        ([{"start": -1, "end": 15, "label": "PER"}], ["value.spans.0.start"]),
        ([{"start": 0, "end": 15, "label": "PER", "score": 1}], ["value.spans.0.score"]),
        ([{"start": 0, "end": 15, "label": "PER"}, "LOC"], ["value.spans.1"]),
    ],
)  # fmt: skip
def test_a_bad_span_is_refused_naming_it(api, value, names):
    item_id = api.ids["s1"]
    api.next()
    r = api.submit(item_id, value)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"]["type"] == "InvalidInput"
    for name in names:
        assert name in body["error"]["message"]
    detail = api.client.get(f"/api/v1/projects/ner/items/{item_id}", headers=api.h).json()
    assert detail["answers"] == []  # nothing half-written


def test_a_reviewer_settles_a_span_item_with_spans(api):
    item_id = api.ids["s1"]
    api.next()
    assert api.submit(item_id, [S1.span("Brussels", "ORG")]).status_code == 201
    listed = api.client.get("/api/v1/projects/ner/review", headers=api.root)
    assert listed.status_code == 200, listed.text
    candidate = next(c for c in listed.json() if c["item_id"] == item_id)
    assert candidate["reasons"] == ["rejected_suggestion"]
    assert candidate["answers"][0]["value"] == [S1.span("Brussels", "ORG")]
    assert candidate["suggestion"]["pred_probs"]["0:15:PER"] == 0.91
    suggested = candidate["suggestion"]["value"]
    bad = api.client.post(
        f"/api/v1/projects/ner/review/{item_id}",
        json={"value": [*suggested, S1.span("Monday", "DATE")]},
        headers=api.root,
    )
    assert bad.status_code == 422 and "span 2" in bad.json()["error"]["message"]
    r = api.client.post(
        f"/api/v1/projects/ner/review/{item_id}", json={"value": suggested}, headers=api.root
    )
    assert r.status_code == 200, r.text
    detail = api.client.get(f"/api/v1/projects/ner/items/{item_id}", headers=api.root).json()
    assert detail["current"] == suggested
    rows = api.client.get("/api/v1/projects/ner/suggestions", headers=api.root)
    assert rows.status_code == 200, rows.text
    assert {row["item_id"] for row in rows.json()} == {api.ids["s2"], api.ids["s3"]}


def test_the_annotate_page_loads_the_spans_widget(api):
    client = api.client
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"name": "ann", "password": "pw-annotator", "csrf_token": token, "next": "/"}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303
    html = client.get("/projects/ner/annotate").text
    assert 'data-widget="spans"' in html and 'data-overlap="false"' in html
    assert '<script src="/static/spans.js">' in html and 'id="span-labels"' in html
    js = client.get("/static/spans.js").text
    assert "innerHTML" not in js and "insertAdjacentHTML" not in js


def test_the_openapi_spec_describes_span_answers(api):
    from jsonschema import Draft202012Validator

    spec = api.client.get("/api/v1/openapi.json").json()
    components = spec["components"]["schemas"]
    assert components["SpanValue"]["required"] == ["start", "end", "label"]

    def valid(model: str, body: Any) -> bool:
        schema = {"$ref": f"#/components/schemas/{model}", "components": spec["components"]}
        return Draft202012Validator(schema).is_valid(body)

    span = {"start": 0, "end": 5, "label": "PER"}
    for value in ("PER", ["PER", "LOC"], [], [span]):  # each matches exactly one of the oneOf
        assert valid("SubmitAnnotation", {"item_id": 1, "value": value})
        assert valid("Resolve", {"value": value})
    for value in ([{"start": 0, "end": 5}], [span, "PER"], [{**span, "x": 1}], 3):
        assert not valid("SubmitAnnotation", {"item_id": 1, "value": value})
    queue_item = components["QueueItem"]["properties"]
    assert "tokens" in queue_item and "tokens" in components["ReviewCandidate"]["properties"]
