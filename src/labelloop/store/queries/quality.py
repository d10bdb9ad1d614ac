"""Queries of quality assurance: answers, gold, flags, the review list and auto-accept.

The markers the services own (the ``request_id`` prefix of a reviewer's resolution, the reason
prefix of a detector flag) are passed in, so the store keeps no service vocabulary.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, exists, func, insert, select, update

from labelloop.store.db import in_chunks
from labelloop.store.suggestions import QUEUED
from labelloop.store.tables import Annotation, Flag, Item, ModelVersion, Suggestion
from labelloop.store.vocabulary import HUMAN_SOURCES, Source

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "annotation_histories",
    "answer_rows",
    "answered_annotations",
    "auto_item_ids",
    "delete_flags",
    "delete_suggestions",
    "detector_flag_item_ids",
    "flag_counts",
    "flag_in_project",
    "flags",
    "gold_item_rows",
    "gold_items",
    "gold_pred_probs",
    "human_answer_rows",
    "insert_auto_annotations",
    "items_by_id",
    "multi_annotator_item_ids",
    "open_detector_flags",
    "open_flag",
    "open_flags_on",
    "people_flag_item_ids",
    "queued_suggestions",
    "recent_open_flags",
    "rejected_item_ids",
    "retire_current",
    "suggestion_values",
    "unlabelled_suggestions",
    "version_id",
]


# -- answers and gold --------------------------------------------------------------------------
def answer_rows(session: Session, project_id: int) -> list[Any]:
    """(item id, annotator, value, blind) of named non-auto, non-review answers, oldest first."""
    return list(
        session.execute(
            select(Annotation.item_id, Annotation.annotator, Annotation.value, Annotation.blind)
            .where(
                Annotation.project_id == project_id,
                Annotation.reviewed.is_(False),
                Annotation.source != Source.AUTO,
                Annotation.annotator.is_not(None),
            )
            .order_by(Annotation.id)
        ).all()
    )


def gold_items(session: Session, project_id: int) -> dict[int, tuple[str, ...]]:
    """Map item id -> gold answer for the project's gold items."""
    rows = session.execute(
        select(Item.id, Item.gold).where(Item.project_id == project_id, Item.gold.is_not(None))
    )
    return {i: tuple(g) for i, g in rows}


def gold_item_rows(session: Session, project_id: int, offset: int, limit: int) -> Sequence[Item]:
    """The project's gold items by id, ``limit`` of them from ``offset``."""
    return session.scalars(
        select(Item)
        .where(Item.project_id == project_id, Item.gold.is_not(None))
        .order_by(Item.id)
        .offset(offset)
        .limit(limit)
    ).all()


def gold_pred_probs(
    session: Session, project_id: int, version_id: int
) -> list[tuple[int, tuple[str, ...], list[float]]]:
    """(item id, gold answer, pred_probs) of the gold items that hold a suggestion of model
    version ``version_id``."""
    rows = session.execute(
        select(Item.id, Item.gold, Suggestion.pred_probs)
        .join(Suggestion, Suggestion.item_id == Item.id)
        .where(
            Item.project_id == project_id,
            Item.gold.is_not(None),
            Suggestion.model_version_id == version_id,
        )
        .order_by(Item.id)
    ).all()
    return [(int(i), tuple(gold), list(probs)) for i, gold, probs in rows]


def suggestion_values(session: Session, project_id: int, item_ids: list[int]) -> list[Any]:
    """(item id, value) of the project's suggestions on ``item_ids``."""
    return list(
        session.execute(
            select(Suggestion.item_id, Suggestion.value).where(
                Suggestion.project_id == project_id, Suggestion.item_id.in_(item_ids or [-1])
            )
        ).all()
    )


# -- flags -------------------------------------------------------------------------------------
def open_flag(session: Session, item_id: int, annotator: str) -> Flag | None:
    """The annotator's open flag on the item, or None."""
    return session.scalar(
        select(Flag).where(
            Flag.item_id == item_id, Flag.annotator == annotator, Flag.status == "open"
        )
    )


def open_flags_on(session: Session, item_id: int) -> Sequence[Flag]:
    """Every open flag on the item (people's and the detector's)."""
    return session.scalars(select(Flag).where(Flag.item_id == item_id, Flag.status == "open")).all()


def flags(session: Session, project_id: int, status: str | None, limit: int) -> Sequence[Flag]:
    """At most ``limit`` of the project's flags (of ``status`` unless None), newest first."""
    query = select(Flag).where(Flag.project_id == project_id)
    if status is not None:
        query = query.where(Flag.status == status)
    return session.scalars(query.order_by(Flag.id.desc()).limit(limit)).all()


