"""Factories for span (named-entity) projects in the server tests: sentences, and suggestions
written the way a span model's predict writes them, so no test has to load spaCy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from factories import write_jsonl
from labelloop.services.data.importing import ImportOptions
from labelloop.services.models.suggestions import write_suggestion_rows
from labelloop.store import Item, ModelKind, ModelStatus, ModelVersion, repo, utcnow

SPAN_LABELS = ["PER", "LOC", "ORG", "MISC"]


@dataclass(frozen=True)
class Sentence:
    """A sentence, the spans a model suggests for it and the model's confidence in each."""

    key: str
    text: str
    spans: tuple[tuple[int, int, str], ...] = ()
    probs: tuple[float, ...] = ()

    def span(self, words: str, label: str) -> dict[str, Any]:
        """The char span of ``words`` (their first occurrence) with ``label``."""
        start = self.text.index(words)
        return {"start": start, "end": start + len(words), "label": label}


def sentence(key: str, text: str, *suggested: tuple[str, str, float]) -> Sentence:
    """A :class:`Sentence` whose suggestions are given as ``(words, label, confidence)``."""
    spans, probs = [], []
    for words, label, p in suggested:
        start = text.index(words)
        spans.append((start, start + len(words), label))
        probs.append(p)
    return Sentence(key, text, tuple(spans), tuple(probs))


SENTENCES = [
    sentence(
        "s1",
        "Peter Blackburn visited Brussels on Monday .",
        ("Peter Blackburn", "PER", 0.91),
        ("Brussels", "LOC", 0.64),
    ),
    sentence(
        "s2",
        "The European Commission said on Thursday it disagreed .",
        ("European Commission", "ORG", 0.83),
    ),
    sentence("s3", "Germany 's representative to the EU , Werner Zwingmann , said so ."),
]


def make_span_project(
    ws: Any,
    name: str,
    folder: Path,
    sentences: list[Sentence] | None = None,
    *,
    confidence: float = 0.55,
) -> dict[str, int]:
    """A spans project holding ``sentences`` (default :data:`SENTENCES`), each with its suggested
    spans, queued in the given order. Returns ``sentence key -> item id``."""
    sentences = SENTENCES if sentences is None else sentences
    ws.create_project(name, labels=SPAN_LABELS, task="spans")
    path = write_jsonl(folder / f"{name}.jsonl", [{"id": s.key, "text": s.text} for s in sentences])
    ws.import_file(name, path, ImportOptions(id_field="id"))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        version = ModelVersion(
            project_id=project.id,
            version=1,
            status=ModelStatus.RETIRED,
            kind=ModelKind.IMPORTED,
            backbone="external",
            head="test-spans",
        )
        session.add(version)
        session.flush()
        project_id, version_id = project.id, version.id
        ids = _item_ids(session, project_id)
    now = utcnow()
    rows = [
        {
            "project_id": project_id,
            "item_id": ids[s.key],
            "model_version_id": version_id,
            "value": [{"start": a, "end": b, "label": label} for a, b, label in s.spans],
            "pred_probs": list(s.probs),
            "confidence": confidence,
            "priority": 1.0 - k / len(sentences),
            "created_at": now,
        }
        for k, s in enumerate(sentences)
    ]
    write_suggestion_rows(ws, project_id, rows)
    return ids


def _item_ids(session: Any, project_id: int) -> dict[str, int]:
    rows = session.execute(select(Item.external_id, Item.id).where(Item.project_id == project_id))
    return {external: item_id for external, item_id in rows}
