"""HTML pages of project administration: the new-project form, a project's settings page
(settings, import, members, export, deleting items or the project) and API tokens.

The pages are forms over the REST API (static/admin.js sends them); what they show about the
settings, the task types and the backbones comes from the services, so the page and the server's
checks never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal, get_args, get_origin

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from labelloop.server.deps import LoggedIn, ProjectRole, expected_csrf, principal_of
from labelloop.services import catalog, users
from labelloop.services.data.formats import (
    IMPORT_FORMATS,
    export_formats_for,
)
from labelloop.services.projects import (
    DEFAULT_SETTINGS,
    ProjectSettings,
    setting_range,
    task_choices,
)
from labelloop.services.users import Principal
from labelloop.tasks import get_task

__all__ = ["SettingField", "router", "setting_fields"]

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

Anyone = Annotated[Principal, Depends(LoggedIn())]
Superuser = Annotated[Principal, Depends(LoggedIn(superuser=True))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]

# the settings' order and sections on the page
_SECTIONS: dict[str, tuple[str, ...]] = {
    "Training": ("retrain_every", "head", "augment", "augment_copies",
                 "semi_supervised", "finetune",
                 "finetune_min_labels", "finetune_max_pairs"),
    "Queue": ("strategy", "seed", "lease_seconds", "overlap", "overlap_rate", "blind_rate"),
    "Quality": ("gold_rate", "audit_rate", "auto_accept_target", "auto_accept_paused"),
}  # fmt: skip


@dataclass(frozen=True)
class SettingField:
    """One project setting as a form shows it: its input, what it means and what it accepts."""

    name: str
    section: str
    description: str
    accepts: str  # in words: "a whole number from 1 to 1000000"
    kind: Literal["choice", "bool", "int", "float", "text"]
    choices: tuple[str, ...]
    minimum: float | None
    maximum: float | None
    default: Any
    value: Any


def setting_fields(values: dict[str, Any] | None = None) -> list[SettingField]:
    """Every :class:`ProjectSettings` field, by section, with ``values`` (default: the
    defaults) as the inputs' values."""
    values = {**DEFAULT_SETTINGS, **(values or {})}
    placed = {name: section for section, names in _SECTIONS.items() for name in names}
    fields = []
    for name, info in ProjectSettings.model_fields.items():
        annotation = info.annotation
        bounds = {
            k: v
            for m in info.metadata
            for k in ("ge", "le")
            if (v := getattr(m, k, None)) is not None
        }
        kind: Literal["choice", "bool", "int", "float", "text"]
        choices: tuple[str, ...] = ()
        if get_origin(annotation) is Literal:
            kind, choices = "choice", tuple(map(str, get_args(annotation)))
        elif annotation is bool:
            kind = "bool"
        elif annotation is int or annotation is float:
            kind = "int" if annotation is int else "float"
        else:
            kind = "text"
        fields.append(
            SettingField(
                name=name, section=placed.get(name, "Other"), description=info.description or "",
                accepts=setting_range(name), kind=kind, choices=choices,
                minimum=bounds.get("ge"), maximum=bounds.get("le"),
                default=DEFAULT_SETTINGS[name], value=values[name],
            )
        )  # fmt: skip
    order = [*_SECTIONS, "Other"]
    return sorted(fields, key=lambda f: order.index(f.section))


def _render(request: Request, template: str, **context: Any) -> Response:
    response: Response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {"principal": principal_of(request), "csrf": expected_csrf(request) or "", **context},
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/projects/new", response_class=HTMLResponse)
def new_project(request: Request, principal: Superuser) -> Response:
    """The new-project form (superusers create projects): task, labels and their
    descriptions, backbone, settings."""
    return _render(
        request,
        "new_project.html",
        tasks=task_choices(),
        backbones=catalog.backbone_catalog(),
        fields=setting_fields(),
    )


@router.get("/projects/{project}/settings", response_class=HTMLResponse)
def project_settings(request: Request, project: str, principal: Admin) -> Response:
    """A project's settings page, for its admins."""
    ws = request.app.state.ws
    info = ws.project(project)
    formats = export_formats_for(get_task(info.task))
    return _render(
        request,
        "settings.html",
        project=info,
        role=principal.role_in(project),
        active="settings",
        status=ws.status(project),
        backbones=[b for b in catalog.backbone_catalog() if b["modality"] == _modality(info.task)],
        fields=setting_fields(info.settings),
        # an upload is one file: the folder formats (a media folder, a saved dataset) are not
        import_formats=[f for f in IMPORT_FORMATS if f not in ("folder", "hf")],
        export_formats=formats,
        roles=list(reversed(users.ROLES)),
        is_superuser=principal.is_superuser,
    )


def _modality(task: str) -> str:
    return next((t.modality for t in task_choices() if t.name == task), "text")


@router.post("/account/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    principal: Anyone,
    label: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new API token for the caller, shown once on the page it answers with."""
    ws = request.app.state.ws
    token = users.create_token(ws, principal.name, label=label.strip() or None)
    log.info("user %r created an API token", principal.name)
    return _render(
        request, "account.html", tokens=users.list_tokens(ws, principal.name), created=token
    )
