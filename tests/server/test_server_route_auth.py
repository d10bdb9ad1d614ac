"""Every route is checked from the app's own route list: anonymous, wrong role, other project.

A new route without an auth dependency (and not on the public allow-list) fails this suite.
"""

from __future__ import annotations

from typing import Any

import pytest

from labelloop.server import PUBLIC_ROUTES
from labelloop.server.deps import LoggedIn, ProjectRole, auth_of, iter_routes
from labelloop.services.users import ROLES


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """One read-mostly environment for the whole table (refused requests change nothing)."""
    from server_factories import make_env

    import labelloop

    folder = tmp_path_factory.mktemp("routes")
    ws = labelloop.open_workspace(folder / "ws")
    yield make_env(ws, folder)
    ws.close()


@pytest.fixture(scope="module")
def client(env):
    from fastapi.testclient import TestClient

    from labelloop.server import ServerSettings, create_app

    with TestClient(create_app(env.ws, ServerSettings())) as c:
        yield c


def routes(app: Any) -> list[tuple[str, str, Any]]:
    return iter_routes(app)


def fill(path: str, env: Any, *, project: str = "alpha", item: int | None = None) -> str:
    return (
        path.replace("{project}", project)
        .replace("{item_id}", str(item if item is not None else env.items[project][0]))
        .replace("{version}", "1")
        .replace("{username}", "alpha-annotator")
        .replace("{kind}", "learning-curve")
        .replace("{comment_id}", "1")
    )


def call(client: Any, method: str, path: str, **kw: Any) -> Any:
    return client.request(method, path, follow_redirects=False, **kw)


def protected(app: Any) -> list[tuple[str, str, Any]]:
    return [(m, p, r) for m, p, r in routes(app) if (m, p) not in PUBLIC_ROUTES]


def test_every_route_declares_auth_or_is_public(client):
    missing = [f"{m} {p}" for m, p, r in protected(client.app) if auth_of(r) is None]
    assert missing == []
    assert len(protected(client.app)) > 25  # the table really covers the app


def test_public_routes_exist(client):
    listed = {(m, p) for m, p, _ in routes(client.app)}
    assert listed >= PUBLIC_ROUTES


def test_anonymous_is_refused_everywhere(client, env):
    for method, path, _ in protected(client.app):
        r = call(client, method, fill(path, env))
        if path.startswith("/api/"):
            assert r.status_code == 401, f"{method} {path}: {r.status_code}"
            assert r.json()["error"]["type"] == "Unauthenticated"
        else:
            assert r.status_code == 303, f"{method} {path}: {r.status_code}"
            assert r.headers["location"].startswith("/login?next=")


def test_bad_token_is_refused(client, env):
    for method, path, _ in protected(client.app):
        if path.startswith("/api/"):
            r = call(client, method, fill(path, env), headers={"Authorization": "Bearer nope"})
            assert r.status_code == 401, f"{method} {path}"


def _below(role: str) -> list[str]:
    return list(ROLES[: ROLES.index(role)])


def test_wrong_role_gets_403(client, env):
    checked = 0
    for method, path, route in protected(client.app):
        auth = auth_of(route)
        if isinstance(auth, LoggedIn):
            if auth.superuser:
                r = call(client, method, fill(path, env), headers=env.auth("alpha-admin"))
                assert r.status_code == 403, f"{method} {path}"
                checked += 1
            continue
        assert isinstance(auth, ProjectRole)
        for weaker in _below(auth.role):
            r = call(client, method, fill(path, env), headers=env.auth(f"alpha-{weaker}"))
            assert r.status_code == 403, f"{method} {path} as {weaker}: {r.status_code} {r.text}"
            checked += 1
    assert checked > 10


def test_non_members_do_not_see_the_project(client, env):
    for method, path, route in protected(client.app):
        if isinstance(auth_of(route), ProjectRole):
            r = call(client, method, fill(path, env), headers=env.auth("beta-admin"))
            assert r.status_code == 404, f"{method} {path}: {r.status_code}"


@pytest.mark.parametrize("user", ["root", "alpha-admin", "alpha-annotator"])
def test_another_projects_item_is_not_found(client, env, user):
    other = env.items["beta"][0]
    checked = 0
    for method, path, route in protected(client.app):
        if "{item_id}" not in path:
            continue
        auth = auth_of(route)
        if isinstance(auth, ProjectRole) and not _has(env, user, auth.role):
            continue
        answers = ("/review/{item_id}", "/gold/{item_id}")  # routes whose body is an answer
        body = {"value": "sports"} if path.endswith(answers) and method != "DELETE" else None
        if path.endswith("/comments") and method == "POST":
            body = {"body": "a comment"}
        r = call(client, method, fill(path, env, item=other), headers=env.auth(user), json=body)
        assert r.status_code == 404, f"{method} {path} as {user}: {r.status_code} {r.text}"
        checked += 1
    assert checked >= 3
    # and through the submit body
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth(user),
        json={"item_id": other, "value": "sports"},
    )
    assert r.status_code == 404


def _has(env: Any, user: str, role: str) -> bool:
    if user == "root":
        return True
    mine = user.split("-", 1)[1]
    return ROLES.index(mine) >= ROLES.index(role)


def test_unknown_model_version_is_not_found(client, env):
    r = client.post("/api/v1/projects/alpha/models/999/promote", headers=env.auth("alpha-admin"))
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "NotFound"


def test_annotator_cannot_answer_items_not_handed_to_them(client, env):
    item = env.items["alpha"][-1]
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("alpha-annotator"),
        json={"item_id": item, "value": "tech"},
    )
    assert r.status_code == 403
    assert r.json()["error"]["type"] == "PermissionDenied"
