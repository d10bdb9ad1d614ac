"""The FastAPI app factory: routers, error mapping, size limits, security headers."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from labelloop.errors import InvalidInput, LabelloopError
from labelloop.server.dashboards import DashboardCache
from labelloop.server.deps import AuthCache, ServerSettings
from labelloop.services import users
from labelloop.services.loop import Retrainer
from labelloop.services.workspace import Workspace

__all__ = ["create_app", "error_body", "has_json_nul"]

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
_STATUS_TYPES = {
    400: "InvalidInput",
    401: "Unauthenticated",
    403: "PermissionDenied",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "PayloadTooLarge",
    422: "InvalidInput",
    429: "TooManyRequests",
}
CSP = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self'; "
    "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)


def error_body(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one JSON error shape: ``{"error": {"type": ..., "message": ...}}``."""
    return {"error": {"type": kind, "message": message, **extra}}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _html_error(request: Request, status: int, message: str) -> Response:
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {"status": status, "message": message, "principal": None, "csrf": ""},
        status_code=status,
    )


def _where(exc: LabelloopError) -> dict[str, Any]:
    """Where bad input is (the field, the line of a file) and what is wrong there, for a page
    to show next to the field or the line; the file is left out (an upload's is a temporary
    name on the server)."""
    if not isinstance(exc, InvalidInput):
        return {}
    body = _place(exc)
    if exc.also:  # an import's other bad rows
        body["errors"] = [_place(e) for e in (exc, *exc.also)]
    return body


def _place(exc: InvalidInput) -> dict[str, Any]:
    where = {"field": exc.field, "line": exc.line}
    return {"reason": exc.reason, **{k: v for k, v in where.items() if v is not None}}


