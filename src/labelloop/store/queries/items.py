"""The SQL of browsing items: the filtered, paged item list, an item's history, its comments
and the project's label hotkeys.

The list is one statement on SQLite and PostgreSQL alike; only the "holds this label" test
differs (``json_each`` on SQLite, ``jsonb @>`` on PostgreSQL), since neither reads the other's
JSON functions. Joins are added only for the filters that need them, so counting the matches of
a text search does not join suggestions and answers it never looks at.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from labelloop.store.tables import (
    Annotation,
    Comment,
    Flag,
    Item,
    LabelHotkey,
    ModelVersion,
    Suggestion,
)

__all__ = [
    "ItemFilter",
    "add_comment",
    "comment_by_id",
    "delete_comment",
    "item_answers",
    "item_comments",
    "item_flags",
    "item_row",
    "item_suggestion",
    "list_items",
    "model_versions",
    "project_hotkeys",
    "replace_hotkeys",
]

Status = Literal["unlabelled", "labelled", "auto_accepted", "flagged", "gold"]


@dataclass(frozen=True)
class ItemFilter:
    """What the item list keeps: every field that is set must hold (``None``: any).

    ``text`` is a case-insensitive substring of the item's text or external id; ``label`` a
    label of its current answer, ``suggested`` one of its suggestion; ``source`` the current
    answer's source; ``annotator`` anyone who answered it at any time; ``min_confidence`` and
    ``max_confidence`` bound its suggestion's confidence (items without one are left out).
    ``spans`` says the answers are span lists (``{start, end, label}``), not label names.
    """

    text: str | None = None
    label: str | None = None
    suggested: str | None = None
    source: str | None = None
    annotator: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    status: Status | None = None
    spans: bool = False


_current = aliased(Annotation, name="current_answer")
_IS_CURRENT = (_current.item_id == Item.id) & _current.is_current.is_(True)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _holds_label(session: Session, value: Any, label: str, *, spans: bool) -> ColumnElement[bool]:
    """Whether the JSON list ``value`` holds ``label`` (a label name, or a span with it)."""
    if session.get_bind().dialect.name == "postgresql":
        wanted = [{"label": label}] if spans else [label]
        return cast(value, JSONB).contains(cast(literal(wanted, JSONB), JSONB))
    each = func.json_each(value).table_valued("value", name="elem")
    element = func.json_extract(each.c.value, "$.label") if spans else each.c.value
    return exists(select(literal(1)).select_from(each).where(element == label))


def _needs_answer(f: ItemFilter) -> bool:
    return f.label is not None or f.source is not None or f.status in ("unlabelled", "labelled")


def _needs_suggestion(f: ItemFilter) -> bool:
    return f.suggested is not None or f.min_confidence is not None or f.max_confidence is not None


def _filtered(
    session: Session, query: Select[Any], project_id: int, f: ItemFilter, *, joined: bool
) -> Select[Any]:
    """``query`` over ``items`` restricted to ``f``; ``joined`` says it joins the current answer
    and the suggestion already (else the filters that need them add them)."""
    if not joined and (_needs_answer(f) or f.status == "auto_accepted"):
        query = query.outerjoin(_current, _IS_CURRENT)
    if not joined and _needs_suggestion(f):
        query = query.outerjoin(Suggestion, Suggestion.item_id == Item.id)
    where: list[ColumnElement[bool]] = [Item.project_id == project_id]
    if f.source is not None:
        where.append(and_(_current.source == f.source, _current.value.is_not(None)))
    if f.annotator is not None:
        where.append(
            exists().where(
                Annotation.item_id == Item.id,
                Annotation.project_id == project_id,
                Annotation.annotator == f.annotator,
            )
        )
    if f.min_confidence is not None:
        where.append(Suggestion.confidence >= f.min_confidence)
    if f.max_confidence is not None:
        where.append(Suggestion.confidence <= f.max_confidence)
    if f.status == "unlabelled":
        where.append(and_(_current.value.is_(None), Item.gold.is_(None)))
    elif f.status == "labelled":
        where.append(_current.value.is_not(None))
    elif f.status == "auto_accepted":
        where.append(and_(_current.source == "auto", _current.value.is_not(None)))
    elif f.status == "flagged":
        where.append(Item.id.in_(_open_flag_items(project_id)))
    elif f.status == "gold":
        where.append(Item.gold.is_not(None))
    # the costly tests last: SQLite checks a row's terms in this order and stops at a failing one
    if f.text:
        pattern = _like_pattern(f.text)
        where.append(
            or_(
                Item.data["text"].as_string().ilike(pattern, escape="\\"),
                Item.external_id.ilike(pattern, escape="\\"),
            )
        )
    if f.label is not None:
        where.append(_holds_label(session, _current.value, f.label, spans=f.spans))
    if f.suggested is not None:
        where.append(_holds_label(session, Suggestion.value, f.suggested, spans=f.spans))
    return query.where(*where)


def _open_flag_items(project_id: int) -> Select[Any]:
    return select(Flag.item_id).where(Flag.project_id == project_id, Flag.status == "open")


def list_items(
    session: Session, project_id: int, f: ItemFilter, *, offset: int, limit: int
) -> tuple[int, list[Any]]:
    """``(total, rows)``: how many items match ``f``, and the page of them from ``offset`` in
    item order. A row: ``id``, ``external_id``, ``data``, ``gold``, ``value``, ``source``,
    ``annotator``, ``answered_at`` (the current answer's, all NULL when there is none),
    ``suggested``, ``confidence``, ``model_version`` (the suggestion's) and ``flagged``."""
    counted = _filtered(
        session, select(func.count()).select_from(Item), project_id, f, joined=False
    )
    total = int(session.scalar(counted) or 0)
    open_flag = exists().where(
        Flag.item_id == Item.id, Flag.project_id == project_id, Flag.status == "open"
    )
    page = (
        select(
            Item.id,
            Item.external_id,
            Item.data,
            Item.gold.is_not(None).label("gold"),
            _current.value,
            _current.source,
            _current.annotator,
            _current.created_at.label("answered_at"),
            Suggestion.value.label("suggested"),
            Suggestion.confidence,
            ModelVersion.version.label("model_version"),
            open_flag.label("flagged"),
        )
        .select_from(Item)
        .outerjoin(_current, _IS_CURRENT)
        .outerjoin(Suggestion, Suggestion.item_id == Item.id)
        .outerjoin(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
    )
    page = _filtered(session, page, project_id, f, joined=True)
    rows = session.execute(page.order_by(Item.id).offset(offset).limit(limit)).all()
    return total, list(rows)


def item_row(session: Session, project_id: int, item_id: int) -> Any | None:
    """The item's ``id``, ``external_id``, ``content_hash``, ``data``, ``gold`` and
    ``created_at``, or None when it is not in the project."""
    return session.execute(
        select(
            Item.id, Item.external_id, Item.content_hash, Item.data, Item.gold, Item.created_at
        ).where(Item.id == item_id, Item.project_id == project_id)
    ).one_or_none()


def item_answers(session: Session, item_id: int) -> list[Any]:
    """Every answer the item got (corrections, retractions and gold answers too), oldest first,
    with the number of the model version whose suggestion the annotator saw (and an auto
    label's confidence and threshold)."""
    return list(
        session.execute(
            select(
                Annotation.id,
                Annotation.annotator,
                Annotation.value,
                Annotation.source,
                Annotation.seconds,
                Annotation.is_current,
                Annotation.reviewed,
                Annotation.blind,
                Annotation.created_at,
                Annotation.confidence,
                Annotation.threshold,
                ModelVersion.version.label("model_version"),
            )
            .outerjoin(ModelVersion, ModelVersion.id == Annotation.model_version_id)
            .where(Annotation.item_id == item_id)
            .order_by(Annotation.created_at, Annotation.id)
        ).all()
    )


def item_suggestion(session: Session, item_id: int) -> Any | None:
    """The item's stored suggestion (``value``, ``confidence``, ``created_at``,
    ``model_version``), or None."""
    return session.execute(
        select(
            Suggestion.value,
            Suggestion.confidence,
            Suggestion.created_at,
            ModelVersion.version.label("model_version"),
        )
        .join(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
        .where(Suggestion.item_id == item_id)
    ).one_or_none()


def item_flags(session: Session, item_id: int) -> list[Any]:
    """The item's flags, oldest first, with the suggestion each one reported."""
    return list(
        session.execute(
            select(
                Flag.annotator,
                Flag.reason,
                Flag.suggestion,
                Flag.status,
                Flag.resolved_by,
                Flag.created_at,
                ModelVersion.version.label("model_version"),
            )
            .outerjoin(ModelVersion, ModelVersion.id == Flag.model_version_id)
            .where(Flag.item_id == item_id)
            .order_by(Flag.created_at, Flag.id)
        ).all()
    )


def model_versions(session: Session, project_id: int, *, limit: int) -> tuple[int, list[Any]]:
    """``(total, rows)``: how many model versions the project has, and its ``limit`` newest
    (newest first): ``version``, ``status``, ``kind``, ``backbone``, ``head``, ``artifact``,
    ``label_ids``, ``reason``, ``created_at``."""
    total = session.scalar(
        select(func.count()).select_from(ModelVersion).where(ModelVersion.project_id == project_id)
    )
    rows = session.execute(
        select(
            ModelVersion.version,
            ModelVersion.status,
            ModelVersion.kind,
            ModelVersion.backbone,
            ModelVersion.head,
            ModelVersion.artifact,
            ModelVersion.label_ids,
            ModelVersion.reason,
            ModelVersion.created_at,
        )
        .where(ModelVersion.project_id == project_id)
        .order_by(ModelVersion.version.desc())
        .limit(limit)
    ).all()
    return int(total or 0), list(rows)


def item_comments(session: Session, item_id: int) -> list[Comment]:
    """The item's comments, oldest first."""
    return list(
        session.scalars(select(Comment).where(Comment.item_id == item_id).order_by(Comment.id))
    )


def comment_by_id(session: Session, item_id: int, comment_id: int) -> Comment | None:
    return session.scalar(
        select(Comment).where(Comment.id == comment_id, Comment.item_id == item_id)
    )


def add_comment(
    session: Session, *, project_id: int, item_id: int, author: str, body: str
) -> Comment:
    comment = Comment(project_id=project_id, item_id=item_id, author=author, body=body)
    session.add(comment)
    session.flush()
    return comment


def delete_comment(session: Session, comment: Comment) -> None:
    session.delete(comment)
    session.flush()


def project_hotkeys(session: Session, project_id: int) -> dict[str, str]:
    """The project's stored label -> key map (empty when it uses the defaults)."""
    rows = session.execute(
        select(LabelHotkey.label, LabelHotkey.key).where(LabelHotkey.project_id == project_id)
    )
    return {label: key for label, key in rows}


def replace_hotkeys(session: Session, project_id: int, hotkeys: dict[str, str]) -> None:
    """Store ``hotkeys`` (label -> key) as the project's whole map."""
    session.execute(delete(LabelHotkey).where(LabelHotkey.project_id == project_id))
    if hotkeys:
        session.add_all(
            LabelHotkey(project_id=project_id, label=label, key=key)
            for label, key in hotkeys.items()
        )
    session.flush()
