"""Queries of users, their project memberships and their API and session tokens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select

from labelloop.store.tables import ApiToken, Membership, Project, User

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = [
    "count_users",
    "delete_membership",
    "delete_token",
    "members",
    "membership",
    "roles",
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
    """The row (user, token's ``created_at``) of the token stored as ``token_hash``, or None."""
    return session.execute(
        select(User, ApiToken.created_at)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
    ).first()


def delete_token(session: Session, token_hash: str) -> None:
    """Forget the API or session token stored as ``token_hash``."""
    session.execute(delete(ApiToken).where(ApiToken.token_hash == token_hash))
