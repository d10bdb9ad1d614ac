"""Label Studio export: a JSON list of tasks with ``choices`` annotations and predictions."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from labelloop.backbones.images import image_size
from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._boxes import image_path
from labelloop.services.data.formats._rows import ExportContext, provenance, suggestion
from labelloop.services.data.formats._spans import ls_model_version, ls_span_prediction
from labelloop.services.data.formats.records import ExportRecord
from labelloop.tasks import task_for

__all__ = [
    "check_label_studio_users",
    "label_studio_config",
    "write_label_studio_config",
    "write_labelstudio",
]

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
        # Label Studio's tools (its converter) key every task by an integer id; Label Studio
        # numbers the tasks it imports itself, so this one is only read by tools and labelloop
        "id": rec.item_id,
        "data": data,
        "meta": {
            "external_id": rec.external_id,
            "item_id": rec.item_id,
            "content_hash": rec.content_hash,
        },
        "annotations": [],
        "predictions": [],
    }
    if ctx.boxes:
        return _box_task(rec, ctx, task, to_name)
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
        completed_by = _completed_by(prov.get("annotator"), ctx)
        if completed_by is not None:
            annotation["completed_by"] = completed_by
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


def _box_task(
    rec: ExportRecord, ctx: ExportContext, task: dict[str, Any], to_name: str
) -> dict[str, Any]:
    """A box item's task: ``rectanglelabels`` regions in percent of the image's upright size
    (read from its file), as its annotation and its suggestion's prediction."""
    if rec.label is None and rec.suggestion is None:
        return task
    path = image_path(rec, ctx.media_root)
    try:
        size = image_size(path)
    except InvalidInput as exc:
        raise InvalidInput(f"item {rec.item_id}: {exc.reason}", file=str(path)) from None

    def result(boxes: Any) -> list[dict[str, Any]]:
        return ctx.task.label_studio_result(  # type: ignore[call-arg]
            ctx.schema, list(boxes), to_name=to_name, size=size
        )

    prov = provenance(rec)
    if rec.label is not None and prov is not None:
        annotation: dict[str, Any] = {
            "result": result(rec.label),
            "was_cancelled": False,
            "ground_truth": False,
            "created_at": prov["created_at"],
            "lead_time": prov["seconds"],
            "meta": prov,
        }
        completed_by = _completed_by(prov.get("annotator"), ctx)
        if completed_by is not None:
            annotation["completed_by"] = completed_by
        task["annotations"].append(annotation)
    if rec.suggestion is not None:
        boxes = list(rec.suggestion.get("value") or ())
        task["predictions"].append(
            {
                "result": result(boxes),
                "score": rec.suggestion.get("confidence"),
                "model_version": ls_model_version(rec.suggestion.get("model_version")),
            }
        )
    return task


def _completed_by(annotator: Any, ctx: ExportContext) -> dict[str, str] | int | None:
    """The annotator as Label Studio's import takes it: ``{"email": ...}`` of one of its users,
    or a member's integer id.

    Label Studio refuses an unknown user, so an annotator is named only when
    ``label_studio_users`` maps it, or when its name is an e-mail address; otherwise Label
    Studio records the user who imports the file. The name is always in the annotation's
    ``meta``.
    """
    if not isinstance(annotator, str):
        return None
    identity = (ctx.label_studio_users or {}).get(annotator, annotator)
    if isinstance(identity, int):
        return identity
    return {"email": identity} if "@" in identity else None


def check_label_studio_users(users: Mapping[str, Any]) -> dict[str, str | int]:
    """``users`` checked: each annotator names an e-mail address or a positive user id.

    Raises:
        InvalidInput: an annotator maps to anything else (naming it).
    """
    checked: dict[str, str | int] = {}
    for name, identity in users.items():
        is_id = isinstance(identity, int) and not isinstance(identity, bool) and identity > 0
        is_email = isinstance(identity, str) and "@" in identity.strip("@")
        if not (is_id or is_email):
            raise InvalidInput(
                f"annotator {name!r} maps to {identity!r}: a Label Studio user is an e-mail "
                "address or a user id (a positive integer)",
                field="label_studio_users",
            )
        checked[str(name)] = identity
    return checked


def write_label_studio_config(out: Path, ctx: ExportContext) -> int:
    """Write the project's labelling config (the ``<View>`` XML) to ``out``; 0 rows."""
    with atomic_file(out) as tmp:
        tmp.write_text(label_studio_config(ctx.schema, text_field=ctx.text_field) + "\n", "utf-8")
    return 0


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
