"""The stored vocabulary (sources, model statuses and kinds) and the one list of export formats."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from factories import labelled_csv
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data.formats import (
    BOX_ONLY_FORMATS,
    EXPORT_FORMATS,
    FILE_EXPORT_FORMATS,
    FOLDER_EXPORT_FORMATS,
    SPANS_ONLY_FORMATS,
    export_formats_for,
)
from labelloop.services.data.importing import ImportOptions
from labelloop.store import Annotation, Item, ModelKind, ModelStatus, ModelVersion, Project, Source
from labelloop.tasks import get_task

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _project_with_items(ws, tmp_path: Path, n: int = 3) -> None:
    ws.create_project("news", labels=["sports", "tech", "politics"], backbone="fake")
    ws.import_file("news", labelled_csv(tmp_path / "pool.csv", n), ImportOptions(id_field="id"))


def test_every_source_round_trips_through_the_database(workspace, tmp_path: Path):
    _project_with_items(workspace, tmp_path)
    with workspace.transaction() as session:
        project_id = session.scalar(select(Project.id))
        item_id = session.scalar(select(Item.id).limit(1))
        for source in Source:
            session.add(
                Annotation(
                    project_id=project_id,
                    item_id=item_id,
                    value=["tech"],
                    source=source,
                    annotator="alice",
                    is_current=False,
                )
            )
    with workspace.transaction() as session:
        stored = session.scalars(select(Annotation.source).order_by(Annotation.id)).all()
        raw = session.execute(text("SELECT source FROM annotations ORDER BY id")).scalars().all()
    # the member's value, not its name, is what lands in the column
    assert raw == stored == [s.value for s in Source]
    assert [Source(s) for s in stored] == list(Source)


def test_every_model_status_and_kind_round_trips_through_the_database(workspace, tmp_path):
    _project_with_items(workspace, tmp_path)
    pairs = [(status, kind) for status in ModelStatus for kind in ModelKind]
    with workspace.transaction() as session:
        project_id = session.scalar(select(Project.id))
        for version, (status, kind) in enumerate(pairs, start=1):
            session.add(
                ModelVersion(
                    project_id=project_id,
                    version=version,
                    status=status,
                    kind=kind,
                    backbone="fake",
                    head="logreg",
                )
            )
    with workspace.transaction() as session:
        raw = session.execute(
            text("SELECT status, kind FROM model_versions ORDER BY version")
        ).all()
    assert [tuple(r) for r in raw] == [(s.value, k.value) for s, k in pairs]
    assert [(ModelStatus(s), ModelKind(k)) for s, k in raw] == pairs
    listed = workspace.models("news")
    assert sorted((m.status, m.kind) for m in listed) == sorted(pairs)


def test_file_and_folder_formats_partition_the_export_formats():
    assert set(FOLDER_EXPORT_FORMATS) < set(EXPORT_FORMATS)
    assert tuple(f for f in EXPORT_FORMATS if f not in FOLDER_EXPORT_FORMATS) == FILE_EXPORT_FORMATS


def _cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "LABELLOOP_WORKSPACE": str(workspace),
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "TERM": "dumb",
    }
    return subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _listed(sentence: str) -> tuple[str, ...]:
    """``a, b or c`` -> ``("a", "b", "c")``."""
    head, _, last = sentence.rpartition(" or ")
    return (*[w.strip() for w in head.split(",")], last.strip())


def test_cli_export_help_and_error_list_exactly_the_export_formats(tmp_path: Path):
    ws = tmp_path / "ws"
    helped = _cli(ws, "export", "--help")
    assert helped.returncode == 0, helped.stderr
    line = next(ln for ln in helped.stdout.splitlines() if "--format" in ln)
    sentence = re.search(r"--format\s+\S+\s+(.+?)\.", line)
    assert sentence is not None, line
    assert _listed(sentence.group(1)) == EXPORT_FORMATS

    assert _cli(ws, "project", "create", "news", "--labels", "a,b").returncode == 0
    failed = _cli(ws, "export", "news", str(tmp_path / "out.xml"), "--format", "xml")
    assert failed.returncode != 0
    listed = re.search(r"one of ([\w, -]+)", failed.stderr)
    assert listed is not None, failed.stderr
    assert tuple(listed.group(1).split(", ")) == EXPORT_FORMATS


@pytest.fixture
def admin_client(sqlite_workspace, tmp_path: Path):
    _project_with_items(sqlite_workspace, tmp_path)
    users.add_user(sqlite_workspace, "root", password="pw-root!!", superuser=True)
    token = users.create_token(sqlite_workspace, "root")
    app = create_app(sqlite_workspace, ServerSettings())
    with TestClient(app, base_url="http://testserver") as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client


def test_rest_export_offers_and_downloads_every_format(admin_client):
    spec = admin_client.get("/api/v1/openapi.json").json()
    params = spec["paths"]["/api/v1/projects/{project}/export"]["get"]["parameters"]
    offered = next(p for p in params if p["name"] == "format")["schema"]["enum"]
    assert tuple(offered) == EXPORT_FORMATS
    unfit = set(EXPORT_FORMATS) - set(export_formats_for(get_task("text-classification")))
    assert unfit == {*SPANS_ONLY_FORMATS, *BOX_ONLY_FORMATS, "folders"}
    for format in EXPORT_FORMATS:
        r = admin_client.get(f"/api/v1/projects/news/export?format={format}")
        if format in (*SPANS_ONLY_FORMATS, *BOX_ONLY_FORMATS, "folders"):
            # a text classification project has no spans, boxes or media files to write
            assert r.status_code == 422, (format, r.text)
            assert r.json()["error"]["field"] == "format"
            assert f"the {format} format" in r.json()["error"]["message"]
            continue
        assert r.status_code == 200, (format, r.text)
        if format == "label-studio-config":  # the labelling config, no rows
            assert r.content.lstrip().startswith(b"<View")
            continue
        assert r.headers["x-labelloop-rows"] == "3"
        if format in FOLDER_EXPORT_FORMATS:  # a folder comes zipped
            assert r.content[:2] == b"PK", format
    r = admin_client.get("/api/v1/projects/news/export?format=xml")
    assert r.status_code == 422, r.text
    message = r.json()["error"]["message"]
    listed = re.search(r"one of ([\w, -]+)", message)
    assert listed is not None, message
    assert tuple(listed.group(1).split(", ")) == EXPORT_FORMATS


def test_docs_list_the_same_export_formats():
    cli = re.search(r"labelloop export .*--format ([\w|-]+)", (DOCS / "cli.md").read_text())
    api = re.search(r"/export\?format=([\w\\|-]+)&", (DOCS / "api.md").read_text())
    assert cli is not None and api is not None
    assert tuple(cli.group(1).split("|")) == EXPORT_FORMATS
    assert tuple(api.group(1).split("\\|")) == EXPORT_FORMATS
