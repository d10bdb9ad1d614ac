"""What an annotator sees of the items the queue hands out: the item, the suggestion, or none.

:func:`views` builds the :class:`QueueItem` answers of ``next`` from what the queue's walk read
(``VIEW_COLUMNS``) or, for items it did not read, from one query. Labelled overlap items have no
stored suggestion; theirs is computed from the champion and cached embeddings. A stable share of
(item, annotator) pairs is shown blind (:func:`is_blind`), without the suggestion.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, bindparam, select

from labelloop.errors import InvalidInput
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import QueueItem, SuggestionView
from labelloop.store import Item, ModelKind, ModelStatus, ModelVersion, Suggestion
from labelloop.store.raw import Executor
from labelloop.store.repo import ProjectRef
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from labelloop.schema import LabelSchema
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "VIEWS_QUERY",
    "VIEW_COLUMNS",
    "is_blind",
    "item_tokens",
    "keyed_probs",
    "live_suggestions",
    "views",
]

log = logging.getLogger(__name__)

_PROJECT = bindparam("project_id", type_=Integer)

# what an annotator sees of an item: the item, its stored suggestion and that one's model version
VIEW_COLUMNS = (
    Item.id,
    Item.external_id,
    Item.data,
    Item.content_hash,
    Suggestion.id.label("suggestion_id"),
    Suggestion.value,
    Suggestion.confidence,
    Suggestion.pred_probs,
    ModelVersion.version,
)


def _unit(key: str) -> float:
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def is_blind(project_id: int, item_id: int, annotator: str | None, blind_rate: float) -> bool:
    """Whether ``annotator`` answers ``item_id`` without seeing the suggestion.

    A stable hash of (project, item, annotator): the same pair is always blind or never, so the
    queue and ``annotating.submit`` agree without storing anything.
    """
    if blind_rate <= 0.0:
        return False
    return _unit(f"blind:{project_id}:{item_id}:{annotator or ''}") < blind_rate


def live_suggestions(
    ws: WorkspaceContext,
    connection: Executor,
    project: ProjectRef,
    hashes: dict[int, str],
    ids: list[int],
) -> dict[int, SuggestionView]:
    """Champion suggestions for items that have no stored one (labelled overlap items).

    Stored suggestions cover unlabelled items only; an item handed out for a second opinion must
    look like any other, so its suggestion is computed here from cached embeddings.
    """
    if not ids:
        return {}
    from labelloop.services.models.loading import load_model

    champion = connection.execute(_CHAMPION, {"project_id": project.id}).first()
    if champion is None or champion.artifact is None:
        return {}
    schema = label_schema(project)
    embeddings, found = ws.embedding_cache().lookup(champion.backbone, [hashes[i] for i in ids])
    if not found.any():
        return {}
    model = load_model(ws.path / champion.artifact)
    if model.kind == ModelKind.PREDICTOR:  # it reads items over its own channel: not here
        return {}
    pred_probs = model.predict_proba(embeddings[found])
    decoded = task_for(schema).decode(schema, pred_probs)
    out: dict[int, SuggestionView] = {}
    hits = [i for i, f in zip(ids, found, strict=True) if f]
    for k, (item_id, probs) in enumerate(zip(hits, pred_probs, strict=True)):
        out[item_id] = SuggestionView(
            value=decoded.values[k],
            confidence=float(decoded.confidence[k]),
            model_version=champion.version,
            pred_probs={
                label: round(float(p), 5) for label, p in zip(schema.labels, probs, strict=False)
            },
        )
    return out


_CHAMPION = select(ModelVersion.backbone, ModelVersion.artifact, ModelVersion.version).where(
    ModelVersion.project_id == _PROJECT, ModelVersion.status == ModelStatus.CHAMPION
)
# one query for the items, their stored suggestions and the suggestions' model versions
VIEWS_QUERY = (
    select(*VIEW_COLUMNS)
    .outerjoin(Suggestion, (Suggestion.item_id == Item.id) & (Suggestion.project_id == _PROJECT))
    .outerjoin(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
    .where(Item.id.in_(bindparam("item_ids", type_=Integer, expanding=True)))
)


def views(
    ws: WorkspaceContext,
    connection: Executor,
    project: ProjectRef,
    item_ids: list[int],
    annotator: str | None,
    expires: datetime | None,
    *,
    rows: dict[int, Any],
) -> list[QueueItem]:
    """What the annotator sees of ``item_ids``; ``rows`` holds those read already."""
    schema = label_schema(project)
    rows = dict(rows)
    missing = [i for i in item_ids if i not in rows]
    if missing:
        params = {"project_id": project.id, "item_ids": missing}
        rows.update((row.id, row) for row in connection.execute(VIEWS_QUERY, params))
    blind_rate = float(project_settings(project)["blind_rate"])
    blind = {i: is_blind(project.id, i, annotator, blind_rate) for i in item_ids}
    live = live_suggestions(
        ws,
        connection,
        project,
        {i: row.content_hash for i, row in rows.items()},
        [i for i in item_ids if rows[i].suggestion_id is None and not blind[i]],
    )
    views = []
    for item_id in item_ids:
        row = rows[item_id]
        view = (
            live.get(item_id)
            if row.suggestion_id is None
            else SuggestionView(
                value=list(row.value),
                confidence=row.confidence,
                model_version=row.version,
                pred_probs=keyed_probs(schema, row.value, row.pred_probs),
            )
        )
        views.append(
            QueueItem(
                item_id=item_id,
                external_id=row.external_id,
                data=row.data,
                suggestion=None if blind[item_id] else view,
                blind=blind[item_id],
                lease_expires_at=expires,
                tokens=item_tokens(schema, row.data),
            )
        )
    return views


def item_tokens(schema: LabelSchema, data: Mapping[str, Any]) -> list[tuple[int, int]] | None:
    """The ``(start, end)`` character offsets of the item's tokens in ``data["text"]``, which the
    web UI selects spans by; ``None`` unless the answers are spans, or when the item's ``tokens``
    do not match its text (such an item cannot be answered; the UI says so)."""
    if task_for(schema).tags.answer is not AnswerShape.SPANS:
        return None
    from labelloop.tasks.spans import token_offsets

    try:
        return token_offsets(data)
    except InvalidInput as exc:
        log.warning("an item's text cannot be tokenised: %s", exc)
        return None


def keyed_probs(schema: LabelSchema, value: list[Any], pred_probs: list[float]) -> dict[str, float]:
    """Stored ``pred_probs`` by name: per label, per span (``"start:end:label"``) for spans,
    per box (``"<index>:<label>"``, the box's score) for boxes."""
    if task_for(schema).tags.answer is AnswerShape.BOXES:
        keys = [f"{k}:{b['label']}" for k, b in enumerate(value)]
        return dict(zip(keys, pred_probs, strict=False))
    if task_for(schema).tags.answer is AnswerShape.SPANS:
        keys = [f"{s['start']}:{s['end']}:{s['label']}" for s in value]
        return dict(zip(keys, pred_probs, strict=False))
    return dict(zip(schema.labels, pred_probs, strict=False))
