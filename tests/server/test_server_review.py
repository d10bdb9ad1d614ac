"""The review queue and project creation through the edges: HTTP and the CLI agree, and a
use-case that fails over HTTP leaves nothing behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from labelloop.errors import Conflict
from labelloop.services import users
from labelloop.services.quality import qa


def _cli(env, *args: str) -> str:
    environ = {**os.environ, "LABELLOOP_WORKSPACE": str(env.ws.path), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *args],
        capture_output=True, text=True, env=environ, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_http_and_cli_list_the_same_review_items_and_never_a_gold_item(client, env):
    ws = env.ws
    disputed, flagged, gold = env.items["alpha"][:3]
    ws.submit("alpha", disputed, "sports", annotator="alice")
    ws.submit("alpha", disputed, "politics", annotator="bob")
    qa.flag(ws, "alpha", flagged, "this is about chips", annotator="alice")
    qa.set_gold(ws, "alpha", gold, "tech")
    qa.flag(ws, "alpha", gold, "the suggestion is wrong", annotator="alice")  # a flag on gold
    ws.submit("alpha", gold, "sports", annotator="alice")
    ws.submit("alpha", gold, "politics", annotator="bob")

    r = client.get("/api/v1/projects/alpha/review?limit=50", headers=env.auth("alpha-reviewer"))
    assert r.status_code == 200, r.text
    over_http = {c["item_id"]: c["reasons"] for c in r.json()}
    from_cli = {
        c["item_id"]: c["reasons"]
        for c in json.loads(_cli(env, "qa", "review", "alpha", "--limit", "50", "--json"))
    }
    assert over_http == from_cli
    assert "disagreement" in over_http[disputed] and "flag" in over_http[flagged]
    assert gold not in over_http


def test_a_project_whose_admin_cannot_be_added_is_not_created(client, env, monkeypatch):
    def fail(*args, **kwargs):
        raise Conflict("the membership could not be stored")

    monkeypatch.setattr(users, "_set_member", fail)
    h = env.auth("root")
    body = {"name": "gamma", "labels": ["a", "b"], "backbone": "fake"}
    r = client.post("/api/v1/projects", headers=h, json=body)
    assert r.status_code == 409 and "membership" in r.text
    assert client.get("/api/v1/projects/gamma", headers=h).status_code == 404
    assert "gamma" not in {p["name"] for p in client.get("/api/v1/projects", headers=h).json()}
