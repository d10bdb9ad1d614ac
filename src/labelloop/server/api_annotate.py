"""REST routes for the annotation loop: queue, submit/correct, skip, undo, items, review; the
item list, an item's history and comments, and the label hotkeys of the annotate page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from labelloop.errors import NotFound, PermissionDenied, PoolExhausted
from labelloop.server.api_projects import ERRORS
from labelloop.server.deps import ProjectRole
from labelloop.server.schemas import (
    NewComment,
    NextBatch,
    Resolve,
    SetHotkeys,
    SubmitAnnotation,
    SubmitResponse,
    answer_value,
)
from labelloop.services import users
from labelloop.services.annotation import browse, comments
from labelloop.services.annotation.browse import ItemHistory, ItemList
from labelloop.services.annotation.comments import CommentView, Hotkeys
from labelloop.services.quality import adjudication, review
from labelloop.services.quality.review import ReviewCandidate, SuggestionRow
from labelloop.services.results import MAX_ID
from labelloop.services.users import Principal

__all__ = ["router"]

router = APIRouter(responses=ERRORS, tags=["annotation"])

Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def _ws(request: Request) -> Any:
    return request.app.state.ws


def _check_item(request: Request, project: str, item_id: int, principal: Principal) -> None:
    """404 for an item of another project; an annotator only reaches items handed to them."""
    ws = _ws(request)
    if principal.has_role(project, "reviewer"):
        if not users.item_in_project(ws, project, item_id):
            raise NotFound(f"no item {item_id} in project {project!r}")
        return
    if not users.may_answer(ws, project, item_id, principal.name):
        raise PermissionDenied("annotators answer only the items their queue hands them")


def _retrain(request: Request, project: str, due: bool) -> str | None:
    if due and request.app.state.settings.background_retrain:
        return request.app.state.retrainer.request(project)
    return None


@router.get("/projects/{project}/next", response_model=NextBatch)
def next_items(
    request: Request,
    project: str,
    principal: Member,
    n: Annotated[int, Query(ge=1, le=100)] = 1,
) -> NextBatch:
    """The caller's next items (leased to them), each with the model's suggestion."""
    try:
        items = _ws(request).next_items(project, n=n, annotator=principal.name)
    except PoolExhausted:
        return NextBatch(items=[], exhausted=True)
    return NextBatch(items=items, exhausted=False)


@router.post("/projects/{project}/annotations", response_model=SubmitResponse, status_code=201)
def submit(
    request: Request, project: str, body: SubmitAnnotation, principal: Member
) -> SubmitResponse:
    """Label an item (or correct your earlier label). ``source`` in the answer says whether the
    label confirmed the suggestion (``model_accepted``) or not (``human``)."""
    # the service checks the item (404) and, for annotators, that it was handed to them (403) in
    # the submit's own transaction, as _check_item would in a transaction of its own
    result = _ws(request).submit(
        project,
        body.item_id,
        answer_value(body.value),
        annotator=principal.name,
        seconds=body.seconds,
        request_id=body.request_id,
        handed_only=not principal.has_role(project, "reviewer"),
    )
    return SubmitResponse(
        **result.model_dump(), retrain=_retrain(request, project, result.retrain_due)
    )


@router.post("/projects/{project}/items/{item_id}/skip", status_code=204)
def skip(request: Request, project: str, item_id: ItemId, principal: Member) -> None:
    """Hand the item back to the queue; you do not get it again for a day."""
    _check_item(request, project, item_id, principal)
    _ws(request).skip(project, item_id, annotator=principal.name)


@router.post("/projects/{project}/items/{item_id}/undo", response_model=SubmitResponse)
def undo(request: Request, project: str, item_id: ItemId, principal: Member) -> SubmitResponse:
    """Retract the item's current label (yours; an admin may retract anyone's)."""
    _check_item(request, project, item_id, principal)
    result = _ws(request).undo(
        project, item_id, annotator=principal.name, admin=principal.has_role(project, "admin")
    )
    return SubmitResponse(**result.model_dump())


@router.get("/projects/{project}/items/{item_id}", response_model=ReviewCandidate)
def get_item(request: Request, project: str, item_id: ItemId, principal: Member) -> ReviewCandidate:
    """An item with its suggestion and every answer it got."""
    _check_item(request, project, item_id, principal)
    detail = review.item_detail(_ws(request), project, item_id)
    if not principal.has_role(project, "reviewer"):
        detail.answers = [a for a in detail.answers if a.annotator == principal.name]
    return detail


@router.get("/projects/{project}/items/{item_id}/media", response_class=FileResponse)
def get_media(request: Request, project: str, item_id: ItemId, principal: Member) -> FileResponse:
    """The item's image or audio file (only from the workspace's media folders)."""
    _check_item(request, project, item_id, principal)
    ws = _ws(request)
    roots = [ws.media_root, *(Path(r) for r in request.app.state.settings.media_roots)]
    path = review.media_file(ws, project, item_id, roots=roots)
    return FileResponse(path, headers={"Content-Disposition": "inline"})


@router.get("/projects/{project}/suggestions", response_model=list[SuggestionRow])
def list_suggestions(
    request: Request,
    project: str,
    principal: Reviewer,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[SuggestionRow]:
    """The model's suggestions in queue order."""
    return review.list_suggestions(_ws(request), project, offset=offset, limit=limit)


