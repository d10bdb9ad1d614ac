"""The OpenAPI spec's security: the two ways to authenticate, and what each operation needs.

Routes authorize with :class:`~labelloop.server.deps.LoggedIn` or
:class:`~labelloop.server.deps.ProjectRole` (plain dependencies, so a request pays nothing for
the docs); this adds what they mean to the spec once, when it is first built: the
``securitySchemes`` (a bearer API token, the browser's session cookie), each operation's
``security`` (either scheme; none for the public ones) and the role it needs as
``x-labelloop-role`` (``annotator``, ``reviewer``, ``admin``, ``superuser`` or ``any``: any
logged-in user).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from labelloop.server.deps import SESSION_COOKIE, LoggedIn, auth_of, iter_routes

__all__ = ["SECURITY_SCHEMES", "add_security"]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token: `labelloop token create NAME` or `POST /api/v1/tokens`, "
        "sent as `Authorization: Bearer <token>`.",
    },
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": SESSION_COOKIE,
        "description": "The browser's session after logging in at `/login`. Requests that "
        "change something must also send the page's CSRF token as `X-CSRF-Token`.",
    },
}
_EITHER: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def _role(auth: Any) -> str:
    if isinstance(auth, LoggedIn):
        return "superuser" if auth.superuser else "any"
    return str(auth.role)


def _annotate(app: FastAPI, schema: dict[str, Any]) -> None:
    schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    paths = schema.get("paths", {})
    for method, path, route in iter_routes(app):
        operation = paths.get(path, {}).get(method.lower())
        if operation is None:  # not in the spec (pages, static files)
            continue
        auth = auth_of(route)
        if auth is None:
            operation["security"] = []
            continue
        operation["security"] = _EITHER
        operation["x-labelloop-role"] = _role(auth)


def add_security(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe how each operation authenticates (see the module)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            _annotate(app, build())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
