"""The pages an export walks: items by id, their annotation history and their suggestions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from labelloop.store.tables import Annotation, Item, Suggestion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["history", "items_after", "suggestions"]


def items_after(session: Session, project_id: int, last_id: int, limit: int) -> Sequence[Item]:
    """The next at most ``limit`` items of the project with an id above ``last_id``, by id."""
    return session.scalars(
        select(Item)
        .where(Item.project_id == project_id, Item.id > last_id)
        .order_by(Item.id)
        .limit(limit)
    ).all()


def history(session: Session, item_ids: list[int]) -> dict[int, list[Annotation]]:
    """Map item id -> its annotations, oldest first, for those of ``item_ids`` that have any."""
    found: dict[int, list[Annotation]] = {}
    for annotation in session.scalars(
        select(Annotation)
        .where(Annotation.item_id.in_(item_ids))
        .order_by(Annotation.item_id, Annotation.id)
    ):
        found.setdefault(annotation.item_id, []).append(annotation)
    return found


def suggestions(session: Session, item_ids: list[int]) -> dict[int, Suggestion]:
    """Map item id -> its suggestion, for those of ``item_ids`` that have one."""
    return {
        s.item_id: s
        for s in session.scalars(select(Suggestion).where(Suggestion.item_id.in_(item_ids)))
    }
