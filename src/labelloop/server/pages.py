"""HTML pages: login/logout, project list, annotate, review, dashboard, and its SVG plots."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from labelloop.errors import PermissionDenied
from labelloop.server import plots
from labelloop.server.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoggedIn,
    ProjectRole,
    expected_csrf,
    principal_of,
)
from labelloop.services import stats, users
from labelloop.services.quality import qa
from labelloop.services.users import Principal

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Anyone = Annotated[Principal, Depends(LoggedIn())]
Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]


def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    principal = principal_of(request)
    response: Response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"principal": principal, "csrf": expected_csrf(request) or "", **context},
        status_code=status_code,
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _secure(request: Request) -> bool:
    setting = request.app.state.settings.secure_cookies
    return request.url.scheme == "https" if setting is None else bool(setting)


def _safe_next(target: str | None) -> str:
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    no_users = users.count_users(request.app.state.ws) == 0
    response = _render(
        request, "login.html", login_csrf=token, next=_safe_next(next), no_users=no_users
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=3600,
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password and start a session (cookie: HttpOnly, SameSite=Lax, Secure on https)."""
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        raise PermissionDenied("the login form expired: reload the page and try again")
    limiter: users.LoginLimiter = request.app.state.limiter
    wait = limiter.retry_after(_client(request), name)
    if wait > 0:
        response = _render(
            request,
            "login.html",
            status_code=429,
            login_csrf=cookie,
            next=_safe_next(next),
            error=f"Too many failed logins. Try again in {int(wait) + 1} seconds.",
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = users.authenticate(request.app.state.ws, name, password)
    if user is None:
        limiter.failed(_client(request), name)
        return _render(
            request,
            "login.html",
            status_code=401,
            login_csrf=cookie,
            next=_safe_next(next),
            error="Wrong user name or password.",
        )
    limiter.succeeded(_client(request), name)
    token = users.create_session(request.app.state.ws, user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=users.SESSION_SECONDS,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, principal: Anyone) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.delete_session(request.app.state.ws, token)
        request.app.state.auth_cache.clear()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, principal: Anyone) -> Response:
    ws = request.app.state.ws
    projects = []
    for p in ws.list_projects():
        role = principal.role_in(p.name)
        if role is not None:
            projects.append({"info": p, "role": role, "status": ws.status(p.name)})
    return _render(request, "projects.html", projects=projects)


def _project_context(request: Request, project: str, principal: Principal) -> dict[str, Any]:
    info = request.app.state.ws.project(project)
    return {"project": info, "role": principal.role_in(project)}


@router.get("/projects/{project}/annotate", response_class=HTMLResponse)
def annotate(request: Request, project: str, principal: Member) -> Response:
    return _render(request, "annotate.html", **_project_context(request, project, principal))


@router.get("/projects/{project}/review", response_class=HTMLResponse)
def review(request: Request, project: str, principal: Reviewer) -> Response:
    return _render(request, "review.html", **_project_context(request, project, principal))


@router.get("/projects/{project}/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, project: str, principal: Member) -> Response:
    board = stats.dashboard(request.app.state.ws, project)
    models = request.app.state.ws.models(project)
    quality = qa.qa_report(request.app.state.ws, project, issues=10)
    return _render(
        request,
        "dashboard.html",
        board=board,
        models=models,
        quality=quality,
        training=request.app.state.retrainer.state(project),
        **_project_context(request, project, principal),
    )


@router.get("/projects/{project}/plots/{kind}.svg")
def plot(
    request: Request,
    project: str,
    kind: Literal["learning-curve", "acceptance", "confusion", "throughput"],
    principal: Member,
) -> Response:
    """A dashboard plot, drawn on the server with matplotlib."""
    board = stats.dashboard(request.app.state.ws, project)
    svg = plots.render(kind, board)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
