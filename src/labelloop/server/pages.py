"""HTML pages: login/logout, project list, annotate, items, review, dashboard, and its SVG plots."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from labelloop.errors import PermissionDenied
from labelloop.server import plots
from labelloop.server.dashboards import DashboardCache
from labelloop.server.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoggedIn,
    ProjectRole,
    client_address,
    expected_csrf,
    principal_of,
)
from labelloop.services import stats, users
from labelloop.services.annotation import comments
from labelloop.services.quality import qa
from labelloop.services.results import MAX_ID
from labelloop.services.users import Principal

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
LOGIN_FORM_SECONDS = 3600

Anyone = Annotated[Principal, Depends(LoggedIn())]
Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]


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


def _login_cookie(request: Request) -> str:
    # over https the __Host- prefix: a browser takes it only from this host's own secure
    # origin, with Path=/ and no Domain (no tossing from a sibling subdomain)
    return f"__Host-{LOGIN_CSRF_COOKIE}" if _secure(request) else LOGIN_CSRF_COOKIE


def _login_signer(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.secret, salt="labelloop-login-csrf")


def _same_origin(request: Request) -> bool:
    """Whether a login POST came from this server's own pages.

    Browsers send ``Origin`` (and ``Sec-Fetch-Site``) with every form POST, and a page cannot
    forge them: a page on another port or subdomain of this host (same-site, so its cookies
    reach this server) is told apart here, though it can plant any cookie it likes.
    """
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a browser (scripts log in with API tokens anyway)
    hosts = {request.headers.get("host", "")}
    if client_address(request) != (request.client.host if request.client else None):
        hosts.add(request.headers.get("x-forwarded-host", ""))  # behind a trusted proxy
    return origin != "null" and urlsplit(origin).netloc in hosts - {""}


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str = "/") -> Response:
    nonce = secrets.token_urlsafe(24)
    no_users = users.count_users(request.app.state.ws) == 0
    response = _render(
        request,
        "login.html",
        login_csrf=_login_signer(request).dumps(nonce),
        next=_safe_next(next),
        no_users=no_users,
    )
    response.set_cookie(
        _login_cookie(request),
        nonce,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=LOGIN_FORM_SECONDS,
        path="/",
    )
    return response


def _login_csrf_ok(request: Request, form_token: str) -> bool:
    """The form's token must be this server's signature of the nonce in this browser's login
    cookie: a cookie an attacker planted matches no token they can make."""
    nonce = request.cookies.get(_login_cookie(request), "")
    try:
        signed = _login_signer(request).loads(form_token, max_age=LOGIN_FORM_SECONDS)
    except BadSignature:
        return False
    return bool(nonce) and isinstance(signed, str) and hmac.compare_digest(signed, nonce)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the password and start a session (cookie: HttpOnly, SameSite=Lax, Secure on https)."""
    address = client_address(request)
    if not _same_origin(request):
        log.warning("login refused: cross-origin form post (address %s)", address)
        raise PermissionDenied("the login form must be sent from this server's own page")
    if not _login_csrf_ok(request, csrf_token):
        raise PermissionDenied("the login form expired: reload the page and try again")
    limiter: users.LoginLimiter = request.app.state.limiter
    wait = limiter.attempt(address, name)
    if wait > 0:
        log.warning("login refused: too many attempts (address %s, user %r)", address, name[:100])
        response = _render(
            request,
            "login.html",
            status_code=429,
            login_csrf=csrf_token,
            next=_safe_next(next),
            error=f"Too many failed logins. Try again in {int(wait) + 1} seconds.",
        )
        response.headers["Retry-After"] = str(int(wait) + 1)
        return response
    user = users.authenticate(request.app.state.ws, name, password)
    if user is None:
        log.warning("login failed (address %s, user %r)", address, name[:100])
        return _render(
            request,
            "login.html",
            status_code=401,
            login_csrf=csrf_token,
            next=_safe_next(next),
            error="Wrong user name or password.",
        )
    limiter.succeeded(address, name)
    log.info("login (address %s, user %r)", address, user.name)
    agent = request.headers.get("user-agent", "")[:60]
    token = users.create_session(request.app.state.ws, user.id, label=f"{address} {agent}")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=users.SESSION_SECONDS,
    )
    response.delete_cookie(_login_cookie(request), path="/", secure=_secure(request))
    return response


@router.post("/logout")
def logout(request: Request, principal: Anyone) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        users.delete_session(request.app.state.ws, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/account", response_class=HTMLResponse)
def account(request: Request, principal: Anyone) -> Response:
    """The caller's browser sessions and API tokens, each with a button that revokes it."""
    tokens = users.list_tokens(request.app.state.ws, principal.name)
    return _render(request, "account.html", tokens=tokens)


@router.post("/account/tokens/{token_id}/revoke")
def revoke(
    request: Request, token_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: Anyone
) -> Response:
    users.revoke_token(request.app.state.ws, token_id, owner=principal.name)
    log.info("user %r revoked token %d", principal.name, token_id)
    target = "/login" if token_id == principal.token_id else "/account"
    return RedirectResponse(target, status_code=303)


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
    """The annotate page; ``?item=<id>`` opens that item first (the items page links here)."""
    keys = comments.hotkeys(request.app.state.ws, project)
    return _render(
        request,
        "annotate.html",
        hotkeys=keys,
        **_project_context(request, project, principal),
    )


@router.get("/projects/{project}/items", response_class=HTMLResponse)
def items(request: Request, project: str, principal: Reviewer) -> Response:
    """Search and filter the project's items; a row opens its item on the annotate page."""
    return _render(request, "items.html", **_project_context(request, project, principal))


@router.get("/projects/{project}/review", response_class=HTMLResponse)
def review(request: Request, project: str, principal: Reviewer) -> Response:
    return _render(request, "review.html", **_project_context(request, project, principal))


@router.get("/projects/{project}/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, project: str, principal: Admin) -> Response:
    """The project's dashboard, for its admins: the numbers and the QA summary are computed once
    per change of the project (:class:`~labelloop.server.dashboards.DashboardCache`)."""
    ws = request.app.state.ws
    cache: DashboardCache = request.app.state.dashboards
    version = stats.dashboard_version(ws, project)
    board = cache.get(project, version, "board", lambda: stats.dashboard(ws, project))
    quality = cache.get(project, version, "qa", lambda: qa.qa_report(ws, project, issues=10))
    return _render(
        request,
        "dashboard.html",
        board=board,
        models=ws.models(project),
        quality=quality,
        training=request.app.state.retrainer.state(project),
        **_project_context(request, project, principal),
    )


@router.get("/projects/{project}/plots/{kind}.svg")
def plot(
    request: Request,
    project: str,
    kind: Literal["learning-curve", "acceptance", "confusion", "throughput"],
    principal: Admin,
) -> Response:
    """A dashboard plot, drawn on the server with matplotlib, once per change of the project."""
    ws = request.app.state.ws
    cache: DashboardCache = request.app.state.dashboards
    version = stats.dashboard_version(ws, project)

    def draw() -> bytes:
        board = cache.get(project, version, "board", lambda: stats.dashboard(ws, project))
        return plots.render(kind, board)

    svg = cache.get(project, version, f"plot:{kind}", draw)
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "no-store"})
