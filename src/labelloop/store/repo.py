"""Repository functions: each takes a session and never commits; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from labelloop.errors import NotFound
from labelloop.store.tables import Annotation, Item, ModelVersion, Project, Suggestion, utcnow

__all__ = [
    "add_annotation",
    "count_items",
    "current_annotations",
    "get_project",
    "items_by_external_id",
    "items_by_hash",
    "label_counts",
    "list_projects",
    "source_counts",
]


def get_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        known = session.scalars(select(Project.name).order_by(Project.name)).all()
        hint = f"; projects: {', '.join(known)}" if known else "; there are no projects yet"
        raise NotFound(f"no project named {name!r}{hint}")
    return project


def list_projects(session: Session) -> Sequence[Project]:
    return session.scalars(select(Project).order_by(Project.name)).all()


def count_items(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count(Item.id)).where(Item.project_id == project_id)) or 0


def items_by_hash(session: Session, project_id: int, hashes: Iterable[str]) -> dict[str, int]:
    """Map content hash -> item id for those of ``hashes`` already in the project."""
    hashes = list(set(hashes))
    found: dict[str, int] = {}
    for start in range(0, len(hashes), 900):
        chunk = hashes[start : start + 900]
        rows = session.execute(
            select(Item.content_hash, Item.id).where(
                Item.project_id == project_id, Item.content_hash.in_(chunk)
            )
        )
        found.update({h: i for h, i in rows})
    return found


def items_by_external_id(
    session: Session, project_id: int, external_ids: Iterable[str]
) -> dict[str, tuple[int, str]]:
    """Map external id -> (item id, content hash) for ids already in the project."""
    ids = list(set(external_ids))
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = session.execute(
            select(Item.external_id, Item.id, Item.content_hash).where(
                Item.project_id == project_id, Item.external_id.in_(chunk)
            )
        )
        found.update({e: (i, h) for e, i, h in rows if e is not None})
    return found


def current_annotations(
    session: Session, project_id: int, item_ids: Iterable[int] | None = None
) -> dict[int, Annotation]:
    """The current (latest, not superseded) annotation of each labelled item."""
    query = select(Annotation).where(
        Annotation.project_id == project_id, Annotation.is_current.is_(True)
    )
    if item_ids is None:
        return {a.item_id: a for a in session.scalars(query)}
    ids = list(set(item_ids))
    found: dict[int, Annotation] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(
            {a.item_id: a for a in session.scalars(query.where(Annotation.item_id.in_(chunk)))}
        )
    return found


def add_annotation(
    session: Session,
    *,
    project_id: int,
    item_id: int,
    value: list[str] | None,
    source: str,
    annotator: str | None,
    model_version_id: int | None = None,
    seconds: float | None = None,
    request_id: str | None = None,
    created_at: datetime | None = None,
) -> Annotation:
    """Append an annotation and mark it current; earlier rows for the item stay as history."""
    session.execute(
        update(Annotation)
        .where(Annotation.item_id == item_id, Annotation.is_current.is_(True))
        .values(is_current=False)
    )
    row = Annotation(
        project_id=project_id,
        item_id=item_id,
        value=value,
        source=source,
        annotator=annotator,
        model_version_id=model_version_id,
        seconds=seconds,
        is_current=True,
        request_id=request_id,
        created_at=created_at or utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def source_counts(session: Session, project_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Annotation.source, func.count(Annotation.id))
        .where(
            Annotation.project_id == project_id,
            Annotation.is_current.is_(True),
            Annotation.value.is_not(None),
        )
        .group_by(Annotation.source)
    )
    return {source: n for source, n in rows}


def label_counts(session: Session, project_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    rows = session.execute(
        select(Annotation.value).where(
            Annotation.project_id == project_id, Annotation.is_current.is_(True)
        )
    )
    for (value,) in rows:
        for label in value or ():
            counts[label] = counts.get(label, 0) + 1
    return counts


def champion(session: Session, project_id: int) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == project_id, ModelVersion.status == "champion"
        )
    )


def suggestions_for(
    session: Session, project_id: int, item_ids: Iterable[int]
) -> dict[int, Suggestion]:
    ids = list(set(item_ids))
    found: dict[int, Suggestion] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(
            {
                s.item_id: s
                for s in session.scalars(
                    select(Suggestion).where(
                        Suggestion.project_id == project_id, Suggestion.item_id.in_(chunk)
                    )
                )
            }
        )
    return found
