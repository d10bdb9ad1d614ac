"""Writing a model's suggestions for the unlabelled items without blocking annotation."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Integer, Update, bindparam, delete, insert, select, update

from labelloop.schema import LabelSchema
from labelloop.store import Annotation, Suggestion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext
    from labelloop.store.raw import Executor

__all__ = [
    "QUEUED",
    "SUGGESTION_BATCH",
    "set_item_queued",
    "set_queued",
    "upsert_suggestions",
    "write_suggestions",
]

# Suggestions are rewritten in short transactions of this many rows, so annotation requests get
# in between them: on SQLite each transaction holds the only write lock.
SUGGESTION_BATCH = 2000
# Scores of training._priority lie in [0, 1]; the strategy's own picks sit at 2.0 and above.
_PICKED_ABOVE = 1.0
# Suggestions of items waiting in the queue have priority >= 0. When an item gets its label, its
# suggestion leaves the queue by taking priority -1 - p, below every queued one: `next` walks the
# priority index from the top and stops at 0, so it never steps over labelled items, while the
# review still shows what the model had suggested. The map is its own inverse, so an undo puts
# the item back in its old place.
QUEUED = Suggestion.priority >= 0.0


def set_queued(session: Session, item_ids: int | Sequence[int], queued: bool) -> None:
    """Put the suggestions of ``item_ids`` back in the queue (``queued``) or take them out."""
    if isinstance(item_ids, int):
        set_item_queued(session.connection(), item_ids, queued)
        return
    ids = list(item_ids)
    for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
        session.execute(
            update(Suggestion)
            .where(
                Suggestion.item_id.in_(ids[start : start + 900]), QUEUED if not queued else ~QUEUED
            )
            .values(priority=-1.0 - Suggestion.priority)
            .execution_options(synchronize_session=False)
        )


def set_item_queued(connection: Executor, item_id: int, queued: bool) -> None:
    """:func:`set_queued` for one item (per submit or undo), on a connection: a statement built
    once."""
    connection.execute(_set_queued_one(queued), {"of_item": item_id})


@functools.cache
def _set_queued_one(queued: bool) -> Update:
    return (
        update(Suggestion)
        .where(
            Suggestion.item_id == bindparam("of_item", type_=Integer),
            ~QUEUED if queued else QUEUED,
        )
        .values(priority=-1.0 - Suggestion.priority)
    )


def write_suggestions(
    ws: WorkspaceContext,
    project_id: int,
    model_version_id: int,
    item_ids: np.ndarray,
    pred_probs: np.ndarray,
    priority: np.ndarray,
    schema: LabelSchema,
) -> None:
    """Replace the suggestions of ``item_ids`` (the unlabelled items) in short transactions.

    Retraining must never block annotation, so the rows are written in transactions of
    ``SUGGESTION_BATCH``, and a reader may see the queue between two of them. What it sees
    stays sound:

    - each row is updated in place (never deleted, then inserted again), so an unlabelled item
      always has a suggestion, and each row names the model version that made it;
    - rows go best first, so after the first commit the top of the queue is the new model's;
      that commit also rewrites the old model's strategy picks, which would otherwise stay
      above every new score until their turn came;
    - last, the suggestions of labelled items are deleted (the queue never serves those), but
      not the ones this run wrote: an item labelled meanwhile ends as if the label came after.
    """
    rows = _suggestion_rows(project_id, model_version_id, item_ids, pred_probs, priority, schema)
    index = {row["item_id"]: i for i, row in enumerate(rows)}
    order = np.argsort(-priority, kind="stable")
    for start in range(0, len(rows), SUGGESTION_BATCH):
        chosen = {int(i) for i in order[start : start + SUGGESTION_BATCH]}
        with ws.transaction() as session:
            if start == 0:
                old_picks = session.scalars(
                    select(Suggestion.item_id).where(
                        Suggestion.project_id == project_id, Suggestion.priority > _PICKED_ABOVE
                    )
                )
                chosen.update(index[i] for i in old_picks if i in index)
            upsert_suggestions(session, [rows[i] for i in sorted(chosen)])
    with ws.transaction() as session:
        _delete_stale_suggestions(session, project_id, set(index))


def _suggestion_rows(
    project_id: int,
    model_version_id: int,
    item_ids: np.ndarray,
    pred_probs: np.ndarray,
    priority: np.ndarray,
    schema: LabelSchema,
) -> list[dict[str, Any]]:
    """One ``suggestions`` row (as a dict) per item, in the order of ``item_ids``."""
    from labelloop.store import utcnow

    labels = schema.labels
    rounded = np.round(pred_probs.astype(np.float64), 5)
    if schema.multi_label:
        values = [[labels[j] for j in np.flatnonzero(row >= 0.5)] for row in pred_probs]
        confidence = np.abs(pred_probs - 0.5).min(axis=1) * 2 if len(pred_probs) else []
    else:
        top = pred_probs.argmax(axis=1) if len(pred_probs) else np.zeros(0, dtype=int)
        values = [[labels[j]] for j in top]
        confidence = pred_probs.max(axis=1) if len(pred_probs) else []
    now = utcnow()
    return [
        {
            "project_id": project_id,
            "item_id": int(item_ids[i]),
            "model_version_id": model_version_id,
            "value": values[i],
            "pred_probs": rounded[i].tolist(),
            "confidence": float(confidence[i]),
            "priority": float(priority[i]),
            "created_at": now,
        }
        for i in range(len(item_ids))
    ]


def upsert_suggestions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update the suggestions of items that have one, insert the others.

    ``rows`` come in item order, so concurrent writers lock rows in one order (no deadlock).
    """
    existing: dict[int, int] = {}
    for start in range(0, len(rows), 900):  # stay under SQLite's bound-parameter limit
        chunk = [row["item_id"] for row in rows[start : start + 900]]
        found = session.execute(
            select(Suggestion.item_id, Suggestion.id).where(Suggestion.item_id.in_(chunk))
        )
        existing.update((item_id, row_id) for item_id, row_id in found)
    updated = [
        {**row, "id": existing[row["item_id"]]} for row in rows if row["item_id"] in existing
    ]
    if updated:
        session.execute(update(Suggestion), updated)  # an executemany by primary key
    added = [row for row in rows if row["item_id"] not in existing]
    if added:
        session.execute(insert(Suggestion), added)


def _delete_stale_suggestions(session: Session, project_id: int, written: set[int]) -> None:
    """Delete the suggestions of labelled items, except those in ``written``; refresh statistics.

    A suggestion this run did not write, of an item that is unlabelled now (imported since, or
    its label undone), is the best the queue has for it: it stays.
    """
    from labelloop.store import analyze

    present = session.scalars(
        select(Suggestion.item_id).where(Suggestion.project_id == project_id)
    ).all()
    stale = [i for i in present if i not in written]
    labelled = (
        select(Annotation.id)
        .where(
            Annotation.item_id == Suggestion.item_id,
            Annotation.is_current.is_(True),
            Annotation.value.is_not(None),
        )
        .exists()
    )
    for start in range(0, len(stale), 900):
        session.execute(
            delete(Suggestion).where(Suggestion.item_id.in_(stale[start : start + 900]), labelled)
        )
    analyze(session, Suggestion.__tablename__)
