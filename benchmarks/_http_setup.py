"""A benchmark workspace for the HTTP benchmarks: one project of generated items with suggestions.

Shared by ``http_latency.py`` and ``http_profile.py``. Re-running on the same folder (or the same
PostgreSQL database) reuses the project; only the annotators' API tokens are created anew.
"""

from __future__ import annotations

import csv
import os
import random
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

PROJECT = "bench"
WORDS = {
    "sports": ["match", "goal", "team", "coach", "league", "score", "player", "season"],
    "tech": ["software", "chip", "computer", "internet", "startup", "data", "robot", "phone"],
    "politics": ["election", "vote", "minister", "parliament", "law", "party", "senate", "policy"],
}
LABELS = list(WORDS)


def bench_workspace(folder: Path, *, items: int, database_url: str | None) -> Any:
    """Open the workspace in ``folder`` and make sure project ``bench`` exists with ``items`` items.

    Items are generated; the fake backbone gives every item a suggestion (``ws.predict``). The
    project keeps the default settings; the benchmark servers run without background
    retraining, so a submit that finds a retrain due changes nothing.
    """
    import labelloop

    ws = labelloop.open_workspace(folder / "ws", database_url=database_url)
    if PROJECT not in {p.name for p in ws.list_projects()}:
        _create(ws, folder, items)
    if ws.engine.dialect.name == "postgresql":
        # Planner statistics: without them (autovacuum off, or not yet run after the bulk
        # import) PostgreSQL plans the queue query as a sort of the whole pool, seconds a call.
        with ws.engine.begin() as connection:
            connection.exec_driver_sql("ANALYZE")
    return ws


def _create(ws: Any, folder: Path, items: int) -> None:
    ws.create_project(PROJECT, labels=LABELS, backbone="fake")
    rng = random.Random(0)
    path = folder / "items.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text"])
        for i in range(items):
            label = LABELS[i % len(LABELS)]
            writer.writerow([" ".join(rng.sample(WORDS[label], 4)) + f" item {i}"])
    ws.import_file(PROJECT, path)
    ws.train(PROJECT)
    ws.predict(PROJECT)


def annotator_tokens(ws: Any, n: int) -> dict[str, str]:
    """``n`` annotators of project ``bench`` (created if needed) -> a fresh API token each."""
    from labelloop.services import users

    tokens = {}
    for i in range(n):
        name = f"bench-{i:02d}"
        users.add_user(ws, name, role="annotator", project=PROJECT)
        tokens[name] = users.create_token(ws, name)
    return tokens
