"""HTML pages of image projects' grid (many thumbnails per screen, keyboard-first bulk accept)
and of the cluster view (label a k-means cluster at once). Their scripts call the REST routes
of server/api_grid.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from labelloop.errors import InvalidInput
from labelloop.server.deps import ProjectRole
from labelloop.server.pages import _project_context, _render
from labelloop.services.annotation import comments
from labelloop.services.users import Principal

__all__ = ["GRID_SCREEN", "router"]

router = APIRouter(include_in_schema=False)
Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
# thumbnails per grid screen: 4 rows of 6 on a laptop screen
GRID_SCREEN = 24


@router.get("/projects/{project}/grid", response_class=HTMLResponse)
def grid(request: Request, project: str, principal: Member) -> Response:
    """The grid of an image-classification project: the caller's next items as thumbnails
    with their suggestions, accepted or corrected a screen at a time."""
    context = _project_context(request, project, principal)
    if context["project"].task != "image-classification":
        raise InvalidInput(
            f"the grid shows image-classification projects; {project!r} is "
            f"{context['project'].task}: use the annotate page",
            field="project",
        )
    keys = comments.hotkeys(request.app.state.ws, project)
    return _render(request, "grid.html", hotkeys=keys, per_screen=GRID_SCREEN, **context)


@router.get("/projects/{project}/clusters", response_class=HTMLResponse)
def clusters(request: Request, project: str, principal: Reviewer) -> Response:
    """The cluster view: the project's items in k-means clusters; one cluster labelled at once."""
    context = _project_context(request, project, principal)
    if context["project"].widget != "choices":
        raise InvalidInput(
            f"the cluster view labels classification projects; {project!r} is "
            f"{context['project'].task}",
            field="project",
        )
    keys = comments.hotkeys(request.app.state.ws, project)
    return _render(request, "clusters.html", hotkeys=keys, **context)
