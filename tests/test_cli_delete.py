"""``labelloop project delete`` and ``delete-items`` as a user runs them (a real subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

from factories import labelled_csv
from test_cli import run


def test_delete_items_then_the_project(tmp_path: Path):
    ws = tmp_path / "ws"
    run(ws, "project", "create", "news", "--labels", "sports,tech,politics", "--backbone", "fake")
    pool = labelled_csv(tmp_path / "pool.csv", 12)
    run(ws, "import", "news", str(pool), "--label-field", "label", "--annotator", "ann")
    # a script that did not say --yes deletes nothing
    refused = run(ws, "project", "delete-items", "news", "1", "2", check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip().endswith("cannot be undone: add --yes to confirm")
    assert json.loads(run(ws, "status", "news", "--json").stdout)["items"] == 12
    unknown = run(ws, "project", "delete-items", "news", "1", "999", "--yes", check=False)
    assert unknown.returncode == 3 and "999; nothing was deleted" in unknown.stderr

    deleted = json.loads(
        run(ws, "project", "delete-items", "news", "1", "2", "--yes", "--json").stdout
    )
    assert deleted["items"] == 2 and deleted["rows"]["annotations"] == 2
    status = json.loads(run(ws, "status", "news", "--json").stdout)
    assert status["items"] == 10 and status["labelled"] == 10

    assert run(ws, "project", "delete", "news", check=False).returncode == 2
    gone = json.loads(run(ws, "project", "delete", "news", "--yes", "--json").stdout)
    assert gone["project_deleted"] and gone["items"] == 10
    assert json.loads(run(ws, "project", "list", "--json").stdout) == []
    missing = run(ws, "project", "delete", "news", "--yes", check=False)
    assert missing.returncode == 3 and "no project named 'news'" in missing.stderr
