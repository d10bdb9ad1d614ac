"""What the simulator reads back between its steps: the pool's content hashes and the labels."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from labelloop.store import repo
from labelloop.store.tables import Item

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["content_hashes", "current_labels"]


def content_hashes(session: Session, project_id: int) -> dict[int, str]:
    """Map item id -> content hash for every item of the project."""
    rows = session.execute(
        select(Item.id, Item.content_hash).where(Item.project_id == project_id)
    ).all()
    return {r.id: r.content_hash for r in rows}


def current_labels(session: Session, project_id: int) -> dict[int, tuple[str, list[str]]]:
    """Map item id -> (source, value) of each labelled item's current annotation."""
    return {
        i: (a.source, list(a.value))
        for i, a in repo.current_annotations(session, project_id).items()
        if a.value is not None
    }
