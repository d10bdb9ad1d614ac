"""REST routes for model versions: list, train (in the background), predict, evaluate, promote,
rollback, poll."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi import Path as PathParam

from labelloop.errors import Conflict, InvalidInput
from labelloop.server.api_projects import ERRORS
from labelloop.server.deps import ProjectRole
from labelloop.server.schemas import ModelPoll, TrainRequested
from labelloop.services import stats
from labelloop.services.results import MAX_ID, EvaluateResult, ModelVersionInfo, PredictResult
from labelloop.services.users import Principal

__all__ = ["router"]

router = APIRouter(responses=ERRORS, tags=["models"])

Member = Annotated[Principal, Depends(ProjectRole("annotator"))]
Admin = Annotated[Principal, Depends(ProjectRole("admin"))]


def _ws(request: Request) -> Any:
    return request.app.state.ws


@router.get("/projects/{project}/models", response_model=list[ModelVersionInfo])
def list_models(request: Request, project: str, principal: Member) -> list[ModelVersionInfo]:
    """Every model version with its cross-validated metrics; one is the champion."""
    return _ws(request).models(project)


@router.get("/projects/{project}/model", response_model=ModelPoll)
def poll_model(request: Request, project: str, principal: Member) -> ModelPoll:
    """The champion's version and the retrain worker's state (cheap; the UI polls it)."""
    return ModelPoll(
        champion=stats.champion_version(_ws(request), project),
        training=request.app.state.retrainer.state(project),
    )


@router.post("/projects/{project}/train", response_model=TrainRequested, status_code=202)
def train(request: Request, project: str, principal: Admin) -> TrainRequested:
    """Queue a retrain (then a re-predict if the new version is promoted); returns at once."""
    _ws(request).project(project)  # 404 before queueing a name that does not exist
    if not request.app.state.settings.background_retrain:
        raise Conflict("background retraining is switched off on this server")
    retrainer = request.app.state.retrainer
    state = retrainer.request(project)
    return TrainRequested(project=project, state=state, training=retrainer.state(project))


@router.post("/projects/{project}/predict", response_model=PredictResult)
def predict(request: Request, project: str, principal: Admin) -> PredictResult:
    """Refresh every unlabelled item's suggestion from the champion and re-rank the queue, now
    (a project without a champion gets a zero-shot or first trained one first). Returns when
    done; items the backbone has not seen are embedded first (``embedded`` counts them)."""
    return _ws(request).predict(project)


@router.post("/projects/{project}/evaluate", response_model=EvaluateResult)
def evaluate(
    request: Request,
    project: str,
    principal: Admin,
    file: Annotated[
        UploadFile,
        File(
            description="a labelled CSV, TSV, JSONL or Parquet file (held out); box projects: "
            "a zip of images with COCO, YOLO or VOC boxes, or a COCO, Label Studio or JSONL "
            "file naming images under the media root"
        ),
    ],
    text_field: Annotated[str, Form(max_length=200)] = "text",
    label_field: Annotated[str, Form(max_length=200)] = "label",
    format: Annotated[str | None, Form(max_length=20)] = None,
) -> EvaluateResult:
    """Score the champion on an uploaded labelled file that is not in the project (nothing is
    stored): accuracy, macro-F1 and per-class precision, recall, F1 and support, as
    ``labelloop evaluate`` prints. Single-label projects; image-boxes projects get mAP@0.5
    (overall and per label), box F1, mean IoU and the share of images exactly right."""
    suffix = "".join(Path(Path(file.filename or "upload").name).suffixes[-2:])[:20]
    if not suffix and format is None:
        raise InvalidInput("give the file an extension or a format", field="format")
    with tempfile.TemporaryDirectory(prefix="labelloop-evaluate-") as tmp:
        target = Path(tmp) / f"eval{suffix}"
        with target.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        return _ws(request).evaluate(
            project, target, text_field=text_field, label_field=label_field, format=format,
            media_roots=request.app.state.settings.media_roots,
        )  # fmt: skip


@router.get("/projects/{project}/evaluate", response_model=EvaluateResult)
def evaluate_on_gold(request: Request, project: str, principal: Admin) -> EvaluateResult:
    """Score the champion on the project's gold items (held out from training, so its
    suggestions there are out-of-sample): the same numbers as the POST form. Single-label
    projects; 409 without a champion, 422 when no gold item holds one of its suggestions."""
    return _ws(request).evaluate_gold(project)


@router.post("/projects/{project}/models/{version}/promote", response_model=ModelVersionInfo)
def promote(
    request: Request,
    project: str,
    version: Annotated[int, PathParam(ge=1, le=MAX_ID)],
    principal: Admin,
) -> ModelVersionInfo:
    """Make ``version`` the champion and refresh the suggestions from it."""
    return _ws(request).promote(project, version)


@router.post("/projects/{project}/models/rollback", response_model=ModelVersionInfo)
def rollback(request: Request, project: str, principal: Admin) -> ModelVersionInfo:
    """Bring back the previous champion and refresh the suggestions from it."""
    return _ws(request).rollback(project)
