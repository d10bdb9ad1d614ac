"""Queries of model versions (the registry) and of the items that training and prediction read.

The champion itself is :func:`labelloop.store.repo.champion`, which several contexts share.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update

from labelloop.store.db import in_chunks
from labelloop.store.tables import Annotation, Item, ModelVersion
from labelloop.store.vocabulary import ModelStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "champion_number",
    "count_current_labels",
    "earlier_retired",
    "item_inputs",
    "latest_number",
    "retire_other_champions",
    "unlabelled_item_ids",
    "unlabelled_item_rows",
    "version",
    "version_numbers",
    "versions",
]


def versions(session: Session, project_id: int) -> Sequence[ModelVersion]:
    """The project's model versions, oldest first."""
    return session.scalars(
        select(ModelVersion)
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version)
    ).all()


def version(session: Session, project_id: int, number: int) -> ModelVersion | None:
    """The project's model version ``number``, or None."""
    return session.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == project_id, ModelVersion.version == number
        )
    )


def version_numbers(session: Session, project_id: int) -> dict[int, int]:
    """Map model version id -> version number for the project's versions."""
    return {
        vid: number
        for vid, number in session.execute(
            select(ModelVersion.id, ModelVersion.version).where(
                ModelVersion.project_id == project_id
            )
        )
    }


def champion_number(session: Session, project_id: int) -> int | None:
    """The version number of the project's champion, or None."""
    return session.scalar(
        select(ModelVersion.version).where(
            ModelVersion.project_id == project_id, ModelVersion.status == ModelStatus.CHAMPION
        )
    )


def latest_number(session: Session, project_id: int) -> int | None:
    """The highest version number the project has used, or None before its first model."""
    return session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.project_id == project_id)
    )


def earlier_retired(session: Session, project_id: int, before: int) -> ModelVersion | None:
    """The latest retired version below ``before`` that still has its artifact (the champion a
    rollback returns to), or None."""
    return session.scalar(
        select(ModelVersion)
        .where(
            ModelVersion.project_id == project_id,
            ModelVersion.version < before,
            ModelVersion.status == ModelStatus.RETIRED,
            ModelVersion.artifact.is_not(None),
        )
        .order_by(ModelVersion.version.desc())
        .limit(1)
    )


def retire_other_champions(session: Session, project_id: int, keep_id: int) -> None:
    """Retire every champion of the project except version id ``keep_id``."""
    session.execute(
        update(ModelVersion)
        .where(
            ModelVersion.project_id == project_id,
            ModelVersion.status == ModelStatus.CHAMPION,
            ModelVersion.id != keep_id,
        )
        .values(status=ModelStatus.RETIRED)
    )


def _unlabelled_items(project_id: int, *columns: Any) -> Any:
    """``SELECT columns`` of the project's items without a current label, by id."""
    return (
        select(*columns)
        .where(
            Item.project_id == project_id,
            ~select(Annotation.id)
            .where(
                Annotation.item_id == Item.id,
                Annotation.is_current.is_(True),
                Annotation.value.is_not(None),
            )
            .exists(),
        )
        .order_by(Item.id)
    )


def unlabelled_item_ids(session: Session, project_id: int) -> list[int]:
    """The ids of the project's items without a current label, in id order."""
    return list(session.scalars(_unlabelled_items(project_id, Item.id)).all())


def unlabelled_item_rows(session: Session, project_id: int) -> list[Any]:
    """Rows (id, content_hash, data) of the project's items without a current label, by id."""
    return list(
        session.execute(_unlabelled_items(project_id, Item.id, Item.content_hash, Item.data)).all()
    )


def item_inputs(session: Session, item_ids: list[int]) -> list[Any]:
    """Rows (content_hash, data) of ``item_ids``, read in chunks."""
    rows: list[Any] = []
    for chunk in in_chunks(item_ids):
        rows += session.execute(
            select(Item.content_hash, Item.data).where(Item.id.in_(chunk))
        ).all()
    return rows


def count_current_labels(session: Session, project_id: int) -> int | None:
    """How many of the project's items have a current label."""
    return session.scalar(
        select(func.count(Annotation.id)).where(
            Annotation.project_id == project_id,
            Annotation.is_current.is_(True),
            Annotation.value.is_not(None),
        )
    )