async def _labelloop_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LabelloopError)
    if _wants_html(request):
        return _html_error(request, exc.http_status, str(exc))
    body = error_body(type(exc).__name__, str(exc), **_where(exc))
    return JSONResponse(body, status_code=exc.http_status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if _wants_html(request):
        return _html_error(request, exc.status_code, message)
    kind = _STATUS_TYPES.get(exc.status_code, "HTTPError")
    return JSONResponse(error_body(kind, message), status_code=exc.status_code, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    too_long = any(e.get("type") in ("string_too_long", "too_long") for e in errors)
    parts = []
    for e in errors[:5]:
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body")
        parts.append(f"{where}: {e.get('msg')}")
    status = 413 if too_long else 422
    kind = "PayloadTooLarge" if too_long else "InvalidInput"
    # the first error's place, as a page names its field ("settings.retrain_every")
    first = ".".join(str(p) for p in errors[0].get("loc", ())[1:]) if errors else ""
    extra = {"field": first, "reason": errors[0].get("msg")} if first else {}
    body = error_body(kind, "; ".join(parts) or "invalid request", **extra)
    return JSONResponse(body, status_code=status)


_UPLOAD_PATH = re.compile(r"^/api/v1/projects/([^/]+)/(?:import|evaluate)$")


def json_depth_over(body: bytes, limit: int) -> bool:
    """Whether JSON text ``body`` nests arrays/objects deeper than ``limit`` (brackets inside
    strings do not count). Cheap for the usual body: it needs ``limit`` brackets to be over."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


_NUL_MESSAGE = "the {where} holds a NUL character (\\x00), which no text field may contain"
# a \u0000 escape preceded by an even number of backslashes (an odd one escapes the escape)
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def has_json_nul(body: bytes) -> bool:
    """Whether JSON text ``body`` holds a string with a NUL character (``\\u0000``).

    PostgreSQL's text columns cannot store one (SQLite can), so a request that carries one is
    refused up front on every database, whatever field it is in.
    """
    return b"\\u0000" in body and _JSON_NUL.search(body) is not None


async def _too_deep(request: Request, exc: Exception) -> Response:
    # a structure nested past Python's recursion limit, in a body the depth check let through
    message = "the request nests too deeply to read"
    if _wants_html(request):
        return _html_error(request, 422, message)
    return JSONResponse(error_body("InvalidInput", message), status_code=422)


class BodyLimit:
    """Refuse request bodies over a limit with 413, before a route reads them.

    ``Content-Length`` is checked up front; chunked bodies are counted as they arrive and
    answered 413 as soon as they pass the limit (the rest is not read). An upload (import,
    evaluate) is authorized before a byte of its body is read: anonymous callers get 401 and
    callers who are not the project's admins 404/403, so no one can make the server spool a
    file to disk without the right to import it. JSON bodies nested deeper than
    ``max_json_depth`` get 422, and so does a NUL character in the URL (path or query) or in
    a JSON string: no database column stores one on PostgreSQL.
    """

    def __init__(self, app: Any, *, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path or b"%00" in scope.get("query_string", b""):
            await _send_error(send, 422, "InvalidInput", _NUL_MESSAGE.format(where="URL"))
            return
        upload = _UPLOAD_PATH.match(path)
        limit = self.settings.max_upload_bytes if upload else self.settings.max_body_bytes
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > limit
            except ValueError:
                too_big = True
            if too_big:
                await _send_413(send, limit)
                return
        if upload and scope["method"] == "POST":
            refusal = await _authorize_upload(scope, upload.group(1))
            if refusal is not None:
                await _send_error(send, *refusal)
                return
        if headers.get(b"content-type", b"").startswith(b"application/json"):
            body, receive = await _buffered(receive, limit)
            if body is None:
                await _send_413(send, limit)
                return
            if has_json_nul(body):
                await _send_error(send, 422, "InvalidInput", _NUL_MESSAGE.format(where="JSON body"))
                return
            if json_depth_over(body, self.settings.max_json_depth):
                await _send_error(
                    send, 422, "InvalidInput",
                    f"the JSON body nests deeper than {self.settings.max_json_depth} levels",
                )  # fmt: skip
                return
        seen = 0
        started = responded = False

        async def counted_receive() -> Any:
            nonlocal seen, responded
            if responded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    if not started:
                        await _send_413(send, limit)
                    responded = True
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if responded:
                return  # the 413 went out already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except Exception:
            if not responded:
                raise
            # the route saw the body end early (a disconnect) after the 413 was sent


async def _buffered(receive: Any, limit: int) -> tuple[bytes | None, Any]:
    """The whole body (None when over ``limit``) and a ``receive`` that replays it."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, receive
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Any:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _authorize_upload(scope: Any, project: str) -> tuple[int, str, str] | None:
    """``(status, type, message)`` refusing an upload to ``project``, or None when the caller
    may import there (the same rules as the route's ``ProjectRole("admin")``)."""
    from starlette.concurrency import run_in_threadpool

    from labelloop.server.deps import principal_of

    request = Request(scope)
    principal = await run_in_threadpool(principal_of, request)
    if principal is None:
        return 401, "Unauthenticated", "log in, or send an API token as a bearer"
    if principal.role_in(project) is None:
        return 404, "NotFound", f"no project named {project!r}"
    if not principal.has_role(project, "admin"):
        return 403, "PermissionDenied", f"this needs the admin role in project {project!r}"
    return None


_PAGE_HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
)
_API_HEADERS = (*_PAGE_HEADERS, (b"cache-control", b"no-store"))


class SecurityHeaders:
    """Add the security headers (and ``Cache-Control: no-store`` under ``/api/``) to every
    response that does not set them itself.

    A plain ASGI middleware: Starlette's ``@app.middleware("http")`` runs each request through
    extra tasks and memory streams, a noticeable share of a small request's cost.
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _API_HEADERS if scope["path"].startswith("/api/") else _PAGE_HEADERS

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in extra if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _TooLarge(Exception):
    pass


async def _send_413(send: Any, limit: int) -> None:
    await _send_error(
        send, 413, "PayloadTooLarge", f"the request body is over the limit of {limit} bytes"
    )


async def _send_error(send: Any, status: int, kind: str, message: str) -> None:
    import json

    body = json.dumps(error_body(kind, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def create_app(ws: Workspace, settings: ServerSettings | None = None) -> FastAPI:
    """The labelloop web app over workspace ``ws``: REST API under ``/api/v1`` and the web UI.

    The background retrain worker starts and stops with the app's lifespan (when
    ``settings.background_retrain``).
    """
    from labelloop.server import (
        api_annotate,
        api_grid,
        api_models,
        api_projects,
        api_quality,
        pages,
        pages_admin,
        pages_grid,
    )
    from labelloop.server.openapi import add_security

    settings = settings or ServerSettings()
    retrainer = Retrainer(ws)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.background_retrain:
            retrainer.start()
        if settings.freeze_gc:
            # Startup leaves some 240,000 long-lived objects (modules, tables, routes). A full
            # collection, when one comes, walks all of them (110-130 ms measured on a slow core,
            # every request waiting on the GIL meanwhile) yet finds none of them garbage: frozen,
            # they are skipped (a CPython server idiom).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            retrainer.stop()

    app = FastAPI(
        title="labelloop",
        version="1",
        description="Annotate data with a pre-trained model doing the first pass. "
        "Authenticate with `Authorization: Bearer <token>` (create one with "
        "`labelloop token create NAME`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; the machines are offline
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.ws = ws
    app.state.settings = settings
    app.state.retrainer = retrainer
    app.state.auth_cache = AuthCache()
    app.state.dashboards = DashboardCache()
    app.state.secret = users.secret_key(ws)
    app.state.limiter = users.LoginLimiter(
        max_failures=settings.login_max_failures,
        window=settings.login_window_seconds,
        per_account=settings.login_max_per_account,
        per_address=settings.login_max_per_address,
    )
    app.state.templates = Jinja2Templates(
        env=jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True
        )
    )
    app.add_exception_handler(LabelloopError, _labelloop_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RecursionError, _too_deep)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodyLimit, settings=settings)

    @app.get("/api/v1/health", tags=["meta"], include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    # the annotation loop's routes first: routing tries routes in order, and `next` and submit
    # are most of the traffic
    app.include_router(api_annotate.router, prefix="/api/v1")
    app.include_router(api_grid.router, prefix="/api/v1")
    app.include_router(api_projects.router, prefix="/api/v1")
    app.include_router(api_models.router, prefix="/api/v1")
    app.include_router(api_quality.router, prefix="/api/v1")
    app.include_router(pages.router)
    app.include_router(pages_grid.router)
    app.include_router(pages_admin.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    add_security(app)
    return app
