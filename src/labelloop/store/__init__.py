"""Storage: tables, migrations, repository functions and artifact files."""

from labelloop.store import repo
from labelloop.store.artifacts import Artifacts
from labelloop.store.db import analyze, create_db_engine, migrate, session_scope, sqlite_url
from labelloop.store.tables import (
    MAX_ID,
    Annotation,
    ApiToken,
    Base,
    Comment,
    Flag,
    ImportRun,
    Item,
    LabelHotkey,
    Lease,
    Membership,
    ModelVersion,
    Project,
    Suggestion,
    User,
    as_utc,
    iso8601,
    utcnow,
)
from labelloop.store.vocabulary import HUMAN_SOURCES, ModelKind, ModelStatus, Source

__all__ = [
    "HUMAN_SOURCES",
    "MAX_ID",
    "Annotation",
    "ApiToken",
    "Artifacts",
    "Base",
    "Comment",
    "Flag",
    "ImportRun",
    "Item",
    "LabelHotkey",
    "Lease",
    "Membership",
    "ModelKind",
    "ModelStatus",
    "ModelVersion",
    "Project",
    "Source",
    "Suggestion",
    "User",
    "analyze",
    "as_utc",
    "create_db_engine",
    "iso8601",
    "migrate",
    "repo",
    "session_scope",
    "sqlite_url",
    "utcnow",
]