def flag_in_project(session: Session, project_id: int, flag_id: int) -> Flag | None:
    """Flag ``flag_id`` if it belongs to the project, else None."""
    return session.scalar(select(Flag).where(Flag.id == flag_id, Flag.project_id == project_id))


def flag_counts(session: Session, project_id: int) -> dict[str, int]:
    """Map status -> number of people's flags (the detector's left out)."""
    return dict(
        session.execute(
            select(Flag.status, func.count(Flag.id))
            .where(Flag.project_id == project_id, Flag.annotator.is_not(None))
            .group_by(Flag.status)
        ).all()
    )


def recent_open_flags(session: Session, project_id: int, limit: int) -> Sequence[Flag]:
    """The newest ``limit`` open flags people raised."""
    return session.scalars(
        select(Flag)
        .where(Flag.project_id == project_id, Flag.status == "open", Flag.annotator.is_not(None))
        .order_by(Flag.id.desc())
        .limit(limit)
    ).all()


def _detector_flag(prefix: str) -> Any:
    return Flag.annotator.is_(None) & Flag.reason.like(f"{prefix}%")


def _unresolved() -> Any:
    """Open flags whose item has no adjudication since the flag was raised."""
    return (Flag.status == "open") & ~exists().where(
        Annotation.item_id == Flag.item_id,
        Annotation.is_current.is_(True),
        Annotation.reviewed.is_(True),
        Annotation.created_at >= Flag.created_at,
    )


def version_id(session: Session, project_id: int, number: int | None) -> int | None:
    """The id of the project's model version ``number``, or None."""
    return session.scalar(
        select(ModelVersion.id).where(
            ModelVersion.project_id == project_id, ModelVersion.version == number
        )
    )


def open_detector_flags(session: Session, project_id: int, *, prefix: str) -> dict[int, Flag]:
    """Map item id -> open detector flag (reason starting with ``prefix``, no annotator)."""
    return {
        f.item_id: f
        for f in session.scalars(
            select(Flag).where(
                Flag.project_id == project_id, Flag.status == "open", _detector_flag(prefix)
            )
        )
    }


def delete_flags(session: Session, flag_ids: list[int]) -> None:
    """Delete the flags ``flag_ids``."""
    session.execute(delete(Flag).where(Flag.id.in_(flag_ids)))


def detector_flag_item_ids(
    session: Session, project_id: int, limit: int, *, prefix: str
) -> list[int]:
    """Items of unresolved detector flags, in flag order."""
    return list(
        session.scalars(
            select(Flag.item_id)
            .where(Flag.project_id == project_id, _detector_flag(prefix), _unresolved())
            .order_by(Flag.id)
            .limit(limit)
        )
    )


def people_flag_item_ids(
    session: Session, project_id: int, limit: int, *, prefix: str
) -> list[int]:
    """Items of at most ``limit`` unresolved flags people raised, in flag order (repeats kept)."""
    return list(
        session.scalars(
            select(Flag.item_id)
            .where(Flag.project_id == project_id, ~_detector_flag(prefix), _unresolved())
            .order_by(Flag.id)
            .limit(limit)
        )
    )


# -- the review list ---------------------------------------------------------------------------
def _reviewed(project_id: int, prefix: str) -> Any:
    """Items whose current label is a reviewer's resolution."""
    return select(Annotation.item_id).where(
        Annotation.project_id == project_id,
        Annotation.is_current.is_(True),
        Annotation.request_id.like(f"{prefix}%"),
    )


def multi_annotator_item_ids(
    session: Session, project_id: int, limit: int, *, review_prefix: str
) -> list[int]:
    """At most ``limit`` non-gold, unresolved items answered by more than one annotator."""
    return list(
        session.scalars(
            select(Annotation.item_id)
            .join(Item, Item.id == Annotation.item_id)
            .where(
                Annotation.project_id == project_id,
                Item.gold.is_(None),  # gold answers are scored against the gold, not adjudicated
                Annotation.source.in_(HUMAN_SOURCES),
                Annotation.value.is_not(None),
                Annotation.item_id.not_in(_reviewed(project_id, review_prefix)),
            )
            .group_by(Annotation.item_id)
            .having(func.count(func.distinct(Annotation.annotator)) > 1)
            .limit(limit)
        )
    )


def human_answer_rows(session: Session, item_ids: list[int]) -> list[Any]:
    """(item id, annotator, value) of the human answers on ``item_ids``, oldest first."""
    return list(
        session.execute(
            select(Annotation.item_id, Annotation.annotator, Annotation.value)
            .where(
                Annotation.item_id.in_(item_ids),
                Annotation.source.in_(HUMAN_SOURCES),
                Annotation.value.is_not(None),
            )
            .order_by(Annotation.id)
        ).all()
    )


