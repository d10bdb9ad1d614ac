"""Factories for the format tests: export records and small files, built from arguments."""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelloop.schema import LabelSchema
from labelloop.services.data.formats import ExportRecord

LABELS = ("World", "Sports", "Business, Tech")


def make_schema(labels: Sequence[str], multi_label: bool = False) -> LabelSchema:
    """A text-classification schema over ``labels`` (what a project hands the writers)."""
    return LabelSchema(task="text-classification", labels=tuple(labels), multi_label=multi_label)


def make_export_record(
    item_id: int = 1,
    *,
    text: str = "some text",
    external_id: str | None = None,
    label: Sequence[str] | None = ("World",),
    annotator: str | None = "alice",
    source: str = "human",
    seconds: float | None = 3.5,
    created_at: str = "2024-05-01T12:00:00+00:00",
    model_version: str | None = None,
    meta: dict[str, Any] | None = None,
    suggestion: dict[str, Any] | None = None,
    history: Sequence[dict[str, Any]] | None = None,
) -> ExportRecord:
    data: dict[str, Any] = {"text": text}
    if meta:
        data["meta"] = meta
    prov = None
    if label is not None:
        prov = {
            "source": source,
            "annotator": annotator,
            "model_version": model_version,
            "seconds": seconds,
            "created_at": created_at,
        }
    if history is None:
        history = [] if label is None else [{"value": list(label), **(prov or {})}]
    return ExportRecord(
        external_id=f"ext-{item_id}" if external_id is None else external_id,
        item_id=item_id,
        data=data,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        label=None if label is None else tuple(label),
        provenance=prov,
        history=tuple(history),
        suggestion=suggestion,
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, objects: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def ls_task(
    text: str,
    *,
    task_id: int = 1,
    choices: Sequence[str] | None = ("World",),
    completed_by: Any = 7,
    cancelled: bool = False,
    prediction: Sequence[str] | None = None,
    score: float | None = 0.9,
) -> dict[str, Any]:
    def result(values: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": list(values)},
            }
        ]

    task: dict[str, Any] = {"id": task_id, "data": {"text": text, "source_url": "http://x"}}
    if choices is not None:
        task["annotations"] = [
            {
                "id": 100 + task_id,
                "completed_by": completed_by,
                "result": result(choices),
                "was_cancelled": cancelled,
                "created_at": "2024-01-02T03:04:05.000000Z",
                "lead_time": 12.5,
            }
        ]
    if prediction is not None:
        task["predictions"] = [
            {"result": result(prediction), "score": score, "model_version": "m1"}
        ]
    return task
