"""The annotation loop through the REST API: queue, submit, correct, undo, skip, review, models."""

from __future__ import annotations

from fastapi.testclient import TestClient
from server_factories import make_project

from labelloop.server import ServerSettings, create_app
from labelloop.services import users


def _next(client, env, user="alpha-annotator", n=1):
    r = client.get(f"/api/v1/projects/alpha/next?n={n}", headers=env.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def test_accepting_the_suggestion_is_recorded_as_model_accepted(client, env):
    item = _next(client, env)["items"][0]
    assert item["suggestion"]["model_version"] == 1
    assert 0 < item["suggestion"]["confidence"] <= 1
    h = env.auth("alpha-annotator")
    body = {
        "item_id": item["item_id"],
        "value": item["suggestion"]["value"],
        "seconds": 2.5,
        "request_id": "req-1",
    }
    first = client.post("/api/v1/projects/alpha/annotations", json=body, headers=h).json()
    again = client.post("/api/v1/projects/alpha/annotations", json=body, headers=h).json()
    assert first["source"] == "model_accepted" and first["model_version"] == 1
    assert again["duplicate"] is True and again["annotation_id"] == first["annotation_id"]
    status = client.get("/api/v1/projects/alpha/status", headers=h).json()
    assert status["labelled"] == 1 and status["by_source"]["model_accepted"] == 1
    board = client.get("/api/v1/projects/alpha/stats", headers=env.auth("alpha-admin")).json()
    assert board["annotators"][0]["annotator"] == "alpha-annotator"
    assert board["annotators"][0]["seconds"] == 2.5
    assert board["acceptance_by_version"] == [
        {"bucket": "v1", "accepted": 1, "answered": 1, "rate": 1.0}
    ]


def test_correct_undo_and_skip(client, env):
    h = env.auth("alpha-annotator")
    first, second = _next(client, env, n=2)["items"]
    other = next(
        lbl for lbl in ("sports", "tech", "politics") if [lbl] != first["suggestion"]["value"]
    )
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=h,
        json={"item_id": first["item_id"], "value": other},
    )
    assert r.json()["source"] == "human"
    # correct: answer the same item again
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=h,
        json={"item_id": first["item_id"], "value": first["suggestion"]["value"]},
    )
    assert r.status_code == 201
    detail = client.get(f"/api/v1/projects/alpha/items/{first['item_id']}", headers=h).json()
    assert [a["value"] for a in detail["answers"]] == [[other], first["suggestion"]["value"]]
    # undo: the item is unlabelled again
    r = client.post(f"/api/v1/projects/alpha/items/{first['item_id']}/undo", headers=h)
    assert r.status_code == 200 and r.json()["value"] is None
    assert client.get("/api/v1/projects/alpha/status", headers=h).json()["labelled"] == 0
    # someone else's label cannot be undone by an annotator
    client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("alpha-reviewer"),
        json={"item_id": first["item_id"], "value": "tech"},
    )
    r = client.post(f"/api/v1/projects/alpha/items/{first['item_id']}/undo", headers=h)
    assert r.status_code == 403
    # skip: not handed to this annotator again
    assert (
        client.post(f"/api/v1/projects/alpha/items/{second['item_id']}/skip", headers=h).status_code
        == 204
    )
    ids = {i["item_id"] for i in _next(client, env, n=50)["items"]}
    assert second["item_id"] not in ids


def test_two_annotators_never_get_the_same_item(client, env):
    users.add_user(env.ws, "alpha-annotator-2", role="annotator", project="alpha")
    h2 = {"Authorization": f"Bearer {users.create_token(env.ws, 'alpha-annotator-2')}"}
    a = {i["item_id"] for i in _next(client, env, n=10)["items"]}
    b = {
        i["item_id"]
        for i in client.get("/api/v1/projects/alpha/next?n=10", headers=h2).json()["items"]
    }
    assert a and b and not a & b


def test_queue_runs_out_cleanly(client, env, tmp_path):
    make_project(env.ws, "tiny", tmp_path, n=2)
    users.add_user(env.ws, "alpha-annotator", role="annotator", project="tiny")
    h = env.auth("alpha-annotator")
    items = client.get("/api/v1/projects/tiny/next?n=5", headers=h).json()["items"]
    for it in items:
        client.post(
            "/api/v1/projects/tiny/annotations",
            headers=h,
            json={"item_id": it["item_id"], "value": "tech"},
        )
    assert client.get("/api/v1/projects/tiny/next", headers=h).json() == {
        "items": [],
        "exhausted": True,
    }


def test_review_lists_disagreements_and_resolves_them(client, env):
    item = _next(client, env)["items"][0]
    client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("alpha-annotator"),
        json={"item_id": item["item_id"], "value": "sports"},
    )
    client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("alpha-admin"),
        json={"item_id": item["item_id"], "value": "politics"},
    )
    h = env.auth("alpha-reviewer")
    listed = client.get("/api/v1/projects/alpha/review?source=disagreement", headers=h).json()
    assert [c["item_id"] for c in listed] == [item["item_id"]]
    assert {a["annotator"] for a in listed[0]["answers"]} == {"alpha-annotator", "alpha-admin"}
    r = client.post(
        f"/api/v1/projects/alpha/review/{item['item_id']}", headers=h, json={"value": "sports"}
    )
    assert r.status_code == 200
    assert client.get("/api/v1/projects/alpha/review?source=disagreement", headers=h).json() == []
    assert client.get("/api/v1/projects/alpha/qa", headers=h).json()["agreement"] is not None


