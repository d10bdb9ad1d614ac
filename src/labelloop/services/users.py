"""Users, project roles, password hashes, browser sessions and API tokens.

Passwords are hashed with argon2 (argon2-cffi). API tokens and session tokens are random strings
shown once; only their sha256 is stored (``api_tokens.token_hash``). A session token is hashed with
a ``session:`` prefix so it can never be used as a bearer token, nor a bearer token as a session.

Roles per project, from most to least powerful: ``admin`` (settings, members, export, models),
``reviewer`` (review and adjudicate), ``annotator`` (own queue only). A superuser is admin of every
project and may create projects and users.

Example:
    >>> from labelloop.services.users import add_user, create_token       # doctest: +SKIP
    >>> add_user(ws, "ada", password="correct horse", superuser=True)     # doctest: +SKIP
    >>> token = create_token(ws, "ada")                                   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import Signer
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from pydantic import BaseModel

from labelloop.errors import InvalidInput, NotFound, PermissionDenied
from labelloop.services import projects
from labelloop.services.annotation.queue import is_handed
from labelloop.services.results import ProjectInfo
from labelloop.store import ApiToken, Membership, User, as_utc, repo, utcnow
from labelloop.store.queries import projects as project_queries
from labelloop.store.queries import users as queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "ROLES",
    "SESSION_SECONDS",
    "LoginLimiter",
    "Principal",
    "TokenInfo",
    "UserInfo",
    "add_user",
    "authenticate",
    "count_users",
    "create_project_with_admin",
    "create_session",
    "create_token",
    "credential_version",
    "csrf_token",
    "delete_session",
    "item_in_project",
    "list_members",
    "list_tokens",
    "may_answer",
    "principal_for_session",
    "principal_for_token",
    "remove_member",
    "require_role",
    "revoke_token",
    "revoke_tokens",
    "secret_key",
    "set_member",
]

ROLES = ("annotator", "reviewer", "admin")  # least to most powerful
SESSION_SECONDS = 14 * 24 * 3600
_NAME_MAX = 100
_PASSWORD_MIN = 8
# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~30 ms a login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_dummy: list[str] = []


def _dummy_hash() -> str:
    """A valid hash of a random password: verifying against it when the user does not exist
    keeps the time of a failed login independent of whether the name exists."""
    if not _dummy:
        _dummy.append(_hasher.hash(secrets.token_hex(16)))
    return _dummy[0]


class UserInfo(BaseModel):
    id: int
    name: str
    is_superuser: bool
    roles: dict[str, str]  # project name -> role


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user with their roles, and how they authenticated."""

    user_id: int
    name: str
    is_superuser: bool
    roles: dict[str, str] = field(default_factory=dict)  # project name -> role
    via: str = "token"  # token | session
    auth_version: int = 0  # the user's users.auth_version when this was read
    token_id: int | None = None  # the api_tokens row the caller authenticated with

    def role_in(self, project: str) -> str | None:
        """The user's role in ``project`` (``admin`` for a superuser), or None."""
        if self.is_superuser:
            return "admin"
        return self.roles.get(project)

    def has_role(self, project: str, role: str) -> bool:
        mine = self.role_in(project)
        return mine is not None and ROLES.index(mine) >= ROLES.index(role)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > _NAME_MAX or any(c.isspace() or not c.isprintable() for c in name):
        raise InvalidInput(
            f"user name must be 1-{_NAME_MAX} printable characters without spaces", field="name"
        )
    return name


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field="role")
    return role


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _info(session: Session, user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        name=user.name,
        is_superuser=user.is_superuser,
        roles=queries.roles(session, user.id),
    )


def count_users(ws: WorkspaceContext) -> int:
    with ws.transaction() as session:
        return queries.count_users(session)


