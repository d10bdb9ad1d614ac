"""Request and response bodies of the REST API (the service results are reused where they fit)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from labelloop.services.loop import TrainingState
from labelloop.services.results import QueueItem, SubmitResult

__all__ = [
    "CreateProject",
    "CreateUser",
    "ErrorBody",
    "Me",
    "MemberRole",
    "ModelPoll",
    "NextBatch",
    "Resolve",
    "SubmitAnnotation",
    "SubmitResponse",
    "TokenCreated",
    "TrainRequested",
    "UpdateProject",
]

Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class Me(BaseModel):
    name: str
    is_superuser: bool
    roles: dict[str, str]


class CreateProject(BaseModel):
    name: Name
    labels: list[Label] = Field(min_length=1, max_length=1000)
    task: Annotated[str, StringConstraints(max_length=50)] = "text-classification"
    multi_label: bool = False
    backbone: Annotated[str, StringConstraints(max_length=100)] | None = None
    descriptions: dict[Label, Annotated[str, StringConstraints(max_length=2000)]] | None = None
    settings: dict[Annotated[str, StringConstraints(max_length=50)], int | str] | None = None


class UpdateProject(BaseModel):
    backbone: Annotated[str, StringConstraints(max_length=100)] | None = None
    descriptions: dict[Label, Annotated[str, StringConstraints(max_length=2000)]] | None = None
    settings: dict[Annotated[str, StringConstraints(max_length=50)], int | str] | None = None


class SubmitAnnotation(BaseModel):
    item_id: int = Field(ge=1, le=2**62)
    value: Label | list[Label] = Field(description="one label, or a list for multi-label projects")
    seconds: float | None = Field(default=None, ge=0, le=86400, description="time spent")
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="a client-chosen key: sending it twice stores one annotation"
    )


class SubmitResponse(SubmitResult):
    retrain: str | None = Field(
        default=None, description="queued | running when this submit triggered a retrain"
    )


class Resolve(BaseModel):
    value: Label | list[Label]
    seconds: float | None = Field(default=None, ge=0, le=86400)


class NextBatch(BaseModel):
    items: list[QueueItem]
    exhausted: bool = Field(description="nothing is left in this annotator's queue")


class TrainRequested(BaseModel):
    project: str
    state: str
    training: TrainingState


class ModelPoll(BaseModel):
    champion: int | None
    training: TrainingState


class MemberRole(BaseModel):
    role: Literal["admin", "reviewer", "annotator"]


class CreateUser(BaseModel):
    name: Name
    password: Annotated[str, StringConstraints(min_length=8, max_length=1000)] | None = None
    superuser: bool = False


class TokenCreated(BaseModel):
    token: str
    user: str