def test_train_runs_in_the_background_and_the_poll_sees_the_new_champion(env, tmp_path):
    app = create_app(env.ws, ServerSettings())
    with TestClient(app) as client:
        h = env.auth("alpha-admin")
        env.ws.update_project("alpha", settings={"retrain_every": 3})
        assert client.get("/api/v1/projects/alpha/model", headers=h).json()["champion"] == 1
        items = _next(client, env, user="alpha-admin", n=6)["items"]
        labels = ["sports", "tech", "politics"]
        due = []
        for i, it in enumerate(items):
            r = client.post(
                "/api/v1/projects/alpha/annotations",
                headers=h,
                json={"item_id": it["item_id"], "value": labels[i % 3]},
            )
            due.append(r.json()["retrain"])
        assert "queued" in due or "running" in due
        assert app.state.retrainer.wait_idle(60)
        poll = client.get("/api/v1/projects/alpha/model", headers=h).json()
        assert poll["champion"] > 1 and poll["training"]["state"] == "idle"
        models = client.get("/api/v1/projects/alpha/models", headers=h).json()
        assert any(m["kind"] == "head" for m in models)
        r = client.post("/api/v1/projects/alpha/models/rollback", headers=h)
        assert r.status_code == 200
        assert (
            client.get("/api/v1/projects/alpha/model", headers=h).json()["champion"]
            < poll["champion"]
        )
        r = client.post(f"/api/v1/projects/alpha/models/{poll['champion']}/promote", headers=h)
        assert r.json()["status"] == "champion"
        r = client.post("/api/v1/projects/alpha/train", headers=h)
        assert r.status_code == 202
        assert app.state.retrainer.wait_idle(60)


def test_export_downloads_labels_with_provenance(client, env):
    item = _next(client, env)["items"][0]
    client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("alpha-annotator"),
        json={"item_id": item["item_id"], "value": "tech"},
    )
    r = client.get("/api/v1/projects/alpha/export?format=jsonl", headers=env.auth("alpha-admin"))
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    import json

    rows = [json.loads(line) for line in r.text.splitlines()]
    labelled = [row for row in rows if row["label"] is not None]
    assert len(rows) == 30 and len(labelled) == 1
    assert labelled[0]["item_id"] == item["item_id"] and "alpha-annotator" in json.dumps(
        labelled[0]
    )


def test_members_and_tokens(client, env):
    h = env.auth("alpha-admin")
    assert (
        client.get("/api/v1/projects/alpha/members", headers=h).json()["alpha-reviewer"]
        == "reviewer"
    )
    r = client.put(
        "/api/v1/projects/alpha/members/beta-admin", headers=h, json={"role": "annotator"}
    )
    assert r.status_code == 200
    assert (
        client.get("/api/v1/projects/alpha/next", headers=env.auth("beta-admin")).status_code == 200
    )
    assert client.delete("/api/v1/projects/alpha/members/beta-admin", headers=h).status_code == 204
    token = client.post("/api/v1/tokens", headers=h).json()["token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me == {"name": "alpha-admin", "is_superuser": False, "roles": {"alpha": "admin"}}


def test_dashboard_and_plots_render(client, env):
    h = env.auth("alpha-admin")
    page = client.get("/projects/alpha/dashboard", headers=h)
    assert page.status_code == 200 and "Model versions" in page.text
    for kind in ("learning-curve", "acceptance", "confusion", "throughput"):
        r = client.get(f"/projects/alpha/plots/{kind}.svg", headers=h)
        assert r.status_code == 200 and r.text.lstrip().startswith("<?xml")
        assert "<script" not in r.text and 'href="http' not in r.text  # nothing fetched


def test_superuser_creates_projects_and_users(client, env):
    h = env.auth("root")
    r = client.post(
        "/api/v1/projects",
        headers=h,
        json={"name": "gamma", "labels": ["a", "b"], "backbone": "fake"},
    )
    assert r.status_code == 201
    assert r.json()["task"] == "text-classification" and r.json()["widget"] == "choices"
    spans = client.post(
        "/api/v1/projects", headers=h, json={"name": "delta", "labels": ["a", "b"], "task": "spans"}
    )
    assert spans.status_code == 201 and spans.json()["widget"] == "spans"
    refused = client.post(
        "/api/v1/projects", headers=h, json={"name": "eps", "labels": ["a", "b"], "task": "tarot"}
    )
    assert refused.status_code == 422 and "implemented task types" in refused.text
    r = client.post(
        "/api/v1/users", headers=h, json={"name": "newbie", "password": "long-enough-pw"}
    )
    assert r.status_code == 201 and r.json()["is_superuser"] is False
    assert (
        client.post(
            "/api/v1/projects",
            headers=h,
            json={"name": "gamma", "labels": ["a", "b"], "backbone": "fake"},
        ).status_code
        == 409
    )
