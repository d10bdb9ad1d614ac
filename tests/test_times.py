"""Every time labelloop prints (CLI JSON and tables, exports) is ISO 8601 in UTC with a ``Z``,
on SQLite (which stores no zone) as on PostgreSQL."""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from factories import labelled_csv
from labelloop import ImportOptions
from labelloop.cli import app
from labelloop.services import users

ZONED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def times(value: Any, key: str = "") -> list[str]:
    """Every string under a key that names a time (``*_at``, ``at``) in a JSON document."""
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in times(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in times(v, key)]
    if isinstance(value, str) and (key.endswith("_at") or key == "at"):
        return [value]
    return []


def _project(ws, tmp_path: Path) -> None:
    ws.create_project("news", labels=["sports", "tech", "politics"], backbone="fake")
    pool = labelled_csv(tmp_path / "pool.csv", 30)
    ws.import_file("news", pool, ImportOptions(id_field="id", label_field="label"))
    ws.train("news")


def test_stored_times_come_back_in_utc_and_exports_carry_the_zone(workspace, tmp_path: Path):
    _project(workspace, tmp_path)
    assert all(m.created_at.tzinfo is not None for m in workspace.models("news"))
    assert all(m.created_at.utcoffset() == UTC.utcoffset(None) for m in workspace.models("news"))

    workspace.export("news", tmp_path / "out.jsonl")
    rows = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    found = times(rows)
    assert len(found) >= 60  # provenance and history of 30 labels
    assert all(ZONED.fullmatch(t) for t in found), found[:3]

    workspace.export("news", tmp_path / "out.csv")
    with (tmp_path / "out.csv").open(newline="") as f:
        stamps = [row["annotated_at"] for row in csv.DictReader(f)]
    assert len(stamps) == 30 and all(ZONED.fullmatch(t) for t in stamps), stamps[:3]


def test_cli_json_and_tables_print_zoned_times(sqlite_workspace, tmp_path: Path):
    _project(sqlite_workspace, tmp_path)
    users.add_user(sqlite_workspace, "bob", password="a long password 1")
    users.create_token(sqlite_workspace, "bob")
    folder = str(sqlite_workspace.path)
    runner = CliRunner()
    for args in (["models", "news", "--json"], ["token", "list", "--json"]):
        result = runner.invoke(app, ["-w", folder, *args])
        assert result.exit_code == 0, result.output
        found = times(json.loads(result.stdout))
        assert found and all(ZONED.fullmatch(t) for t in found), (args, found)
    table = runner.invoke(app, ["-w", folder, "token", "list"])
    assert ZONED.search(table.stdout), table.stdout
