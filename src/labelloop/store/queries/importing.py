"""Queries of an import: whether a file was imported before, bulk inserts of its rows, and the
model version that stands for imported predictions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from labelloop.store.tables import Annotation, ImportRun, Item, ModelVersion

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["already_imported", "imported_model_id", "insert_annotations", "insert_items"]


def already_imported(session: Session, project_id: int, fingerprint: str) -> int | None:
    """The id of the project's import run of the file with ``fingerprint``, or None."""
    return session.scalar(
        select(ImportRun.id).where(
            ImportRun.project_id == project_id, ImportRun.fingerprint == fingerprint
        )
    )


def insert_items(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert item rows (a plain executemany on the session's connection; no ids returned)."""
    session.connection().execute(insert(Item), rows)


def insert_annotations(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert annotation rows (a plain executemany on the session's connection)."""
    session.connection().execute(insert(Annotation), rows)


def imported_model_id(session: Session, project_id: int, head: str) -> int | None:
    """The id of the project's model version with ``head``, or None."""
    return session.scalar(
        select(ModelVersion.id).where(
            ModelVersion.project_id == project_id, ModelVersion.head == head
        )
    )
