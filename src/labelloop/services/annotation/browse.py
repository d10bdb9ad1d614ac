"""Browsing a project's items: the filtered, paged list and one item's history.

:func:`list_items` is the items page's (and ``GET /items``') list: each item with its current
label, who gave it and how, and the model's suggestion with its confidence. :func:`item_history`
puts in time order what happened to one item: its import, every answer (corrections,
retractions, reviews, gold answers), the flags raised on it, the suggestion stored now, and the
project's model versions with what each predicted for the item.

The suggestions table keeps one row per item (the champion's latest), so what an older model
version suggested is computed again here, from that version's files and the item's cached
embedding (:data:`PREDICTED_VERSIONS` newest versions at most; a head or zero-shot model only,
span models are not reloaded for this). The result is the one that version served: a model
file and an embedding never change once written.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from labelloop.errors import InvalidInput, NotFound
from labelloop.services.projects import label_schema
from labelloop.store import ModelKind, Source, repo
from labelloop.store.queries import items as queries
from labelloop.store.queries.items import ItemFilter, Status
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from labelloop.schema import LabelSchema
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "MAX_PAGE",
    "PREDICTED_VERSIONS",
    "HistoryEvent",
    "ItemHistory",
    "ItemList",
    "ItemRow",
    "item_history",
    "list_items",
]

log = logging.getLogger(__name__)

MAX_PAGE = 500
MODEL_VERSIONS_SHOWN = 20
"""An item's history lists this many of the project's newest model versions."""
PREDICTED_VERSIONS = 10
"""An item's history computes what each of this many newest loadable versions predicted."""
STATUSES: tuple[Status, ...] = ("unlabelled", "labelled", "auto_accepted", "flagged", "gold")


class ItemRow(BaseModel):
    item_id: int
    external_id: str | None
    data: dict[str, Any]
    gold: bool = Field(description="a gold item (its known answer is hidden)")
    label: list[Any] | None = Field(
        description="the current answer: label names, or spans {start, end, label}; "
        "null when the item is unlabelled"
    )
    source: str | None = Field(description="the current answer's source: human, "
                               "model_accepted or auto")  # fmt: skip
    annotator: str | None = Field(description="who gave the current answer")
    answered_at: datetime | None
    suggestion: list[Any] | None = Field(description="the model's suggested answer")
    confidence: float | None = Field(description="the suggestion's confidence, 0-1")
    model_version: int | None = Field(description="the version that made the suggestion")
    flagged: bool = Field(description="the item has an open flag")


class ItemList(BaseModel):
    total: int = Field(description="items matching the filters, over all pages")
    offset: int
    limit: int
    items: list[ItemRow]


def list_items(
    ws: WorkspaceContext,
    name: str,
    *,
    text: str | None = None,
    label: str | None = None,
    suggested: str | None = None,
    source: str | None = None,
    annotator: str | None = None,
    min_confidence: float | None = None,
    max_confidence: float | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> ItemList:
    """The project's items matching every filter given, in item order, ``limit`` from
    ``offset``; see :class:`~labelloop.store.queries.items.ItemFilter` for each filter.

    :class:`InvalidInput` names the filter at fault: an unknown label, source or status, a
    confidence outside 0-1 or a range whose minimum is over its maximum, a bad page.
    """
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}, not {limit}", field="limit")
    if offset < 0:
        raise InvalidInput(f"offset must be 0 or more, not {offset}", field="offset")
    if source is not None and source not in set(Source):
        raise InvalidInput(f"unknown source {source!r}; known: {', '.join(Source)}", field="source")
    if status is not None and status not in STATUSES:
        raise InvalidInput(
            f"unknown status {status!r}; known: {', '.join(STATUSES)}", field="status"
        )
    for field, bound in (("min_confidence", min_confidence), ("max_confidence", max_confidence)):
        if bound is not None and not 0.0 <= bound <= 1.0:
            raise InvalidInput(f"{field} must be between 0 and 1, not {bound}", field=field)
    low, high = min_confidence, max_confidence
    if low is not None and high is not None and low > high:
        raise InvalidInput(
            f"min_confidence {min_confidence} is over max_confidence {max_confidence}",
            field="min_confidence",
        )
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        for field, value in (("label", label), ("suggested", suggested)):
            if value is not None and value not in schema.labels:
                raise InvalidInput(
                    f"project {name!r} has no label {value!r}; labels: {', '.join(schema.labels)}",
                    field=field,
                )
        spans = task_for(schema).tags.answer is AnswerShape.SPANS
        f = ItemFilter(
            text=text or None, label=label, suggested=suggested, source=source,
            annotator=annotator or None, min_confidence=min_confidence,
            max_confidence=max_confidence, status=status, spans=spans,
        )  # fmt: skip
        total, rows = queries.list_items(session, project.id, f, offset=offset, limit=limit)
    return ItemList(
        total=total,
        offset=offset,
        limit=limit,
        items=[_item_row(r) for r in rows],
    )


