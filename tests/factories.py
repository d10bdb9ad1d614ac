"""Factories for test data: small, generated, owned by each test."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any

TOPICS = {
    "sports": ["match", "goal", "team", "coach", "league", "score", "player", "season"],
    "tech": ["software", "chip", "computer", "internet", "startup", "data", "robot", "phone"],
    "politics": ["election", "vote", "minister", "parliament", "law", "party", "senate", "policy"],
}


def topic_texts(n: int, *, seed: int = 0, labels: list[str] | None = None) -> list[tuple[str, str]]:
    """``n`` (text, label) pairs whose words reveal their topic, all distinct."""
    rng = random.Random(seed)
    names = labels or list(TOPICS)
    rows = []
    for i in range(n):
        label = names[i % len(names)]
        words = [*rng.sample(TOPICS[label], 4), f"w{i}"]
        rows.append((f"The {' '.join(words)} story number {i}.", label))
    return rows


def write_csv(
    path: Path, rows: list[dict[str, Any]], *, fieldnames: list[str] | None = None
) -> Path:
    fieldnames = fieldnames or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return path


def labelled_csv(path: Path, n: int = 30, *, seed: int = 0) -> Path:
    rows = [
        {"id": f"i{i}", "text": text, "label": label}
        for i, (text, label) in enumerate(topic_texts(n, seed=seed))
    ]
    return write_csv(path, rows)


def topic_project(
    ws: Any, tmp_path: Path, *, backbone: str, settings: dict[str, Any], n: int, labelled: int
) -> None:
    """Project ``p`` (sports, tech, politics) with ``n`` topic items, the first ``labelled`` of
    them labelled by alice."""
    from labelloop.services.data.importing import ImportOptions

    ws.create_project("p", labels="sports,tech,politics", backbone=backbone, settings=settings)
    rows = [
        {"id": f"i{i}", "text": t, "label": label if i < labelled else ""}
        for i, (t, label) in enumerate(topic_texts(n))
    ]
    ws.import_file(
        "p",
        write_csv(tmp_path / "p.csv", rows),
        ImportOptions(id_field="id", label_field="label", annotator="alice"),
    )


def suggestions_by_text(ws: Any) -> dict[str, tuple[str, float]]:
    """Every stored suggestion by its item's text: (label, confidence); leases nothing."""
    from sqlalchemy import select

    from labelloop.store import Item, Suggestion

    with ws.transaction() as session:
        rows = session.execute(
            select(Item.data, Suggestion.value, Suggestion.confidence).join(
                Suggestion, Suggestion.item_id == Item.id
            )
        ).all()
    return {r.data["text"]: (r.value[0], r.confidence) for r in rows}
