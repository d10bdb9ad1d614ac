"""REST routes of quality: auto-accept, its audit, gold items, flags and label issues.

Roles follow services/users.py: auto-accept and gold changes are the project admin's (they
write labels, or change what annotators are scored on); reviewers read the audit, the gold
set, the flags and the label issues and settle flags; any member may raise a flag on an item
handed to them. Each route is one service call.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from labelloop.errors import Conflict, NotFound, PermissionDenied
from labelloop.server.api_projects import ERRORS
from labelloop.server.deps import ProjectRole
from labelloop.server.schemas import ANSWER_DOC, Answer, Resolve, SubmitResponse, answer_value
from labelloop.services import users
from labelloop.services.quality import adjudication, qa
from labelloop.services.quality.autoaccept import AuditReport, AutoAcceptResult
from labelloop.services.quality.issues import DETECTION_METHODS
from labelloop.services.quality.results import FlagView, GoldItemView, LabelIssues
from labelloop.services.results import MAX_ID
from labelloop.services.users import Principal

__all__ = ["router"]

router = APIRouter(responses=ERRORS, tags=["quality"])

Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
FlagId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
Probability = Annotated[float, Field(gt=0, lt=1)]


def _ws(request: Request) -> Any:
    return request.app.state.ws


def _retrain(request: Request, project: str, due: bool) -> str | None:
    if due and request.app.state.settings.background_retrain:
        return request.app.state.retrainer.request(project)
    return None


# -- auto-accept -------------------------------------------------------------------------------
class AutoAcceptRequest(BaseModel):
    """How sure auto-accept must be (docs/auto-accept.md)."""

    target_precision: Probability = Field(
        default=0.98, description="required precision of the accepted labels"
    )
    confidence: Probability = Field(
        default=0.95, description="probability that the precision guarantee holds"
    )
    dry_run: bool = Field(default=False, description="report what would be accepted; write nothing")
    min_evidence: int = Field(
        default=50, ge=1, le=10**7, description="fewest out-of-fold labels a threshold needs"
    )


@router.post("/projects/{project}/auto-accept", response_model=AutoAcceptResult)
def auto_accept(
    request: Request, project: str, body: AutoAcceptRequest, principal: Admin
) -> AutoAcceptResult:
    """Label every unlabelled item whose suggestion is confident enough to meet the target
    precision (``dry_run``: only say how many). The threshold is the lowest whose precision on
    the champion's out-of-fold human labels has an exact binomial lower bound at or above the
    target (Learn-then-Test); the result carries the threshold, the bound and the evidence.
    Refused with 409 (``AutoAcceptRefused``, the reason in the message) without enough
    evidence, without a trained model, or while the audit has paused auto-accept."""
    return _ws(request).auto_accept(
        project,
        target_precision=body.target_precision,
        confidence=body.confidence,
        dry_run=body.dry_run,
        min_evidence=body.min_evidence,
    )


@router.get("/projects/{project}/audit", response_model=AuditReport)
def audit(
    request: Request,
    project: str,
    principal: Reviewer,
    target_precision: Annotated[float | None, Query(gt=0, lt=1)] = None,
    confidence: Annotated[float, Query(gt=0, lt=1)] = 0.95,
) -> AuditReport:
    """Precision of the auto-accepted labels measured on the audited sample (later human
    answers), with its interval; auto-accept pauses when the upper bound falls below the target
    (default: the last auto-accept's)."""
    return _ws(request).audit(project, target_precision=target_precision, confidence=confidence)


# -- gold --------------------------------------------------------------------------------------
class GoldAnswer(BaseModel):
    value: Answer = Field(description=ANSWER_DOC)


class GoldSet(BaseModel):
    item_id: int
    gold: list[Any] = Field(description="the stored answer: label names, or spans")


@router.get("/projects/{project}/gold", response_model=list[GoldItemView])
def list_gold(
    request: Request,
    project: str,
    principal: Reviewer,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[GoldItemView]:
    """The gold items with their known answers, by item id (annotators never see these)."""
    return _ws(request).gold(project, offset=offset, limit=limit)


@router.put("/projects/{project}/gold/{item_id}", response_model=GoldSet)
def set_gold(
    request: Request, project: str, item_id: ItemId, body: GoldAnswer, principal: Admin
) -> GoldSet:
    """Make an item gold with a known answer (or change its answer): the queue mixes it into
    annotators' batches at ``gold_rate`` and scores their answers against it."""
    stored = _ws(request).set_gold(project, item_id, answer_value(body.value))
    return GoldSet(item_id=item_id, gold=list(stored or ()))


@router.delete("/projects/{project}/gold/{item_id}", status_code=204)
def remove_gold(request: Request, project: str, item_id: ItemId, principal: Admin) -> None:
    """Make a gold item ordinary again (its answers stay in its history)."""
    _ws(request).set_gold(project, item_id, None)


# -- flags -------------------------------------------------------------------------------------
class RaiseFlag(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    reason: str = Field(min_length=1, max_length=qa.MAX_REASON, description="why it is wrong")


@router.get("/projects/{project}/flags", response_model=list[FlagView])
def list_flags(
    request: Request,
    project: str,
    principal: Reviewer,
    status: Literal["open", "confirmed", "dismissed", "all"] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[FlagView]:
    """Flags raised by annotators and by the label-issue detector (``kind``), newest first."""
    return _ws(request).flags(project, status=None if status == "all" else status, limit=limit)


@router.post("/projects/{project}/flags", response_model=FlagView, status_code=201)
def raise_flag(request: Request, project: str, body: RaiseFlag, principal: Member) -> FlagView:
    """Report that an item's suggestion is wrong; the item joins the review queue. An annotator
    flags only items their queue handed them. Flagging an item again while your flag on it is
    open returns that flag."""
    ws = _ws(request)
    if principal.has_role(project, "reviewer"):
        if not users.item_in_project(ws, project, body.item_id):
            raise NotFound(f"no item {body.item_id} in project {project!r}")
    elif not users.may_answer(ws, project, body.item_id, principal.name):
        raise PermissionDenied("annotators flag only the items their queue hands them")
    return ws.flag(project, body.item_id, body.reason, annotator=principal.name)


@router.post("/projects/{project}/flags/{flag_id}/resolve", response_model=SubmitResponse)
def resolve_flag(
    request: Request, project: str, flag_id: FlagId, body: Resolve, principal: Reviewer
) -> SubmitResponse:
    """Settle a flagged item with a label: it becomes the item's training label and closes its
    open flags (``confirmed`` where the label differs from what the flag disputed, else
    ``dismissed``), as resolving the item from the review list does. 409 when the flag is
    closed already."""
    ws = _ws(request)
    flag = qa.get_flag(ws, project, flag_id)
    if flag.status != "open":
        raise Conflict(f"flag {flag_id} is {flag.status} already")
    result = adjudication.resolve(
        ws, project, flag.item_id, answer_value(body.value), reviewer=principal.name,
        seconds=body.seconds,
    )  # fmt: skip
    return SubmitResponse(
        **result.model_dump(), retrain=_retrain(request, project, result.retrain_due)
    )


@router.post("/projects/{project}/flags/{flag_id}/dismiss", response_model=FlagView)
def dismiss_flag(request: Request, project: str, flag_id: FlagId, principal: Reviewer) -> FlagView:
    """Close an open flag without labelling the item (the suggestion or label was right)."""
    return _ws(request).dismiss_flag(project, flag_id, reviewer=principal.name)


# -- label issues ------------------------------------------------------------------------------
@router.get("/projects/{project}/issues", response_model=LabelIssues)
def label_issues(
    request: Request,
    project: str,
    principal: Reviewer,
    method: Annotated[
        str, Query(max_length=40, json_schema_extra={"enum": list(DETECTION_METHODS)})
    ] = "rank_by_count",
    refresh: bool = False,
) -> LabelIssues:
    """Likely label errors among the human labels (cleanlab over the champion's out-of-fold
    probabilities), most suspicious first; computed after each retrain and cached per model
    version (``refresh``: recompute now)."""
    return _ws(request).label_issues(project, method=method, refresh=refresh)