def add_user(
    ws: WorkspaceContext,
    name: str,
    *,
    password: str | None = None,
    role: str | None = None,
    project: str | None = None,
    superuser: bool | None = None,
) -> UserInfo:
    """Create user ``name`` or update them (password, role in ``project``, superuser flag).

    The first user ever created becomes a superuser unless ``superuser=False``. ``role`` without
    ``project`` is only meaningful for ``admin`` and makes the user a superuser.
    """
    name = _check_name(name)
    if role is not None:
        _check_role(role)
    if password is not None and len(password) < _PASSWORD_MIN:
        raise InvalidInput(
            f"password must be at least {_PASSWORD_MIN} characters", field="password"
        )
    with ws.transaction() as session:
        first = queries.count_users(session) == 0
        user = queries.user_named(session, name)
        if user is None:
            user = User(name=name, is_superuser=False)
            session.add(user)
        was_superuser = user.is_superuser
        if password is not None:
            user.password_hash = _hasher.hash(password)
        if superuser is not None:
            user.is_superuser = superuser
        elif first or (role == "admin" and project is None):
            user.is_superuser = True
        session.flush()
        if password is not None:
            # a new password ends every session and API token made with the old one
            queries.delete_tokens(session, user.id)
        if password is not None or user.is_superuser != was_superuser:
            queries.bump_auth_version(session, user.id)
        if project is not None:
            if role is None:
                raise InvalidInput("give --role with --project", field="role")
            _set_member(session, user, project, role)
        return _info(session, user)


def _set_member(session: Session, user: User, project: str, role: str) -> None:
    p = repo.get_project(session, project)
    member = queries.membership(session, user.id, p.id)
    if member is None:
        session.add(Membership(user_id=user.id, project_id=p.id, role=role))
    else:
        member.role = role
    queries.bump_auth_version(session, user.id)


