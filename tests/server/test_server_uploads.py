"""Issue 17, item 3: uploads are authorized before their body is read, bodies stop at the limit,
and meta, JSON nesting and decompressed Parquet sizes are capped."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from server_factories import Env, make_env

from labelloop.server import ServerSettings, create_app


@pytest.fixture
def env_db(workspace, tmp_path: Path) -> Env:
    return make_env(workspace, tmp_path, n=12)


def _chunks(total: int, seen: list[int]):
    """A multipart body of ``total`` bytes, sent in chunks (no Content-Length) as the server
    asks for them; ``seen`` grows by one per chunk sent."""
    yield b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\n'
    sent = 0
    while sent < total:
        seen.append(1)
        sent += 64 << 10
        yield b"x" * (64 << 10)


@pytest.mark.parametrize("who", [None, "beta-admin", "alpha-annotator"])
def test_an_upload_is_refused_before_its_body_is_read(env_db, who):
    settings = ServerSettings(background_retrain=False, max_upload_bytes=64 << 20)
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    if who is not None:
        headers.update(env_db.auth(who))
    with LiveServer(create_app(env_db.ws, settings)) as url:
        pulled: list[int] = []
        with httpx.Client(base_url=url, timeout=60) as c:
            try:
                r = c.post(
                    "/api/v1/projects/alpha/import",
                    content=_chunks(32 << 20, pulled),
                    headers=headers,
                )
            except httpx.HTTPError:
                pytest.fail("the server dropped the connection instead of answering")
    assert r.status_code == {None: 401, "beta-admin": 404, "alpha-annotator": 403}[who]
    assert r.json()["error"]["type"]
    # the server answered before asking for the body: far less than the 32 MiB was sent
    assert len(pulled) * (64 << 10) < 8 << 20


def test_a_chunked_body_over_the_limit_is_stopped_with_413(env_db):
    settings = ServerSettings(background_retrain=False, max_upload_bytes=1 << 20)
    pulled: list[int] = []
    with LiveServer(create_app(env_db.ws, settings)) as url, httpx.Client(base_url=url) as c:
        r = c.post(
            "/api/v1/projects/alpha/import",
            content=_chunks(32 << 20, pulled),
            headers={"Content-Type": "multipart/form-data; boundary=xyz", **env_db.auth("root")},
        )
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "PayloadTooLarge"
    assert len(pulled) * (64 << 10) < 8 << 20


def test_json_nested_too_deep_gets_422_with_the_error_body(env):
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    body = '{"item_id": 1, "value": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/projects/alpha/annotations",
            content=body,
            headers={"Content-Type": "application/json", **env.auth("root")},
        )
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "InvalidInput"
    assert "deeper" in r.json()["error"]["message"]


def test_a_huge_meta_is_refused_at_import(env_db):
    app = create_app(env_db.ws, ServerSettings(background_retrain=False, max_meta_bytes=1000))
    rows = [{"text": "a fine text", "meta": {"blob": "x" * 5000}}]
    content = "\n".join(json.dumps(r) for r in rows).encode()
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/projects/alpha/import",
            files={"file": ("rows.jsonl", content, "application/json")},
            headers=env_db.auth("root"),
        )
    assert r.status_code == 422, r.text
    assert "meta" in r.json()["error"]["message"]


def test_a_parquet_file_that_expands_past_the_cap_is_refused_before_reading(env_db, tmp_path):
    path = tmp_path / "bomb.parquet"
    table = pa.table({"text": ["z" * 100_000 + str(i) for i in range(40)]})
    pq.write_table(table, path, compression="zstd", use_dictionary=False)
    assert path.stat().st_size < 100_000  # 4 MB of text in a small file
    settings = ServerSettings(background_retrain=False, max_decompressed_bytes=1 << 20)
    with TestClient(create_app(env_db.ws, settings)) as c:
        r = c.post(
            "/api/v1/projects/alpha/import",
            files={"file": ("bomb.parquet", path.read_bytes(), "application/octet-stream")},
            headers=env_db.auth("root"),
        )
    assert r.status_code == 422, r.text
    assert "uncompressed" in r.json()["error"]["message"]