def rejected_item_ids(
    session: Session, project_id: int, limit: int, *, review_prefix: str
) -> list[int]:
    """Items whose current label is a person's answer that replaced a suggestion, newest first."""
    return list(
        session.scalars(
            select(Annotation.item_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.is_current.is_(True),
                Annotation.source == Source.HUMAN,
                Annotation.value.is_not(None),
                Annotation.model_version_id.is_not(None),
                Annotation.request_id.is_(None) | ~Annotation.request_id.like(f"{review_prefix}%"),
            )
            .order_by(Annotation.id.desc())
            .limit(limit)
        )
    )


def items_by_id(session: Session, item_ids: list[int]) -> dict[int, Item]:
    """Map item id -> item for ``item_ids``."""
    return {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}


def answered_annotations(session: Session, item_ids: list[int]) -> Sequence[Annotation]:
    """The annotations with a value on ``item_ids``, oldest first."""
    return session.scalars(
        select(Annotation)
        .where(Annotation.item_id.in_(item_ids), Annotation.value.is_not(None))
        .order_by(Annotation.id)
    ).all()


def queued_suggestions(session: Session, project_id: int, offset: int, limit: int) -> list[Any]:
    """(suggestion, model version number) of the queued suggestions, highest priority first."""
    return list(
        session.execute(
            select(Suggestion, ModelVersion.version)
            .join(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
            .where(Suggestion.project_id == project_id, QUEUED)
            .order_by(Suggestion.priority.desc(), Suggestion.item_id)
            .offset(offset)
            .limit(limit)
        ).all()
    )


# -- auto-accept -------------------------------------------------------------------------------
def unlabelled_suggestions(session: Session, project_id: int, version_id: int) -> list[Any]:
    """(item id, value, confidence) of the version's suggestions on unlabelled items, by item."""
    labelled = exists().where(
        Annotation.item_id == Suggestion.item_id,
        Annotation.is_current.is_(True),
        Annotation.value.is_not(None),
    )
    return list(
        session.execute(
            select(Suggestion.item_id, Suggestion.value, Suggestion.confidence)
            .where(
                Suggestion.project_id == project_id,
                Suggestion.model_version_id == version_id,
                ~labelled,
            )
            .order_by(Suggestion.item_id)
        ).all()
    )


def retire_current(session: Session, item_ids: list[int]) -> None:
    """The current annotations of ``item_ids`` stop being current."""
    session.execute(
        update(Annotation)
        .where(Annotation.item_id.in_(item_ids), Annotation.is_current.is_(True))
        .values(is_current=False)
    )


def insert_auto_annotations(
    session: Session,
    project_id: int,
    version_id: int,
    rows: Sequence[tuple[int, list[str], float]],
    *,
    annotator: str,
    threshold: float,
    now: datetime,
) -> None:
    """Insert a current ``auto`` annotation per (item id, value, confidence) of ``rows``, each
    keeping its confidence and the ``threshold`` it met."""
    session.execute(
        insert(Annotation),
        [
            {
                "project_id": project_id,
                "item_id": i,
                "value": value,
                "source": Source.AUTO,
                "annotator": annotator,
                "model_version_id": version_id,
                "confidence": confidence,
                "threshold": threshold,
                "is_current": True,
                "created_at": now,
            }
            for i, value, confidence in rows
        ],
    )


def delete_suggestions(session: Session, item_ids: list[int]) -> None:
    """Delete the suggestions of ``item_ids``."""
    session.execute(delete(Suggestion).where(Suggestion.item_id.in_(item_ids)))


def auto_item_ids(session: Session, project_id: int) -> list[int]:
    """Items that ever had an ``auto`` label."""
    return list(
        session.scalars(
            select(Annotation.item_id)
            .where(
                Annotation.project_id == project_id,
                Annotation.source == Source.AUTO,
                Annotation.value.is_not(None),
            )
            .distinct()
        )
    )


def annotation_histories(session: Session, item_ids: list[int]) -> dict[int, list[Annotation]]:
    """Map item id -> its annotations, oldest first (read in chunks)."""
    history: dict[int, list[Annotation]] = {}
    for chunk in in_chunks(item_ids):
        for a in session.scalars(
            select(Annotation).where(Annotation.item_id.in_(chunk)).order_by(Annotation.id)
        ):
            history.setdefault(a.item_id, []).append(a)
    return history
