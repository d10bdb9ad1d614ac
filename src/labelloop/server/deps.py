"""Authentication and authorization dependencies shared by every router.

Every route that is not on the public allow-list (see :data:`PUBLIC_ROUTES`) depends on exactly
one of :class:`LoggedIn` or :class:`ProjectRole`; the route-table test checks that.

A caller is identified by a bearer token (``Authorization: Bearer ...``, for scripts) or by the
session cookie (browsers). State-changing requests that authenticate by cookie must carry the CSRF
token (header ``X-CSRF-Token`` or form field ``csrf_token``), else 403.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import HTTPException, Request

from labelloop.errors import NotFound, PermissionDenied
from labelloop.services import users
from labelloop.services.users import Principal
from labelloop.services.workspace import Workspace

__all__ = [
    "PUBLIC_ROUTES",
    "SESSION_COOKIE",
    "AuthCache",
    "LoggedIn",
    "ProjectRole",
    "ServerSettings",
    "client_address",
    "principal_of",
]

SESSION_COOKIE = "labelloop_session"
LOGIN_CSRF_COOKIE = "labelloop_login_csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# (method, path) pairs anyone may call; everything else must declare an auth dependency.
PUBLIC_ROUTES = frozenset(
    {
        ("GET", "/login"),
        ("POST", "/login"),
        ("GET", "/api/v1/openapi.json"),
        ("GET", "/api/v1/health"),
        ("GET", "/static"),
    }
)


@dataclass
class ServerSettings:
    """Limits and switches of the web app (all have safe defaults)."""

    max_body_bytes: int = 1 << 20  # JSON bodies and forms
    max_upload_bytes: int = 200 << 20  # file uploads (import)
    max_field_chars: int = 100_000
    max_meta_bytes: int = 64 << 10  # an item's meta, as JSON (served with every `next`)
    max_json_depth: int = 64  # nesting of a JSON request body
    # an uploaded Parquet file's uncompressed size, or a zstd/gzip upload's decompressed size
    max_decompressed_bytes: int = 1 << 30
    login_max_failures: int = 5  # per client address and user name
    login_window_seconds: float = 300.0
    login_max_per_account: int = 50  # per user name, from any address
    login_max_per_address: int = 50  # per client address, for any names
    # addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed; none
    # by default, so the client's address is the connection's peer
    trusted_proxies: list[str] = field(default_factory=list)
    secure_cookies: bool | None = None  # None: Secure when the request came over https
    background_retrain: bool = True
    # move what startup built out of the garbage collector's view (see create_app); `serve` sets
    # it, while tests that build many apps in one process leave it off
    freeze_gc: bool = False
    media_roots: list[str] = field(default_factory=list)


class AuthCache:
    """Credential hash -> the principal it was last read as, so most requests skip loading the
    user and their roles.

    A cached principal is used only while the user's auth version in the database (read on
    every request with the credential itself, one indexed lookup) equals the one it was read
    with: a revoked token or session, a role change or a new password takes effect on the next
    request, in every process.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._entries: dict[str, Principal] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(kind: str, token: str) -> str:
        return hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()

    def get(self, key: str, version: int) -> Principal | None:
        with self._lock:
            hit = self._entries.get(key)
        return hit if hit is not None and hit.auth_version == version else None

    def put(self, key: str, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = principal

    def drop(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Unauthenticated(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=401, detail="log in, or send an API token as a bearer")


def _lookup(request: Request, kind: str, token: str) -> Principal | None:
    ws: Workspace = request.app.state.ws
    cache: AuthCache = request.app.state.auth_cache
    key = AuthCache.key(kind, token)
    version = users.credential_version(ws, kind, token)
    if version is None:
        cache.drop(key)
        return None
    principal = cache.get(key, version)
    if principal is None:
        if kind == "token":
            principal = users.principal_for_token(ws, token)
        else:
            principal = users.principal_for_session(ws, token)
        if principal is not None:
            cache.put(key, principal)
    return principal


def _trusted(address: str, proxies: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(p, strict=False) for p in proxies)


def client_address(request: Request) -> str:
    """The client's address: the connection's peer, or, when the peer is one of
    ``settings.trusted_proxies``, the last address in ``X-Forwarded-For`` that is not a trusted
    proxy (the one the nearest proxy saw)."""
    peer = request.client.host if request.client else "unknown"
    proxies: list[str] = request.app.state.settings.trusted_proxies
    if not proxies or not _trusted(peer, proxies):
        return peer
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop[:100]
    return hops[0][:100] if hops else peer


def principal_of(request: Request) -> Principal | None:
    """The caller, or None when the request carries no valid credentials."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    header = request.headers.get("authorization", "")
    principal = None
    if header[:7].lower() == "bearer ":
        principal = _lookup(request, "token", header[7:].strip())
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            principal = _lookup(request, "session", cookie)
    request.state.principal = principal
    return principal


def expected_csrf(request: Request) -> str | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    return users.csrf_token(request.app.state.secret, cookie)


async def _check_csrf(request: Request, principal: Principal) -> None:
    if principal.via != "session" or request.method in SAFE_METHODS:
        return
    expected = expected_csrf(request) or ""
    given = request.headers.get("x-csrf-token")
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        given = value if isinstance(value, str) else None
    if not given or not hmac.compare_digest(given, expected):
        raise PermissionDenied("missing or wrong CSRF token: reload the page and try again")


class LoggedIn:
    """Any logged-in user (``superuser=True``: superusers only)."""

    def __init__(self, *, superuser: bool = False) -> None:
        self.superuser = superuser
        self.role: str | None = None

    async def __call__(self, request: Request) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise Unauthenticated()
        await _check_csrf(request, principal)
        if self.superuser and not principal.is_superuser:
            raise PermissionDenied("only a superuser may do this")
        return principal


class ProjectRole:
    """A member of the path's ``{project}`` with at least ``role``.

    Non-members get 404 (a project's existence is not revealed), members below ``role`` 403.
    """

    def __init__(self, role: str) -> None:
        if role not in users.ROLES:
            raise ValueError(role)
        self.role = role
        self.superuser = False

    async def __call__(self, request: Request, project: str) -> Principal:
        principal = principal_of(request)
        if principal is None:
            raise Unauthenticated()
        await _check_csrf(request, principal)
        if principal.role_in(project) is None:
            raise NotFound(f"no project named {project!r}")
        if not principal.has_role(project, self.role):
            raise PermissionDenied(f"this needs the {self.role} role in project {project!r}")
        return principal


def auth_of(route: Any) -> LoggedIn | ProjectRole | None:
    """The auth dependency a route declares (for the route-table test and the docs)."""
    dependant = getattr(route, "dependant", None)
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, LoggedIn | ProjectRole):
            return dep.call
        stack.extend(dep.dependencies)
    return None


def iter_routes(app: Any) -> list[tuple[str, str, Any]]:
    """``(method, full path, route)`` for every route of ``app`` (HEAD left out).

    Works with FastAPI versions that copy included routes into ``app.routes`` and with those that
    keep included routers lazily (``_IncludedRouter``).
    """
    found: list[tuple[str, str, Any]] = []

    def add(path: str, route: Any) -> None:
        methods = getattr(route, "methods", None) or {"GET"}
        found.extend((m, path, route) for m in sorted(methods) if m != "HEAD")

    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                add(context.path, context.original_route)
        else:
            add(route.path, route)
    return found
