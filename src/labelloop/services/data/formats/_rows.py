"""Turn :class:`ExportRecord` values into plain rows; shared by every writer."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema
from labelloop.services.data.formats.records import ANNOTATION_SOURCES, ExportRecord
from labelloop.services.results import iso8601
from labelloop.tasks import AnswerShape, Task, Where, task_for

__all__ = ["MULTI_LABEL_SEPARATOR", "PROVENANCE_KEYS", "ExportContext", "iso", "json_row"]

#: Joins the labels of a multi-label item in one CSV cell; label names may not contain it.
MULTI_LABEL_SEPARATOR = "|"
#: What every exported label says of itself; ``confidence`` and ``threshold`` are the model's
#: probability of an ``auto`` label and the auto-accept threshold that admitted it (None for
#: the other sources).
PROVENANCE_KEYS = (
    "source",
    "annotator",
    "model_version",
    "seconds",
    "created_at",
    "confidence",
    "threshold",
)


def iso(value: Any) -> str | None:
    """ISO 8601 text of a datetime (or of a string already in that form); None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return iso8601(value)
    return str(value)


@dataclass(frozen=True)
class ExportContext:
    """Options shared by the writers, checked once: the project's label schema (whose task
    encodes labels for Label Studio and Hugging Face) and the text column's name."""

    schema: LabelSchema
    text_field: str
    #: Label Studio export: the user each annotator is in Label Studio, an e-mail address or
    #: a member's id (checked by :func:`~labelloop.services.data.formats.write_records`).
    label_studio_users: Mapping[str, str | int] | None = None
    #: The workspace's media root: what an item's relative media path is relative to (the
    #: writers that read or copy image files need it).
    media_root: Path | None = None

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.schema.labels

    @property
    def multi_label(self) -> bool:
        return self.schema.multi_label

    @property
    def task(self) -> Task:
        return task_for(self.schema)

    @property
    def spans(self) -> bool:
        """Whether labels are spans over the text (a spans project) rather than label names."""
        return self.task.tags.answer is AnswerShape.SPANS

    @property
    def boxes(self) -> bool:
        """Whether labels are boxes over an image (an image-boxes project)."""
        return self.task.tags.answer is AnswerShape.BOXES

    def check(self, rec: ExportRecord) -> None:
        """Raise :class:`InvalidInput` if the record's labels do not fit the schema."""
        if self.spans or self.boxes:
            self._check_spans(rec)
        else:
            self._check_labels(rec)
        if rec.provenance is not None and rec.provenance.get("source") not in ANNOTATION_SOURCES:
            raise InvalidInput(
                f"item {rec.item_id}: unknown source {rec.provenance.get('source')!r}",
                field="source",
            )

    def _check_labels(self, rec: ExportRecord) -> None:
        for value, where in _label_values(rec):
            if not self.multi_label and len(value) != 1:
                raise InvalidInput(
                    f"item {rec.item_id}: a single-label project needs exactly one label per"
                    f" annotation, got {list(value)}",
                    field=where,
                )
            unknown = [v for v in value if v not in self.label_names]
            if unknown:
                raise InvalidInput(
                    f"item {rec.item_id}: label {unknown[0]!r} is not in the label schema",
                    field=where,
                )

    def _check_spans(self, rec: ExportRecord) -> None:
        # Stored spans (boxes) were checked against their text (image) when they were written:
        # the labels and the answer's shape are what an export can still get wrong (a label
        # renamed since).
        for value, where in _label_values(rec):
            try:
                self.task.check_answer(self.schema, list(value), where=Where(field=where))
            except InvalidInput as exc:
                raise InvalidInput(f"item {rec.item_id}: {exc.reason}", field=where) from None

    def data_columns(self, rec: ExportRecord) -> dict[str, Any]:
        """The record's data without ``meta``; ``text`` renamed to ``text_field``."""
        return {
            (self.text_field if k == "text" else k): v for k, v in rec.data.items() if k != "meta"
        }

    def label_cell(self, value: Sequence[str] | None) -> str | list[str] | None:
        """A label as JSON: a name (single-label), a list (multi-label) or None."""
        if value is None:
            return None
        return list(value) if self.multi_label or self.boxes else value[0]


def _label_values(rec: ExportRecord) -> Iterator[tuple[tuple[Any, ...], str]]:
    if rec.label is not None:
        yield tuple(rec.label), "label"
    for entry in rec.history:
        yield tuple(entry.get("value") or ()), "history"


def provenance(rec: ExportRecord) -> dict[str, Any] | None:
    if rec.provenance is None:
        return None
    return _prov(rec.provenance)


def _prov(src: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: src.get(k) for k in PROVENANCE_KEYS}
    out["created_at"] = iso(out["created_at"])
    for key in ("seconds", "confidence", "threshold"):
        value = out[key]
        out[key] = None if value is None else float(value)
    return out


def history(rec: ExportRecord) -> list[dict[str, Any]]:
    return [{"value": list(e.get("value") or ()), **_prov(e)} for e in rec.history]


def suggestion(rec: ExportRecord) -> dict[str, Any] | None:
    s = rec.suggestion
    if s is None:
        return None
    confidence = s.get("confidence")
    probs = s.get("pred_probs") or {}
    return {
        "value": list(s.get("value") or ()),
        # per label; a box suggestion's is a list, one per box (its value holds the boxes)
        "pred_probs": [float(p) for p in probs]
        if isinstance(probs, list)
        else {str(k): float(v) for k, v in probs.items()},
        "confidence": None if confidence is None else float(confidence),
        "model_version": s.get("model_version"),
    }


def json_row(rec: ExportRecord, ctx: ExportContext) -> dict[str, Any]:
    """The nested row written by the JSONL and Parquet writers."""
    row: dict[str, Any] = {"id": rec.external_id, "item_id": rec.item_id}
    row.update(ctx.data_columns(rec))
    if rec.data.get("meta"):
        row["meta"] = rec.data["meta"]
    row["label"] = ctx.label_cell(rec.label)
    row["provenance"] = provenance(rec)
    row["history"] = history(rec)
    row["suggestion"] = suggestion(rec)
    row["content_hash"] = rec.content_hash
    return row


def checked(records: Iterable[ExportRecord], ctx: ExportContext) -> Iterator[ExportRecord]:
    for rec in records:
        ctx.check(rec)
        yield rec


def meta_json(rec: ExportRecord) -> str:
    meta = rec.data.get("meta")
    return json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else ""
