"""SQLAlchemy 2 tables of a labelloop workspace.

Annotations are append-only: a correction, an undo or a re-label adds a row and flips ``is_current``
on the row it replaces, so the full history of every label stays in the table. Label values are
stored as JSON lists of label *names* (not ids), so a project's history stays readable even if its
schema grows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "MAX_ID",
    "Annotation",
    "ApiToken",
    "Base",
    "Comment",
    "ImportRun",
    "Item",
    "LabelHotkey",
    "Lease",
    "Membership",
    "ModelVersion",
    "Project",
    "Suggestion",
    "User",
    "UtcDateTime",
    "as_utc",
    "iso8601",
    "utcnow",
]


MAX_ID = 2**31 - 1
"""The largest id (or model version number) the tables hold on every database: their ``Integer``
columns are 32-bit on PostgreSQL, so a bigger number names no row and cannot even be bound."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(t: datetime) -> datetime:
    """``t`` in UTC; a naive ``t`` is taken as UTC (what every stored time is)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def iso8601(t: datetime | None) -> str | None:
    """``t`` as ISO 8601 in UTC with a ``Z`` (``2026-12-03T12:58:33.507515Z``), the form the
    JSON of the CLI and REST has too; a naive ``t`` is taken as UTC. ``None`` stays ``None``."""
    if t is None:
        return None
    return as_utc(t).isoformat().replace("+00:00", "Z")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and read back aware of it, on every database.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps text without one and gives naive
    datetimes back, which made the same column print with a zone on one database and without
    on the other. Values are converted to UTC on the way in and marked UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    task: Mapped[str] = mapped_column(String(50))
    label_schema: Mapped[dict[str, Any]] = mapped_column(JSON)
    backbone: Mapped[str] = mapped_column(String(100))
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "content_hash", name="uq_items_project_hash"),
        UniqueConstraint("project_id", "external_id", name="uq_items_project_external_id"),
        # gold items are few: the queue finds them without scanning the project's items
        Index(
            "ix_items_project_gold",
            "project_id",
            sqlite_where=text("gold IS NOT NULL"),
            postgresql_where=text("gold IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    media_path: Mapped[str | None] = mapped_column(Text)
    # The known answer of a gold item (label names), hidden from annotators; NULL for other items.
    gold: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    # Place in the cluster cold start's order (1 = first) while no model scores the project's
    # items (services/models/coldstart.py); the queue serves items without a suggestion so.
    cold_rank: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Annotation(Base):
    __tablename__ = "annotations"
    __table_args__ = (
        Index("ix_annotations_project_current", "project_id", "is_current"),
        Index("ix_annotations_item", "item_id"),
        # id last: an annotator's latest answer is one step down the index (see queue.next_items)
        Index("ix_annotations_project_annotator_id", "project_id", "annotator", "id"),
        Index("ix_annotations_project_created_source", "project_id", "created_at", "source"),
        UniqueConstraint("project_id", "request_id", name="uq_annotations_request"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # Label names; NULL marks a retraction (undo) that leaves the item unlabelled.
    value: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    source: Mapped[str] = mapped_column(String(20))  # a vocabulary.Source
    annotator: Mapped[str | None] = mapped_column(String(200))
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    seconds: Mapped[float | None] = mapped_column(Float)
    # An ``auto`` label's evidence: the model's probability of it when auto-accept took it, and
    # the threshold it met (NULL for other sources).
    confidence: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float | None] = mapped_column(Float)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    # The annotator answered without seeing the suggestion (anchoring-bias check).
    blind: Mapped[bool] = mapped_column(Boolean, default=False)
    # A reviewer's adjudication rather than a first answer.
    reviewed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Client-chosen key that makes a submit idempotent: the same key twice stores one row.
    request_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Flag(Base):
    """An annotator's report that a suggestion (or a label) is wrong, with a reason."""

    __tablename__ = "flags"
    __table_args__ = (Index("ix_flags_project_status", "project_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    annotator: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    model_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | confirmed | dismissed
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("project_id", "version", name="uq_model_versions_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # a vocabulary.ModelStatus
    kind: Mapped[str] = mapped_column(String(20))  # a vocabulary.ModelKind
    backbone: Mapped[str] = mapped_column(String(100))
    head: Mapped[str] = mapped_column(String(50))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    label_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ece: Mapped[float | None] = mapped_column(Float)
    train_seconds: Mapped[float | None] = mapped_column(Float)
    artifact: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Suggestion(Base):
    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("item_id", name="uq_suggestions_item"),
        Index("ix_suggestions_project_priority", "project_id", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE")
    )
    value: Mapped[list[Any]] = mapped_column(JSON)
    pred_probs: Mapped[list[Any]] = mapped_column(JSON)
    confidence: Mapped[float] = mapped_column(Float)
    # Queue order set by the project's query strategy at prediction time (higher comes first).
    priority: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class ImportRun(Base):
    """One import of one file: re-importing the same bytes with the same options is a no-op."""

    __tablename__ = "imports"
    __table_args__ = (UniqueConstraint("project_id", "fingerprint", name="uq_imports_fingerprint"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    fingerprint: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(Text)
    n_items: Mapped[int] = mapped_column(Integer)
    n_duplicates: Mapped[int] = mapped_column(Integer)
    n_annotations: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    is_superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # bumped whenever what the user may do changes (roles, superuser flag, password): the server
    # compares it on every request with the principal it cached
    auth_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id", name="uq_memberships"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))  # admin | reviewer | annotator


class ApiToken(Base):
    """An API token (``kind="token"``) or a browser session (``kind="session"``), stored hashed."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(10), default="token", server_default="token")
    label: Mapped[str | None] = mapped_column(String(100))


class Lease(Base):
    """An item handed to one annotator; others do not get it until it is answered or expires."""

    __tablename__ = "leases"
    __table_args__ = (UniqueConstraint("item_id", "annotator", name="uq_leases_item_annotator"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    annotator: Mapped[str] = mapped_column(String(200))
    # A skip keeps the item from this annotator only; a plain lease keeps it from everyone else.
    skipped: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Comment(Base):
    """A note on an item, by a member of its project, shown beside the item's history."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item_id", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class LabelHotkey(Base):
    """The key that picks a label on the annotate page; a project without rows uses the
    defaults (1-9, 0 for its first ten labels)."""

    __tablename__ = "label_hotkeys"
    __table_args__ = (
        UniqueConstraint("project_id", "key", name="uq_label_hotkeys_key"),
        UniqueConstraint("project_id", "label", name="uq_label_hotkeys_label"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(20))
