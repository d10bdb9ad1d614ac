"""Issue 17, items 1, 6 and 7 through the REST API, on SQLite and PostgreSQL: settings that
bricked a project, inputs PostgreSQL cannot store (500 there, an answer on SQLite), and the
dashboard (admins only, computed once per change of the project)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from server_factories import Env, make_env

from labelloop.errors import InvalidInput
from labelloop.server import ServerSettings, create_app


@pytest.fixture
def env_db(workspace, tmp_path: Path) -> Env:
    return make_env(workspace, tmp_path, n=12)


@pytest.fixture
def api(env_db: Env) -> Iterator[TestClient]:
    # a server error is a 500 answer here, not an exception: the assertions name the status
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver", raise_server_exceptions=False) as c:
        yield c


def _refused(response: httpx.Response, status: int = 422) -> str:
    """The message of a refusal with ``status`` and the one error body."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] in ("InvalidInput", "NotFound", "Unauthenticated"), error
    return str(error["message"])


def _next(api: TestClient, env: Env, who: str = "alpha-annotator") -> dict:
    r = api.get("/api/v1/projects/alpha/next", headers=env.auth(who))
    assert r.status_code == 200, r.text
    return r.json()["items"][0]


def _submit(api: TestClient, env: Env, item: dict, who: str = "alpha-annotator") -> dict:
    body = {"item_id": item["item_id"], "value": "sports"}
    r = api.post("/api/v1/projects/alpha/annotations", json=body, headers=env.auth(who))
    assert r.status_code == 201, r.text
    return r.json()


# -- item 1: settings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [("lease_seconds", 1e12), ("lease_seconds", 10**12), ("retrain_every", 1e20),
     ("retrain_every", 10**20), ("seed", 2**63), ("gold_rate", 2), ("strategy", 3)],
)  # fmt: skip
def test_settings_that_bricked_a_project_are_refused(api, env_db, setting, value):
    h = env_db.auth("alpha-admin")
    r = api.patch("/api/v1/projects/alpha", json={"settings": {setting: value}}, headers=h)
    assert setting in _refused(r)
    assert api.get("/api/v1/projects/alpha", headers=h).json()["settings"][setting] != value
    _submit(api, env_db, _next(api, env_db))  # the project still hands out and takes items


def test_settings_are_json_numbers_strings_or_booleans(api, env_db):
    h = env_db.auth("alpha-admin")
    body = {"settings": {"gold_rate": 0.05, "blind_rate": "0.1", "finetune": True, "seed": 3}}
    r = api.patch("/api/v1/projects/alpha", json=body, headers=h)
    assert r.status_code == 200, r.text
    settings = r.json()["settings"]
    assert (settings["gold_rate"], settings["blind_rate"]) == (0.05, 0.1)
    assert (settings["finetune"], settings["seed"]) == (True, 3)
    # the OpenAPI spec says so too: each setting has its type and range
    spec = api.get("/api/v1/openapi.json").json()["components"]["schemas"]["ProjectSettings"]
    assert spec["properties"]["lease_seconds"]["maximum"] == 30 * 24 * 3600
    assert spec["properties"]["gold_rate"]["type"] == "number"


def test_a_stored_out_of_range_setting_does_not_brick_next_or_submit(api, env_db):
    """A workspace written before settings were checked may hold any number: `next` and submit
    keep working, and putting the setting back takes effect without a restart (the submit's
    retrain-count cache once kept the broken value until then)."""
    from labelloop.store import Project

    with env_db.ws.transaction() as session:
        project = session.query(Project).filter_by(name="alpha").one()
        project.settings = {**project.settings, "retrain_every": 10**20, "lease_seconds": 10**13}
    first = _submit(api, env_db, _next(api, env_db))
    assert first["retrain_due"] is False
    h = env_db.auth("alpha-admin")
    r = api.patch("/api/v1/projects/alpha", json={"settings": {"retrain_every": 2}}, headers=h)
    assert r.status_code == 200, r.text
    second = _submit(api, env_db, _next(api, env_db))
    assert second["retrain_due"] is True  # two answers since training, and retrain_every is 2


# -- item 6: what PostgreSQL cannot store is refused on both databases --------------------------


def test_a_nul_in_a_login_name_is_a_failed_login(api, env_db):
    page = api.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = api.post(
        "/login",
        data={"name": "root\x00", "password": env_db.passwords["root"], "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 401, r.text
    assert "Wrong user name or password" in r.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/projects/al%00pha"),
        ("GET", "/api/v1/projects/alpha/review?source=%00"),
        ("GET", "/api/v1/tokens?user=root%00"),
        ("PUT", "/api/v1/projects/alpha/members/bob%00"),
        ("GET", "/projects/al%00pha/annotate"),
    ],
)
def test_a_nul_in_the_url_is_refused(api, env_db, method, path):
    r = api.request(method, path, headers=env_db.auth("root"), json={"role": "annotator"})
    assert "NUL" in _refused(r)