def _item_row(r: Any) -> ItemRow:
    answered = r.value is not None
    return ItemRow(
        item_id=r.id,
        external_id=r.external_id,
        data=r.data,
        gold=bool(r.gold),
        label=list(r.value) if answered else None,
        source=r.source if answered else None,
        annotator=r.annotator if answered else None,
        answered_at=r.answered_at if answered else None,
        suggestion=None if r.suggested is None else list(r.suggested),
        confidence=r.confidence,
        model_version=r.model_version,
        flagged=bool(r.flagged),
    )


EventKind = Literal["imported", "answer", "flag", "model_version", "suggestion"]


class HistoryEvent(BaseModel):
    """One thing that happened to an item. Fields that do not apply to its ``kind`` are null."""

    kind: EventKind = Field(
        description="imported | answer | flag | model_version (a version of the project's "
        "model was trained) | suggestion (what the model suggests now)"
    )
    at: datetime
    who: str | None = Field(default=None, description="the annotator, flagger or reviewer")
    value: list[Any] | None = Field(
        default=None,
        description="answer: the labels or spans (null: a retraction); flag and suggestion: "
        "the suggested answer; model_version: what that version predicts for the item",
    )
    source: str | None = Field(default=None, description="answer: human, model_accepted, auto")
    confidence: float | None = Field(
        default=None,
        description="the model's confidence, 0-1 (answer: an auto label's, when auto-accept "
        "took it)",
    )
    threshold: float | None = Field(
        default=None, description="answer: the auto-accept threshold an auto label met"
    )
    model_version: int | None = Field(
        default=None, description="the version concerned (answer: whose suggestion was shown)"
    )
    current: bool | None = Field(default=None, description="answer: it is the item's label")
    reviewed: bool | None = Field(default=None, description="answer: a reviewer's resolution")
    seconds: float | None = Field(default=None, description="answer: time the annotator took")
    note: str | None = Field(
        default=None,
        description="flag: the reason and status; model_version: status, kind and whether it "
        "was trained on this item's label",
    )


class ItemHistory(BaseModel):
    item_id: int
    external_id: str | None
    events: list[HistoryEvent] = Field(description="oldest first")
    model_versions_total: int = Field(description="the project's model versions in all")
    model_versions_shown: int = Field(description="the newest versions listed in events")


