"""The main job: `labelloop demo` builds a real project, pre-annotated by the default backbone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import labelloop
from labelloop.services.users import authenticate

pytestmark = [pytest.mark.real_model, pytest.mark.slow]


def _demo(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    code = "from labelloop.cli import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, "demo", "--no-serve", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )


def test_demo_builds_a_pre_annotated_project_and_its_admin(tmp_path: Path):
    proc = _demo(tmp_path, "--password", "demo-secret-1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("log in as  admin / demo-secret-1")
    assert "http://" not in proc.stdout  # --no-serve: no URL that nothing serves
    ws = labelloop.open_workspace(tmp_path)
    try:
        status = ws.status("yahoo-answers")
        assert status.items == 2030 and status.labelled == 30  # 2,000 pool + 3 seeds x 10 topics
        assert status.suggestions == 2000  # every unlabelled item is pre-annotated
        champion = [m for m in ws.models("yahoo-answers") if m.status == "champion"]
        assert [m.kind for m in champion] == ["head"]
        assert champion[0].backbone == "minilm-l6"
        items = ws.next_items("yahoo-answers", n=3)
        assert all(it.suggestion is not None for it in items)
        assert authenticate(ws, "admin", "demo-secret-1") is not None
    finally:
        ws.close()
    # running it again reuses everything and only sets a new admin password
    again = _demo(tmp_path, "--password", "demo-secret-2")
    assert again.returncode == 0, again.stderr
    assert "pool: 0 new items" in again.stderr
    ws = labelloop.open_workspace(tmp_path)
    try:
        assert ws.status("yahoo-answers").items == 2030
        assert authenticate(ws, "admin", "demo-secret-2") is not None
    finally:
        ws.close()
