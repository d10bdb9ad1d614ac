"""Shared test fixtures: fresh workspaces on SQLite and (when reachable) PostgreSQL.

PostgreSQL tests use ``LABELLOOP_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); each test gets its own schema, dropped
afterwards, so runs never collide. Where PostgreSQL is unreachable those tests skip with a message,
unless ``LABELLOOP_REQUIRE_POSTGRES=1`` (set by ``.ci/run``), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

POSTGRES_URL = os.environ.get(
    "LABELLOOP_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_schema_url() -> Iterator[str]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        admin = psycopg.connect(conninfo, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        message = (
            f"PostgreSQL unreachable at {POSTGRES_URL} ({str(exc).strip().splitlines()[0]}); "
            "start it or set LABELLOOP_TEST_POSTGRES_URL to run the PostgreSQL tests"
        )
        if os.environ.get("LABELLOOP_REQUIRE_POSTGRES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    finally:
        admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str | None]:
    """``None`` (SQLite in the workspace folder) or a PostgreSQL URL with a private schema."""
    if request.param == "sqlite":
        yield None
    else:
        yield from _postgres_schema_url()


@pytest.fixture
def workspace(tmp_path: Path, database_url: str | None):
    """A fresh workspace, on SQLite and on PostgreSQL."""
    import labelloop

    ws = labelloop.open_workspace(tmp_path / "ws", database_url=database_url)
    yield ws
    ws.close()


@pytest.fixture
def sqlite_workspace(tmp_path: Path):
    """A fresh SQLite workspace, for tests where the database is not the point."""
    import labelloop

    ws = labelloop.open_workspace(tmp_path / "ws")
    yield ws
    ws.close()