def set_member(ws: WorkspaceContext, project: str, name: str, role: str) -> UserInfo:
    """Give existing user ``name`` ``role`` in ``project``."""
    _check_role(role)
    with ws.transaction() as session:
        user = queries.user_named(session, name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        _set_member(session, user, project, role)
        session.flush()
        return _info(session, user)


def create_project_with_admin(
    ws: WorkspaceContext,
    name: str,
    *,
    admin: str,
    labels: str | list[str],
    task: str = "text-classification",
    multi_label: bool = False,
    backbone: str | None = None,
    descriptions: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
    allow_overlap: bool = False,
    type_map: dict[str, str] | None = None,
) -> ProjectInfo:
    """Create a project (:func:`labelloop.services.projects.create_project`) with existing user
    ``admin`` as its admin, in one transaction: if either step fails, neither is stored."""
    with ws.transaction() as session:
        info = projects.add_project(
            session, name, labels=labels, task=task, multi_label=multi_label, backbone=backbone,
            descriptions=descriptions, settings=settings, allow_overlap=allow_overlap,
            type_map=type_map,
        )  # fmt: skip
        user = queries.user_named(session, admin)
        if user is None:
            raise NotFound(f"no user named {admin!r}")
        _set_member(session, user, info.name, "admin")
        return info


def remove_member(ws: WorkspaceContext, project: str, name: str) -> None:
    with ws.transaction() as session:
        p = repo.get_project(session, project)
        user = queries.user_named(session, name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        if not queries.delete_membership(session, user.id, p.id):
            raise NotFound(f"{name!r} is not a member of {project!r}")
        queries.bump_auth_version(session, user.id)


def list_members(ws: WorkspaceContext, project: str) -> dict[str, str]:
    """Map user name -> role for the members of ``project``."""
    with ws.transaction() as session:
        p = repo.get_project(session, project)
        return queries.members(session, p.id)


def authenticate(ws: WorkspaceContext, name: str, password: str) -> UserInfo | None:
    """The user if ``password`` is theirs, else None (in about the same time either way)."""
    with ws.transaction() as session:
        # no user name holds a NUL (nor can PostgreSQL compare one): the dummy hash still runs
        user = None if "\x00" in name else queries.user_named(session, name[:_NAME_MAX])
        stored = user.password_hash if user is not None and user.password_hash else _dummy_hash()
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if user is None or not user.password_hash:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        return _info(session, user)


def create_token(ws: WorkspaceContext, name: str, *, label: str | None = None) -> str:
    """A new API token for user ``name``; only its sha256 is stored, so show it once.

    ``label`` (up to 100 characters) names the token in :func:`list_tokens`.
    """
    if label is not None and (len(label) > 100 or not label.isprintable()):
        raise InvalidInput("a token label is up to 100 printable characters", field="label")
    token = "llt_" + secrets.token_urlsafe(32)
    with ws.transaction() as session:
        user = queries.user_named(session, name)
        if user is None:
            raise NotFound(f"no user named {name!r}; create one with: labelloop user add {name}")
        session.add(ApiToken(user_id=user.id, token_hash=_sha256(token), kind="token", label=label))
    return token


def create_session(ws: WorkspaceContext, user_id: int, *, label: str | None = None) -> str:
    """A new browser session token for ``user_id`` (stored hashed, like API tokens);
    ``label`` says where it came from (the client's address and browser, cut to 100)."""
    token = secrets.token_urlsafe(32)
    with ws.transaction() as session:
        session.add(
            ApiToken(
                user_id=user_id,
                token_hash=_sha256("session:" + token),
                kind="session",
                label=label[:100] if label else None,
            )
        )
    return token


def delete_session(ws: WorkspaceContext, token: str) -> None:
    with ws.transaction() as session:
        queries.delete_token(session, _sha256("session:" + token))


class TokenInfo(BaseModel):
    """One API token or browser session (never the token itself: only its hash is stored)."""

    id: int
    user: str
    kind: str  # token | session
    label: str | None
    created_at: datetime
    expires_at: datetime | None  # sessions only


def _token_info(row: Any) -> TokenInfo:
    created = as_utc(row.created_at)
    expires = created + timedelta(seconds=SESSION_SECONDS) if row.kind == "session" else None
    return TokenInfo(
        id=row.id, user=row.name, kind=row.kind, label=row.label, created_at=created,
        expires_at=expires,
    )  # fmt: skip


def list_tokens(ws: WorkspaceContext, name: str | None = None) -> list[TokenInfo]:
    """The API tokens and browser sessions of user ``name`` (everyone's when None)."""
    with ws.transaction() as session:
        user_id = None
        if name is not None:
            user = queries.user_named(session, name)
            if user is None:
                raise NotFound(f"no user named {name!r}")
            user_id = user.id
        return [_token_info(row) for row in queries.tokens(session, user_id)]


def revoke_token(ws: WorkspaceContext, token_id: int, *, owner: str | None = None) -> TokenInfo:
    """Revoke API token or session ``token_id`` (only one of ``owner``'s when given): it stops
    working on the next request, in every server process."""
    with ws.transaction() as session:
        found = [row for row in queries.tokens(session, None) if row.id == token_id]
        if not found or (owner is not None and found[0].name != owner):
            raise NotFound(f"no token or session with id {token_id}")
        user = queries.user_named(session, found[0].name)
        assert user is not None
        queries.delete_tokens(session, user.id, token_id=token_id)
        return _token_info(found[0])


def revoke_tokens(ws: WorkspaceContext, name: str, *, kind: str | None = None) -> int:
    """Revoke every API token and session of user ``name`` (only ``kind``: ``token`` or
    ``session``, when given); how many were revoked."""
    if kind not in (None, "token", "session"):
        raise InvalidInput("kind is token or session", field="kind")
    with ws.transaction() as session:
        user = queries.user_named(session, name)
        if user is None:
            raise NotFound(f"no user named {name!r}")
        return queries.delete_tokens(session, user.id, kind=kind)


def _principal(
    ws: WorkspaceContext, token_hash: str, via: str, max_age: float | None
) -> Principal | None:
    with ws.transaction() as session:
        row = queries.user_with_token(session, token_hash)
        if row is None:
            return None
        user, created, token_id = row
        if max_age is not None and _expired(created, max_age):
            queries.delete_token(session, token_hash)
            return None
        return Principal(
            user_id=user.id,
            name=user.name,
            is_superuser=user.is_superuser,
            roles=queries.roles(session, user.id),
            via=via,
            auth_version=user.auth_version,
            token_id=token_id,
        )


def _expired(created: datetime, max_age: float) -> bool:
    return utcnow() - as_utc(created) > timedelta(seconds=max_age)


def credential_version(ws: WorkspaceContext, kind: str, token: str) -> int | None:
    """The auth version of the user behind a bearer token (``kind="token"``) or session cookie
    (``kind="session"``); None when it is unknown, revoked or expired.

    One indexed read, cheap enough for every request: a server may keep principals in memory
    as long as this number has not changed (:attr:`Principal.auth_version`).
    """
    if not token or len(token) > 200:
        return None
    token_hash = _sha256(token if kind == "token" else "session:" + token)
    with ws.raw_transaction() as tx:
        rows = tx.execute(queries.AUTH_STAMP, {"token_hash": token_hash}).all()
    if not rows:
        return None
    if kind == "session" and _expired(rows[0].created_at, SESSION_SECONDS):
        return None
    return int(rows[0].auth_version)


def principal_for_token(ws: WorkspaceContext, token: str) -> Principal | None:
    """The caller behind bearer ``token``, or None."""
    if not token or len(token) > 200:
        return None
    return _principal(ws, _sha256(token), "token", None)


def principal_for_session(ws: WorkspaceContext, token: str) -> Principal | None:
    """The caller behind session cookie ``token`` (None if unknown or expired)."""
    if not token or len(token) > 200:
        return None
    return _principal(ws, _sha256("session:" + token), "session", SESSION_SECONDS)


def item_in_project(ws: WorkspaceContext, project: str, item_id: int) -> bool:
    """Whether ``item_id`` belongs to ``project`` (:class:`NotFound` if the project does not)."""
    with ws.transaction() as session:
        p = repo.get_project(session, project)
        return project_queries.item_project_id(session, item_id) == p.id


def may_answer(ws: WorkspaceContext, project: str, item_id: int, annotator: str) -> bool:
    """An annotator may answer an item handed to them (a lease) or one they answered before."""
    with ws.transaction() as session:
        p = repo.get_project(session, project)
        if project_queries.item_project_id(session, item_id) != p.id:
            raise NotFound(f"no item {item_id} in project {project!r}")
        return is_handed(session, item_id, annotator)


def secret_key(ws: WorkspaceContext) -> bytes:
    """The workspace's server secret (CSRF tokens), created once with mode 0600."""
    path = Path(ws.path) / "server-secret"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)  # atomic: the first writer wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return bytes.fromhex(path.read_text().strip())


def csrf_token(secret: bytes, session_token: str) -> str:
    """The CSRF token that goes with a session: itsdangerous' signature of it with the server
    secret (salted apart from the login form's signatures), so there is nothing to store.

    Compare a given token with :func:`hmac.compare_digest`.
    """
    signer = Signer(secret, salt="labelloop-session-csrf", digest_method=hashlib.sha256)
    return signer.get_signature(session_token).decode()


class LoginLimiter:
    """Login attempts counted in three moving windows (the ``limits`` library, in memory).

    Every attempt takes a slot *before* the password is checked, atomically (``limits`` locks
    each key), so a burst of parallel guesses gets no more than the limit through; a correct
    password gives the slots of its address and name back. The buckets:

    - address + name: ``max_failures`` per ``window`` (the strict one: a guesser is stopped
      without locking the real user out from their own address);
    - name, from any address: ``per_account`` (guessing spread over many addresses);
    - address, for any name: ``per_address`` (one address spraying names; made-up names only
      fill this address's own buckets, never another account's).

    Per process: ``labelloop serve`` runs one.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window: float = 300.0,
        per_account: int | None = None,
        per_address: int | None = None,
    ) -> None:
        seconds = max(1, int(window))
        self._pair = RateLimitItemPerSecond(max_failures, seconds)
        self._account = RateLimitItemPerSecond(per_account or 10 * max_failures, seconds)
        self._address = RateLimitItemPerSecond(per_address or 10 * max_failures, seconds)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def _buckets(self, address: str, name: str) -> list[tuple[Any, tuple[str, ...]]]:
        name = name[:_NAME_MAX]
        return [
            (self._address, ("address", address)),
            (self._account, ("account", name)),
            (self._pair, ("pair", address, name)),
        ]

    def attempt(self, address: str, name: str) -> float:
        """Take a slot for one login attempt: 0 when it may go ahead, else the seconds to wait
        (no slot taken then from the bucket that is full, nor from those after it)."""
        for item, key in self._buckets(address, name):
            if not self._limiter.hit(item, *key):
                reset = self._limiter.get_window_stats(item, *key).reset_time
                return max(1.0, reset - time.time())
        return 0.0

    def succeeded(self, address: str, name: str) -> None:
        """The password was right: give back this address's attempts at this name and the
        name's own (the address's bucket keeps counting: it limits spraying)."""
        for item, key in self._buckets(address, name)[1:]:
            self._limiter.clear(item, *key)


def require_role(principal: Principal, project: str, role: str) -> None:
    """:class:`NotFound` for a non-member (the project's existence is not revealed),
    :class:`PermissionDenied` for a member whose role is below ``role``."""
    if principal.role_in(project) is None:
        raise NotFound(f"no project named {project!r}")
    if not principal.has_role(project, role):
        raise PermissionDenied(f"this needs the {role} role in project {project!r}")
