"""Queries of projects: whether a name is taken, their suggestion count, which owns an item."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select

from labelloop.store.tables import Item, Project, Suggestion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["count_suggestions", "item_project_id", "project_id_named"]


def project_id_named(session: Session, name: str) -> int | None:
    """The id of the project called ``name``, or None."""
    return session.scalar(select(Project.id).where(Project.name == name))


def count_suggestions(session: Session, project_id: int) -> int:
    """How many suggestions the project has (queued or not)."""
    return (
        session.scalar(select(func.count(Suggestion.id)).where(Suggestion.project_id == project_id))
        or 0
    )


def item_project_id(session: Session, item_id: int) -> int | None:
    """The id of the project that item ``item_id`` belongs to, or None if there is no such item."""
    return session.scalar(select(Item.project_id).where(Item.id == item_id))
