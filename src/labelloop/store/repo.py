"""Repository functions: each takes a session and never commits; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NoReturn

from sqlalchemy import Integer, String, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from labelloop.errors import NotFound
from labelloop.store.db import in_chunks
from labelloop.store.raw import Executor
from labelloop.store.tables import Annotation, Item, ModelVersion, Project, Suggestion, utcnow
from labelloop.store.vocabulary import HUMAN_SOURCES, ModelStatus

__all__ = [
    "ProjectRef",
    "add_annotation",
    "count_items",
    "current_annotations",
    "get_project",
    "get_project_ref",
    "items_by_external_id",
    "items_by_hash",
    "label_counts",
    "list_projects",
    "missing_project",
    "source_counts",
]


def get_project(session: Session, name: str) -> Project:
    project = session.scalar(select(Project).where(Project.name == name))
    if project is None:
        missing_project(session, name)
    return project


@dataclass(frozen=True)
class ProjectRef:
    """What the annotation hot path needs of a project, read without loading an ORM object."""

    id: int
    name: str
    label_schema: dict[str, Any]
    settings: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> ProjectRef:
        """From a row with the columns id, name, label_schema and settings."""
        return cls(row.id, row.name, row.label_schema, row.settings or {})


# Statements of the per-request hot path are built once and run on the session's connection:
# building a statement and the ORM's execution layer cost several times what SQLite takes to run it.
_PROJECT_REF = select(Project.id, Project.name, Project.label_schema, Project.settings).where(
    Project.name == bindparam("name", type_=String)
)


def get_project_ref(session: Session, name: str) -> ProjectRef:
    """The project named ``name`` as a :class:`ProjectRef`; :class:`NotFound` if there is none."""
    row = session.connection().execute(_PROJECT_REF, {"name": name}).one_or_none()
    if row is None:
        missing_project(session, name)
    return ProjectRef.of(row)


def missing_project(session: Session | Executor, name: str) -> NoReturn:
    """Raise :class:`NotFound` for project ``name``, naming the projects there are."""
    known = list(session.execute(select(Project.name).order_by(Project.name)).scalars())
    hint = f"; projects: {', '.join(known)}" if known else "; there are no projects yet"
    raise NotFound(f"no project named {name!r}{hint}")


def list_projects(session: Session) -> Sequence[Project]:
    return session.scalars(select(Project).order_by(Project.name)).all()


def count_items(session: Session, project_id: int) -> int:
    return session.scalar(select(func.count(Item.id)).where(Item.project_id == project_id)) or 0


def items_by_hash(session: Session, project_id: int, hashes: Iterable[str]) -> dict[str, int]:
    """Map content hash -> item id for those of ``hashes`` already in the project."""
    hashes = list(set(hashes))
    found: dict[str, int] = {}
    for chunk in in_chunks(hashes):
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
    for chunk in in_chunks(ids):
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
    for chunk in in_chunks(ids):
        found.update(
            {a.item_id: a for a in session.scalars(query.where(Annotation.item_id.in_(chunk)))}
        )
    return found


def add_annotation(
    connection: Session | Executor,
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
    blind: bool = False,
    reviewed: bool = False,
    current: bool = True,
    confidence: float | None = None,
    threshold: float | None = None,
) -> int:
    """Append an annotation and return its id; earlier rows for the item stay as history.

    ``confidence`` and ``threshold`` are an ``auto`` label's evidence (an import of one that
    auto-accept wrote); left out of the INSERT when None, so the statements of the hot path
    stay the ones they were.

    With ``current`` (the default) it becomes the item's label and the row it replaces is marked
    superseded; otherwise it is kept as history only (a gold item's answer, say). Runs in an
    ORM session (rows the caller added through it are flushed first) or on an :class:`Executor`
    (the submit's :class:`~labelloop.store.raw.RawTransaction`).
    """
    if isinstance(connection, Session):
        connection.flush()  # a no-op when the caller added no rows through the ORM
        executor: Executor = connection.connection()
    else:
        executor = connection
    if current:
        executor.execute(_SUPERSEDE, {"of_item": item_id})
    row = {
        "project_id": project_id,
        "item_id": item_id,
        "value": value,
        "source": source,
        "annotator": annotator,
        "model_version_id": model_version_id,
        "seconds": seconds,
        "is_current": current,
        "blind": blind,
        "reviewed": reviewed,
        "request_id": request_id,
        "created_at": created_at or utcnow(),
    }
    if confidence is not None:
        row["confidence"] = confidence
    if threshold is not None:
        row["threshold"] = threshold
    return int(executor.execute(_INSERT_ANNOTATION, row).scalar())


# (an UPDATE's bound parameters may not take its columns' names)
_SUPERSEDE = (
    update(Annotation)
    .where(
        Annotation.item_id == bindparam("of_item", type_=Integer),
        Annotation.is_current.is_(True),
    )
    .values(is_current=False)
)
_INSERT_ANNOTATION = insert(Annotation).returning(Annotation.id)


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
    """How often each label is in the current answers (a span project counts its spans)."""
    counts: dict[str, int] = {}
    rows = session.execute(
        select(Annotation.value).where(
            Annotation.project_id == project_id, Annotation.is_current.is_(True)
        )
    )
    for (value,) in rows:
        for part in value or ():
            label = part["label"] if isinstance(part, dict) else part
            counts[label] = counts.get(label, 0) + 1
    return counts


def champion(session: Session, project_id: int) -> ModelVersion | None:
    return session.scalar(
        select(ModelVersion).where(
            ModelVersion.project_id == project_id, ModelVersion.status == ModelStatus.CHAMPION
        )
    )


def suggestions_for(
    session: Session, project_id: int, item_ids: Iterable[int]
) -> dict[int, Suggestion]:
    ids = list(set(item_ids))
    found: dict[int, Suggestion] = {}
    for chunk in in_chunks(ids):
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


def training_label_rows(session: Session, project_id: int) -> list[Any]:
    """The labels a model learns from, in item order: each item's current answer when it is a
    label (not a retraction) typed or confirmed by people (:data:`HUMAN_SOURCES`; auto-accepted
    labels are the model's own output). Rows: ``id`` (the annotation's), ``item_id``, ``value``,
    ``reviewed``, ``external_id``, ``content_hash``, ``data``."""
    return list(
        session.execute(
            select(
                Annotation.id,
                Annotation.item_id,
                Annotation.value,
                Annotation.reviewed,
                Item.external_id,
                Item.content_hash,
                Item.data,
            )
            .join(Item, Item.id == Annotation.item_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.is_current.is_(True),
                Annotation.value.is_not(None),
                Annotation.source.in_(HUMAN_SOURCES),
            )
            .order_by(Annotation.item_id)
        ).all()
    )
