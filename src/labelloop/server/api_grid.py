"""REST routes of the image grid and the cluster view: thumbnails, one submit for a whole
screen of answers, and the project's k-means clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StringConstraints

from labelloop.server.api_annotate import _check_item
from labelloop.server.api_projects import ERRORS
from labelloop.server.deps import ProjectRole
from labelloop.server.schemas import ANSWER_DOC, Answer, answer_value
from labelloop.services.annotation import bulk, clusters
from labelloop.services.annotation.bulk import BulkAnswer, BulkResult
from labelloop.services.annotation.clusters import ClusterList, ClusterMembers
from labelloop.services.data import media
from labelloop.services.results import MAX_ID
from labelloop.services.users import Principal

__all__ = ["router"]

router = APIRouter(responses=ERRORS, tags=["annotation"])

Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Reviewer = Annotated[Principal, Depends(ProjectRole("reviewer"))]
ItemId = Annotated[int, PathParam(ge=1, le=MAX_ID)]
# thumbnails never change for a given content hash; private: they need a login
THUMBNAIL_CACHE = "private, max-age=86400"


class BulkItem(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    value: Answer = Field(description=ANSWER_DOC)
    seconds: float | None = Field(default=None, ge=0, le=86400, description="time spent")
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="a client-chosen key: sending it twice stores one annotation"
    )


class BulkSubmit(BaseModel):
    answers: list[BulkItem] = Field(min_length=1, max_length=bulk.MAX_BULK)


class BulkResponse(BulkResult):
    retrain: str | None = Field(
        default=None, description="queued | running when this batch triggered a retrain"
    )


def _ws(request: Request) -> Any:
    return request.app.state.ws


@router.post("/projects/{project}/annotations/bulk", response_model=BulkResponse, status_code=201)
def submit_bulk(
    request: Request, project: str, body: BulkSubmit, principal: Member
) -> BulkResponse:
    """Label many items in one transaction (a grid screen, a cluster). Each answer is stored as
    ``POST /annotations`` would store it (``model_accepted`` when it keeps the suggestion,
    ``human`` when it corrects it); one bad answer refuses the whole batch, naming the item.
    Annotators answer only items their queue handed them."""
    answers = [
        BulkAnswer(
            item_id=a.item_id,
            value=answer_value(a.value),
            seconds=a.seconds,
            request_id=a.request_id,
        )
        for a in body.answers
    ]
    result = bulk.submit_many(
        _ws(request), project, answers, annotator=principal.name,
        handed_only=not principal.has_role(project, "reviewer"),
    )  # fmt: skip
    retrain = None
    if result.retrain_due and request.app.state.settings.background_retrain:
        retrain = request.app.state.retrainer.request(project)
    return BulkResponse(**result.model_dump(), retrain=retrain)


@router.get(
    "/projects/{project}/items/{item_id}/thumbnail",
    response_class=FileResponse,
    responses={304: {"description": "the thumbnail the client holds (If-None-Match) is current"}},
)
def get_thumbnail(
    request: Request,
    project: str,
    item_id: ItemId,
    principal: Member,
    size: Annotated[int, Query(description="longest side: 96, 160, 256 or 512")] = 160,
) -> Response:
    """The item's image shrunk to ``size`` (WebP, upright), made on the first request and
    cached after. ``ETag`` is the image's content hash."""
    _check_item(request, project, item_id, principal)
    ws = _ws(request)
    roots = [ws.media_root, *(Path(r) for r in request.app.state.settings.media_roots)]
    thumb = media.item_thumbnail(ws, project, item_id, size=size, roots=roots)
    etag = f'"{thumb.content_hash}"'
    headers = {"ETag": etag, "Cache-Control": THUMBNAIL_CACHE}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(thumb.path, media_type=thumb.media_type, headers=headers)


@router.get("/projects/{project}/clusters", response_model=ClusterList)
def list_clusters(
    request: Request,
    project: str,
    principal: Reviewer,
    k: Annotated[int | None, Query(ge=1, le=clusters.MAX_CLUSTERS)] = None,
) -> ClusterList:
    """The project's items in ``k`` k-means clusters over their embeddings (default: about 30
    items each), largest first, each with its size, unlabelled count, labels so far and a few
    of its most typical items. Reviewers and admins."""
    return clusters.list_clusters(_ws(request), project, k=k)


@router.get("/projects/{project}/clusters/{cluster}", response_model=ClusterMembers)
def cluster_members(
    request: Request,
    project: str,
    cluster: Annotated[int, PathParam(ge=0, le=clusters.MAX_CLUSTERS)],
    principal: Reviewer,
    k: Annotated[int | None, Query(ge=1, le=clusters.MAX_CLUSTERS)] = None,
    limit: Annotated[int, Query(ge=1, le=bulk.MAX_BULK)] = 200,
) -> ClusterMembers:
    """One cluster's items: unlabelled first, most typical first (the odd ones last), with
    any current label and suggestion. Reviewers and admins."""
    return clusters.cluster_members(_ws(request), project, cluster, k=k, limit=limit)
