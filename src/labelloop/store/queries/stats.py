"""What the dashboard reads: the human answers of a project, as they happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from labelloop.store.tables import Annotation
from labelloop.store.vocabulary import HUMAN_SOURCES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["human_answers"]


def human_answers(session: Session, project_id: int) -> list[Any]:
    """Every answer people gave in the project (corrected and undone ones too), oldest first:
    rows of item_id, annotator, value, source, model_version_id, seconds and created_at."""
    return session.execute(  # type: ignore[return-value]
        select(
            Annotation.item_id,
            Annotation.annotator,
            Annotation.value,
            Annotation.source,
            Annotation.model_version_id,
            Annotation.seconds,
            Annotation.created_at,
        )
        .where(
            Annotation.project_id == project_id,
            Annotation.source.in_(HUMAN_SOURCES),
            Annotation.value.is_not(None),
        )
        .order_by(Annotation.id)
    ).all()
