"""Queries on the suggestions table that several use-cases share: whether an item waits in the
queue, and writing a model's rows.

A suggestion's ``priority`` is its place in the queue; the rule that takes an item out of it
when it gets a label (and puts it back on undo) is :data:`QUEUED` with :func:`set_queued`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, Update, bindparam, delete, insert, select, update

from labelloop.store.db import analyze, in_chunks
from labelloop.store.tables import Annotation, Suggestion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.store.raw import Executor

__all__ = [
    "QUEUED",
    "delete_stale_suggestions",
    "picked_item_ids",
    "set_item_queued",
    "set_queued",
    "suggestion_of",
    "upsert_suggestions",
]

# Suggestions of items waiting in the queue have priority >= 0. When an item gets its label, its
# suggestion leaves the queue by taking priority -1 - p, below every queued one: `next` walks the
# priority index from the top and stops at 0, so it never steps over labelled items, while the
# review still shows what the model had suggested. The map is its own inverse, so an undo puts
# the item back in its old place.
QUEUED = Suggestion.priority >= 0.0


def suggestion_of(session: Session, item_id: int) -> Suggestion | None:
    """The item's suggestion, or None."""
    return session.scalar(select(Suggestion).where(Suggestion.item_id == item_id))


def picked_item_ids(session: Session, project_id: int, above: float) -> list[int]:
    """Items whose suggestion has a priority above ``above`` (a strategy's picks)."""
    return list(
        session.scalars(
            select(Suggestion.item_id).where(
                Suggestion.project_id == project_id, Suggestion.priority > above
            )
        )
    )


def set_queued(session: Session, item_ids: int | Sequence[int], queued: bool) -> None:
    """Put the suggestions of ``item_ids`` back in the queue (``queued``) or take them out."""
    if isinstance(item_ids, int):
        set_item_queued(session.connection(), item_ids, queued)
        return
    for chunk in in_chunks(list(item_ids)):
        session.execute(
            update(Suggestion)
            .where(Suggestion.item_id.in_(chunk), QUEUED if not queued else ~QUEUED)
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


def upsert_suggestions(session: Session, rows: list[dict[str, Any]]) -> None:
    """Update the suggestions of items that have one, insert the others.

    ``rows`` come in item order, so concurrent writers lock rows in one order (no deadlock).
    """
    existing: dict[int, int] = {}
    for chunk in in_chunks([row["item_id"] for row in rows]):
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


def delete_stale_suggestions(session: Session, project_id: int, written: set[int]) -> None:
    """Delete the suggestions of labelled items, except those in ``written``; refresh statistics.

    A suggestion this run did not write, of an item that is unlabelled now (imported since, or
    its label undone), is the best the queue has for it: it stays.
    """
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
    for chunk in in_chunks(stale):
        session.execute(delete(Suggestion).where(Suggestion.item_id.in_(chunk), labelled))
    analyze(session, Suggestion.__tablename__)
