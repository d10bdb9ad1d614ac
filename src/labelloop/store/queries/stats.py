"""What the dashboard reads: the human answers of a project, as they happened."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from labelloop.store.tables import Annotation, Flag, Item, ModelVersion, Project, Suggestion
from labelloop.store.vocabulary import HUMAN_SOURCES, ModelStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["change_marks", "human_answers"]


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


def change_marks(session: Session, project_id: int) -> tuple[Any, ...]:
    """Marks that move whenever something the dashboard shows changes, in one round trip: the
    newest answer, item, model version, suggestion and flag, the champion, the gold items and
    open flags, and the settings. Rows are appended (answers, versions) or their ids only grow,
    so equal marks mean the same numbers."""

    def newest(column: Any, table: Any) -> Any:
        return select(func.max(column)).where(table.project_id == project_id).scalar_subquery()

    row = session.execute(
        select(
            newest(Annotation.id, Annotation),
            newest(Item.id, Item),
            newest(ModelVersion.id, ModelVersion),
            newest(Suggestion.id, Suggestion),
            newest(Flag.id, Flag),
            select(ModelVersion.id)
            .where(
                ModelVersion.project_id == project_id,
                ModelVersion.status == ModelStatus.CHAMPION,
            )
            .limit(1)
            .scalar_subquery(),
            select(func.count())
            .select_from(Item)
            .where(Item.project_id == project_id, Item.gold.is_not(None))
            .scalar_subquery(),
            select(func.count())
            .select_from(Flag)
            .where(Flag.project_id == project_id, Flag.status == "open")
            .scalar_subquery(),
            select(Project.settings).where(Project.id == project_id).scalar_subquery(),
        )
    ).one()
    return tuple(row)
