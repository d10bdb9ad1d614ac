"""Label Studio export: a JSON list of tasks with ``choices`` annotations and predictions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelloop.schema import LabelSchema
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._rows import ExportContext, provenance, suggestion
from labelloop.services.data.formats._spans import ls_model_version, ls_span_prediction
from labelloop.services.data.formats.records import ExportRecord
from labelloop.tasks import task_for

__all__ = ["label_studio_config", "write_labelstudio"]

_MEDIA_TAGS = {"image": "Image", "audio": "Audio"}


def label_studio_config(schema: LabelSchema, *, text_field: str = "text") -> str:
    """The Label Studio labelling config that matches an export (paste it into the project).

    Written by the project's task (:meth:`labelloop.tasks.Task.label_studio_config`): a
    ``<Choices>`` control for classification over a ``<Text>``, ``<Image>`` or ``<Audio>`` object;
    a ``<Labels>`` control over the ``<Text>`` for spans.

    Example:
        >>> schema = LabelSchema(task="text-classification", labels=["A", "B"])
        >>> label_studio_config(schema)[:40]
        '<View><Text name="text" value="$text"/><'
    """
    return task_for(schema).label_studio_config(schema, data_key=text_field)


def _task(rec: ExportRecord, ctx: ExportContext) -> dict[str, Any]:
    meta = rec.data.get("meta") or {}
    if "path" in rec.data and rec.data.get("media") in _MEDIA_TAGS:
        to_name = str(rec.data["media"])
        data: dict[str, Any] = {to_name: rec.data["path"]}
    else:
        to_name = ctx.text_field
        data = ctx.data_columns(rec)
    for key, value in meta.items():
        data.setdefault(key, value)
    task: dict[str, Any] = {
        "data": data,
        "meta": {
            "external_id": rec.external_id,
            "item_id": rec.item_id,
            "content_hash": rec.content_hash,
        },
        "annotations": [],
        "predictions": [],
    }
    prov = provenance(rec)
    text = rec.data.get("text")
    if rec.label is not None and prov is not None:
        result = ctx.task.label_studio_result(
            ctx.schema, rec.label, to_name=to_name, text=None if text is None else str(text)
        )
        annotation: dict[str, Any] = {
            "result": result,
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": prov["created_at"],
            "lead_time": prov["seconds"],
            "meta": prov,
        }
        annotator = prov.get("annotator")
        # Label Studio resolves completed_by by e-mail among its members and refuses unknown
        # ids, so only e-mail annotators are named there; the name is always in ``meta``.
        if isinstance(annotator, str) and "@" in annotator:
            annotation["completed_by"] = {"email": annotator}
        task["annotations"].append(annotation)
    if ctx.spans and rec.suggestion is not None:
        task["predictions"].append(ls_span_prediction(rec, ctx, to_name))
        return task
    sug = suggestion(rec)
    if sug is not None:
        probs = sug["pred_probs"]
        scores = [probs[v] for v in sug["value"] if v in probs]
        task["predictions"].append(
            {
                "result": ctx.task.label_studio_result(ctx.schema, sug["value"], to_name=to_name),
                "score": max(scores) if scores else None,
                "model_version": ls_model_version(sug["model_version"]),
            }
        )
    return task


def write_labelstudio(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    """Write a JSON list of Label Studio tasks, one task per line, streaming."""
    n = 0
    with atomic_file(out) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as f:
        f.write("[")
        for rec in records:
            f.write(",\n" if n else "\n")
            f.write(json.dumps(_task(rec, ctx), ensure_ascii=False))
            n += 1
        f.write("\n]\n")
    return n
