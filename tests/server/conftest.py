"""Fixtures of the server tests: an app over a fresh workspace with users of every role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_factories import Env, make_env

from labelloop.server import ServerSettings, create_app


@pytest.fixture
def env(sqlite_workspace, tmp_path: Path) -> Env:
    return make_env(sqlite_workspace, tmp_path)


@pytest.fixture
def settings() -> ServerSettings:
    return ServerSettings(max_body_bytes=64 << 10, max_upload_bytes=256 << 10)


@pytest.fixture
def client(env: Env, settings: ServerSettings) -> Iterator[TestClient]:
    app = create_app(env.ws, settings)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def login(client: TestClient, name: str, password: str) -> str:
    """Log in through the form like a browser; returns the page's CSRF token."""
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/")
    return home.text.split('name="csrf-token" content="')[1].split('"')[0]