def item_history(
    ws: WorkspaceContext, name: str, item_id: int, *, annotator: str | None = None
) -> ItemHistory:
    """Everything that happened to item ``item_id``, oldest first (see the module's text).

    With ``annotator``, answers and flags are only that person's (what an annotator may see of
    others' work: nothing); model versions and the suggestion are everyone's.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        item = queries.item_row(session, project.id, item_id)
        if item is None:
            raise NotFound(f"no item {item_id} in project {name!r}")
        schema = label_schema(project)
        answers = queries.item_answers(session, item_id)
        flags = queries.item_flags(session, item_id)
        suggestion = queries.item_suggestion(session, item_id)
        total, versions = queries.model_versions(session, project.id, limit=MODEL_VERSIONS_SHOWN)
    events = [HistoryEvent(kind="imported", at=item.created_at)]
    answer_ids = {a.id for a in answers}
    for a in answers:
        if annotator is not None and a.annotator != annotator:
            continue
        events.append(
            HistoryEvent(
                kind="answer",
                at=a.created_at,
                who=a.annotator,
                value=a.value,
                source=a.source,
                model_version=a.model_version,
                current=a.is_current,
                reviewed=a.reviewed,
                seconds=a.seconds,
                confidence=a.confidence,
                threshold=a.threshold,
                note="answered blind" if a.blind else None,
            )
        )
    for fl in flags:
        if annotator is not None and fl.annotator != annotator:
            continue
        status = fl.status if not fl.resolved_by else f"{fl.status} by {fl.resolved_by}"
        events.append(
            HistoryEvent(
                kind="flag",
                at=fl.created_at,
                who=fl.annotator,
                value=fl.suggestion,
                model_version=fl.model_version,
                note=f"{fl.reason} ({status})",
            )
        )
    predicted = _predictions(ws, schema, item.content_hash, versions)
    for v in versions:
        trained = bool(answer_ids & set(v.label_ids or ()))
        value, confidence = predicted.get(v.version, (None, None))
        note = f"{v.status}, {v.kind} ({v.backbone}, {v.head})"
        if trained:
            note += "; trained on this item's label"
        events.append(
            HistoryEvent(
                kind="model_version",
                at=v.created_at,
                model_version=v.version,
                value=value,
                confidence=confidence,
                note=note,
            )
        )
    if suggestion is not None:
        events.append(
            HistoryEvent(
                kind="suggestion",
                at=suggestion.created_at,
                value=list(suggestion.value),
                confidence=suggestion.confidence,
                model_version=suggestion.model_version,
            )
        )
    order = {"imported": 0, "model_version": 1, "suggestion": 2, "flag": 3, "answer": 4}
    events.sort(key=lambda e: (e.at, order[e.kind]))
    return ItemHistory(
        item_id=item.id,
        external_id=item.external_id,
        events=events,
        model_versions_total=total,
        model_versions_shown=len(versions),
    )


def _predictions(
    ws: WorkspaceContext, schema: LabelSchema, content_hash: str, versions: list[Any]
) -> dict[int, tuple[list[Any], float]]:
    """What each of the newest loadable ``versions`` predicts for the item with
    ``content_hash``: version -> (value, confidence); versions without files, span models and
    backbones that never embedded the item are left out."""
    task = task_for(schema)
    if task.tags.answer is AnswerShape.SPANS:
        return {}
    from labelloop.services.models.loading import load_model

    loadable = [
        v for v in versions if v.artifact and v.kind in (ModelKind.HEAD, ModelKind.ZERO_SHOT)
    ][:PREDICTED_VERSIONS]
    out: dict[int, tuple[list[Any], float]] = {}
    embedded: dict[str, np.ndarray | None] = {}
    for v in loadable:
        if v.backbone not in embedded:
            rows, found = ws.embedding_cache().lookup(v.backbone, [content_hash])
            embedded[v.backbone] = rows[:1] if found.any() else None
        embedding = embedded[v.backbone]
        if embedding is None:
            continue
        try:
            pred_probs = load_model(ws.path / v.artifact).predict_proba(embedding)
        except NotFound as exc:  # a version whose files were removed by hand
            log.warning("model version %d cannot be loaded: %s", v.version, exc)
            continue
        decoded = task.decode(schema, pred_probs)
        out[v.version] = (list(decoded.values[0]), float(decoded.confidence[0]))
    return out
