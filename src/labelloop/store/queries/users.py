"""Queries of users, their project memberships and their API and session tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, func, select, update

from labelloop.store.tables import ApiToken, Membership, Project, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "AUTH_STAMP",
    "bump_auth_version",
    "count_users",
    "delete_membership",
    "delete_token",
    "delete_tokens",
    "members",
    "membership",
    "roles",
    "tokens",
    "user_named",
    "user_with_token",
]


def count_users(session: Session) -> int:
    """How many users the workspace has."""
    return session.scalar(select(func.count(User.id))) or 0


def user_named(session: Session, name: str) -> User | None:
    """The user called ``name``, or None."""
    return session.scalar(select(User).where(User.name == name))


def roles(session: Session, user_id: int) -> dict[str, str]:
    """Map project name -> role for the projects ``user_id`` is a member of."""
    rows = session.execute(
        select(Project.name, Membership.role)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == user_id)
    )
    return {name: role for name, role in rows}


def membership(session: Session, user_id: int, project_id: int) -> Membership | None:
    """The membership of ``user_id`` in ``project_id``, or None."""
    return session.scalar(
        select(Membership).where(Membership.user_id == user_id, Membership.project_id == project_id)
    )


def delete_membership(session: Session, user_id: int, project_id: int) -> int:
    """Remove ``user_id`` from ``project_id``; the number of memberships removed (0 or 1)."""
    gone = session.execute(
        delete(Membership).where(Membership.user_id == user_id, Membership.project_id == project_id)
    )
    return int(gone.rowcount)  # type: ignore[attr-defined]


def members(session: Session, project_id: int) -> dict[str, str]:
    """Map user name -> role for the members of ``project_id``, by name."""
    rows = session.execute(
        select(User.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id)
        .order_by(User.name)
    )
    return {n: r for n, r in rows}


def user_with_token(session: Session, token_hash: str) -> Any:
    """The row (user, token's ``created_at``, token's id) of the token stored as ``token_hash``,
    or None."""
    return session.execute(
        select(User, ApiToken.created_at, ApiToken.id)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
    ).first()


def delete_token(session: Session, token_hash: str) -> None:
    """Forget the API or session token stored as ``token_hash``."""
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token_hash))


# What every authenticated request reads (one indexed lookup): whether the token still exists,
# when it was made (sessions expire) and the user's auth version (a cached principal is stale
# when it changed).
AUTH_STAMP = (
    select(User.auth_version, ApiToken.created_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)


def bump_auth_version(session: Session, user_id: int) -> None:
    """Mark what ``user_id`` may do as changed: every cached principal of theirs goes stale."""
    session.execute(
        update(User).where(User.id == user_id).values(auth_version=User.auth_version + 1)
    )


def tokens(session: Session, user_id: int | None) -> list[Any]:
    """Rows (id, user name, kind, label, created_at, token_hash) of the API tokens and sessions
    of ``user_id`` (every user's when None), oldest first."""
    query = select(
        ApiToken.id, User.name, ApiToken.kind, ApiToken.label, ApiToken.created_at,
        ApiToken.token_hash,
    ).join(User, User.id == ApiToken.user_id)  # fmt: skip
    if user_id is not None:
        query = query.where(ApiToken.user_id == user_id)
    return list(session.execute(query.order_by(ApiToken.id)))


def delete_tokens(
    session: Session, user_id: int, *, kind: str | None = None, token_id: int | None = None
) -> int:
    """Forget tokens of ``user_id`` (only ``kind``, only ``token_id`` when given); how many."""
    query = delete(ApiToken).where(ApiToken.user_id == user_id)
    if kind is not None:
        query = query.where(ApiToken.kind == kind)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    return int(session.execute(query).rowcount)  # type: ignore[attr-defined]