@router.get("/projects/{project}/review", response_model=list[ReviewCandidate])
def review_list(
    request: Request,
    project: str,
    principal: Reviewer,
    source: Annotated[list[str] | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ReviewCandidate]:
    """Items to review: annotators disagree, the suggestion was rejected, an audit sample of
    auto-accepted labels, a label issue or a flag (never a gold item); each with all its answers.
    The same list as ``labelloop qa review``."""
    return review.review_candidates(_ws(request), project, sources=source, limit=limit)


@router.post("/projects/{project}/review/{item_id}", response_model=SubmitResponse)
def resolve(
    request: Request, project: str, item_id: ItemId, body: Resolve, principal: Reviewer
) -> SubmitResponse:
    """Settle an item: accept one of its answers or override with another label."""
    _check_item(request, project, item_id, principal)
    result = adjudication.resolve(
        _ws(request),
        project,
        item_id,
        answer_value(body.value),
        reviewer=principal.name,
        seconds=body.seconds,
    )
    return SubmitResponse(
        **result.model_dump(), retrain=_retrain(request, project, result.retrain_due)
    )


@router.get("/projects/{project}/items", response_model=ItemList, tags=["items"])
def list_items(
    request: Request,
    project: str,
    principal: Reviewer,
    q: Annotated[str | None, Query(max_length=500, description="text or id contains")] = None,
    label: Annotated[
        str | None, Query(max_length=200, description="the current answer holds this label")
    ] = None,
    suggested: Annotated[
        str | None, Query(max_length=200, description="the suggestion holds this label")
    ] = None,
    source: Annotated[
        Literal["human", "model_accepted", "auto"] | None,
        Query(description="the current answer's source"),
    ] = None,
    annotator: Annotated[
        str | None, Query(max_length=200, description="answered (at any time) by this user")
    ] = None,
    min_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_confidence: Annotated[float | None, Query(ge=0, le=1)] = None,
    status: Annotated[
        Literal["unlabelled", "labelled", "auto_accepted", "flagged", "gold"] | None, Query()
    ] = None,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=browse.MAX_PAGE)] = 50,
) -> ItemList:
    """The project's items in id order, each with its current label (who gave it, how, when)
    and the model's suggestion with its confidence, filtered by every parameter given; ``total``
    counts the matches over all pages. ``min_confidence``/``max_confidence`` bound the
    suggestion's confidence (items without one are left out). Reviewers and admins."""
    return browse.list_items(
        _ws(request), project, text=q, label=label, suggested=suggested, source=source,
        annotator=annotator, min_confidence=min_confidence, max_confidence=max_confidence,
        status=status, offset=offset, limit=limit,
    )  # fmt: skip


@router.get(
    "/projects/{project}/items/{item_id}/history", response_model=ItemHistory, tags=["items"]
)
def item_history(request: Request, project: str, item_id: ItemId, principal: Member) -> ItemHistory:
    """What happened to the item, oldest first: its import, every answer, flags, the project's
    model versions (with what each predicted for the item) and the suggestion stored now. An
    annotator sees their own answers and flags only, on items handed to them."""
    _check_item(request, project, item_id, principal)
    mine = None if principal.has_role(project, "reviewer") else principal.name
    return browse.item_history(_ws(request), project, item_id, annotator=mine)


@router.get(
    "/projects/{project}/items/{item_id}/comments",
    response_model=list[CommentView],
    tags=["items"],
)
def list_comments(
    request: Request, project: str, item_id: ItemId, principal: Member
) -> list[CommentView]:
    """The item's comments, oldest first (anyone who may open the item)."""
    _check_item(request, project, item_id, principal)
    return comments.list_comments(_ws(request), project, item_id)


@router.post(
    "/projects/{project}/items/{item_id}/comments",
    response_model=CommentView,
    status_code=201,
    tags=["items"],
)
def add_comment(
    request: Request, project: str, item_id: ItemId, body: NewComment, principal: Member
) -> CommentView:
    """Leave a comment on the item (anyone who may open it)."""
    _check_item(request, project, item_id, principal)
    return comments.add_comment(_ws(request), project, item_id, body.body, author=principal.name)


@router.delete(
    "/projects/{project}/items/{item_id}/comments/{comment_id}", status_code=204, tags=["items"]
)
def delete_comment(
    request: Request,
    project: str,
    item_id: ItemId,
    comment_id: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    principal: Member,
) -> None:
    """Delete a comment: your own, or anyone's as a project admin."""
    _check_item(request, project, item_id, principal)
    comments.delete_comment(
        _ws(request), project, item_id, comment_id, by=principal.name,
        admin=principal.has_role(project, "admin"),
    )  # fmt: skip


@router.get("/projects/{project}/hotkeys", response_model=Hotkeys, tags=["items"])
def get_hotkeys(request: Request, project: str, principal: Member) -> Hotkeys:
    """The key that picks each label on the annotate page (defaults: 1-9, 0 for the first ten
    labels)."""
    return comments.hotkeys(_ws(request), project)


@router.put("/projects/{project}/hotkeys", response_model=Hotkeys, tags=["items"])
def set_hotkeys(request: Request, project: str, body: SetHotkeys, principal: Admin) -> Hotkeys:
    """Set the project's whole label -> key map (admins). Keys: a digit or a letter other than
    ``s`` and ``z``; each at most once."""
    return comments.set_hotkeys(_ws(request), project, dict(body.hotkeys))


@router.delete("/projects/{project}/hotkeys", response_model=Hotkeys, tags=["items"])
def reset_hotkeys(request: Request, project: str, principal: Admin) -> Hotkeys:
    """Go back to the default hotkeys (admins)."""
    return comments.reset_hotkeys(_ws(request), project)
