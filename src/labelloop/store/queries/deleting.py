"""Deleting a project or some of its items, with every row that hangs off them.

The rows to delete are found from the tables' foreign keys, not from a list kept by hand: a row
belongs to a project (or to an item) when one of its foreign keys points at it, directly or
through a chain of other tables' keys. A table added later is therefore deleted with its
project too, and a test counts every table's rows to hold that. Deletes run children first
(the reverse of SQLAlchemy's dependency order), so no statement leans on ``ON DELETE CASCADE``
(which an older database's tables or SQLite's ``foreign_keys`` pragma might not honour) and
PostgreSQL's foreign-key triggers find nothing left to cascade to.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Table, delete, or_, select, update

from labelloop.store.tables import Base, ImportRun, Item, Membership, ModelVersion, Project, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "ID_CHUNK",
    "artifact_paths",
    "delete_item_rows",
    "delete_project_rows",
    "forget_imports",
    "item_ids_in",
    "member_ids",
]

#: Ids bound per ``IN (...)`` list (SQLite binds at most 32,766 parameters a statement).
ID_CHUNK = 500


def _owned(
    table: Table, root: Table, ids: Sequence[int], seen: frozenset[str] = frozenset()
) -> ColumnElement[bool] | None:
    """The rows of ``table`` that hang off the ``root`` rows ``ids``, by a foreign key to
    ``root`` itself or, when it has none, through the tables it references; None when none of
    its keys leads there."""
    seen = seen | {table.name}
    direct = [fk.parent.in_(ids) for fk in table.foreign_keys if fk.column.table is root]
    if direct:
        return or_(*direct)
    chains = []
    for fk in table.foreign_keys:
        target = fk.column.table
        if target.name in seen or not isinstance(target, Table):
            continue
        inner = _owned(target, root, ids, seen)
        if inner is not None:
            chains.append(fk.parent.in_(select(fk.column).where(inner)))
    return or_(*chains) if chains else None


def _delete_under(session: Session, root: Table, ids: Sequence[int]) -> dict[str, int]:
    """Delete, children first, every row of every table that hangs off ``root``'s rows
    ``ids``, then those rows; how many rows went from each table."""
    counts: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        where = root.c.id.in_(ids) if table is root else _owned(table, root, ids)
        if where is None:
            continue
        result: Any = session.execute(delete(table).where(where))
        counts[table.name] = counts.get(table.name, 0) + int(result.rowcount or 0)
    return counts


def member_ids(session: Session, project_id: int) -> list[int]:
    """The ids of the project's members (their cached roles change when it goes)."""
    return list(
        session.scalars(select(Membership.user_id).where(Membership.project_id == project_id))
    )


def artifact_paths(session: Session, project_id: int) -> list[str]:
    """The artifact folders (relative to the workspace) its model versions recorded."""
    rows = session.scalars(
        select(ModelVersion.artifact).where(
            ModelVersion.project_id == project_id, ModelVersion.artifact.is_not(None)
        )
    )
    return [str(path) for path in rows]


def delete_project_rows(session: Session, project_id: int) -> dict[str, int]:
    """Delete project ``project_id`` and every row that belongs to it (items, answers,
    suggestions, model versions, flags, leases, imports, memberships, ...); rows per table.

    The members' auth versions are bumped first, so a server's cached roles drop the project on
    their next request.
    """
    users = member_ids(session, project_id)
    if users:
        session.execute(
            update(User).where(User.id.in_(users)).values(auth_version=User.auth_version + 1)
        )
    return _delete_under(session, Project.__table__, [project_id])  # type: ignore[arg-type]


def delete_item_rows(session: Session, item_ids: Sequence[int]) -> dict[str, int]:
    """Delete items ``item_ids`` and every row that hangs off them (answers, suggestions,
    flags, leases, comments, ...); rows per table, summed over chunks of :data:`ID_CHUNK`."""
    counts: dict[str, int] = {}
    for start in range(0, len(item_ids), ID_CHUNK):
        chunk = list(item_ids[start : start + ID_CHUNK])
        for table, n in _delete_under(session, Item.__table__, chunk).items():  # type: ignore[arg-type]
            counts[table] = counts.get(table, 0) + n
    return counts


def item_ids_in(session: Session, project_id: int, item_ids: Sequence[int]) -> set[int]:
    """Which of ``item_ids`` are items of the project."""
    found: set[int] = set()
    for start in range(0, len(item_ids), ID_CHUNK):
        chunk = list(item_ids[start : start + ID_CHUNK])
        found.update(
            session.scalars(
                select(Item.id).where(Item.project_id == project_id, Item.id.in_(chunk))
            )
        )
    return found


def forget_imports(session: Session, project_id: int) -> int:
    """Drop the project's import records, so a file whose items were deleted imports again
    (its fingerprint would make it a no-op); how many there were."""
    result: Any = session.execute(delete(ImportRun).where(ImportRun.project_id == project_id))
    return int(result.rowcount or 0)