def test_a_nul_in_a_json_string_is_refused(api, env_db):
    item = _next(api, env_db)
    h = env_db.auth("alpha-annotator")
    body = {"item_id": item["item_id"], "value": "sports", "request_id": "r\x00"}
    assert "NUL" in _refused(api.post("/api/v1/projects/alpha/annotations", json=body, headers=h))
    body = {"name": "eve\x00", "password": "long enough"}
    assert "NUL" in _refused(api.post("/api/v1/users", json=body, headers=env_db.auth("root")))
    # the Python API refuses it too
    with pytest.raises(InvalidInput, match="request_id"):
        env_db.ws.submit("alpha", item["item_id"], "sports", annotator="x", request_id="r\x00")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/projects/alpha/items/4611686018427387904", None),  # 2**62
        ("GET", "/api/v1/projects/alpha/items/2147483648/media", None),
        ("POST", "/api/v1/projects/alpha/items/2147483648/skip", None),
        ("POST", "/api/v1/projects/alpha/annotations", {"item_id": 2**62, "value": "sports"}),
        ("POST", "/api/v1/projects/alpha/models/2147483648/promote", None),  # 2**31
        ("DELETE", "/api/v1/tokens/2147483648", None),
    ],
)
def test_ids_beyond_what_the_columns_hold_are_refused(api, env_db, method, path, body):
    r = api.request(method, path, json=body, headers=env_db.auth("root"))
    assert "less than or equal to 2147483647" in _refused(r)


def test_the_largest_id_the_columns_hold_is_simply_not_found(api, env_db):
    r = api.get("/api/v1/projects/alpha/items/2147483647", headers=env_db.auth("root"))
    _refused(r, 404)


def test_a_label_studio_annotator_longer_than_the_column_is_refused(api, env_db, tmp_path):
    def task(i: int, who: str) -> dict:
        choice = {"type": "choices", "from_name": "label", "to_name": "text",
                  "value": {"choices": ["sports"]}}  # fmt: skip
        return {
            "id": i,
            "data": {"text": f"a brand new match report {i}"},
            "annotations": [{"result": [choice], "completed_by": who}],
        }

    h = env_db.auth("alpha-admin")
    before = api.get("/api/v1/projects/alpha/status", headers=h).json()["items"]
    tasks = [task(1, "ann@example.com"), task(2, "x" * 300)]
    upload = {"file": ("tasks.json", json.dumps(tasks), "application/json")}
    r = api.post("/api/v1/projects/alpha/import", files=upload, headers=h)
    message = _refused(r)
    assert "completed_by" in message and "300 characters, over 200" in message
    # one transaction: the valid first task is not imported either
    assert api.get("/api/v1/projects/alpha/status", headers=h).json()["items"] == before


# -- item 7: the dashboard is for admins, and computed once per change --------------------------


@pytest.mark.parametrize("who", ["alpha-annotator", "alpha-reviewer"])
def test_the_dashboard_is_for_the_project_admins(api, env_db, who):
    h = env_db.auth(who)
    for path in ("/projects/alpha/dashboard", "/projects/alpha/plots/learning-curve.svg"):
        assert api.get(path, headers=h).status_code == 403
    assert api.get("/api/v1/projects/alpha/stats", headers=h).status_code == 403
    assert "/dashboard" not in api.get("/projects/alpha/annotate", headers=h).text
    h = env_db.auth("alpha-admin")
    assert api.get("/projects/alpha/dashboard", headers=h).status_code == 200
    assert "/projects/alpha/dashboard" in api.get("/projects/alpha/annotate", headers=h).text


def test_concurrent_dashboard_loads_compute_once_per_change(env_db, monkeypatch):
    from labelloop.server import plots
    from labelloop.services import stats

    counts = {"dashboard": 0, "render": 0}
    real_dashboard, real_render = stats.dashboard, plots.render

    def counted(name, real):
        def call(*args, **kwargs):
            counts[name] += 1
            return real(*args, **kwargs)

        return call

    monkeypatch.setattr(stats, "dashboard", counted("dashboard", real_dashboard))
    monkeypatch.setattr(plots, "render", counted("render", real_render))
    h = env_db.auth("alpha-admin")
    paths = ["/projects/alpha/dashboard", "/projects/alpha/plots/learning-curve.svg"]
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, httpx.Client(base_url=url, headers=h, timeout=60) as c:

        def load_all() -> list[int]:
            statuses: list[int] = []

            def load() -> None:
                statuses.extend(c.get(path).status_code for path in paths)

            threads = [threading.Thread(target=load) for _ in range(10)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return statuses

        assert load_all() == [200] * 20
        assert counts == {"dashboard": 1, "render": 1}
        item = c.get("/api/v1/projects/alpha/next").json()["items"][0]
        r = c.post("/api/v1/projects/alpha/annotations",
                   json={"item_id": item["item_id"], "value": "tech"})  # fmt: skip
        assert r.status_code == 201
        assert load_all() == [200] * 20  # the project changed: computed again, once
        assert counts == {"dashboard": 2, "render": 2}
        board = c.get("/api/v1/projects/alpha/stats").json()
        assert board["status"]["labelled"] == 1 and counts["dashboard"] == 2
