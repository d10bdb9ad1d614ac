"""Request and response bodies of the REST API (the service results are reused where they fit)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from labelloop.services.data.deleting import MAX_DELETE_ITEMS
from labelloop.services.loop import TrainingState
from labelloop.services.projects import ProjectSettings
from labelloop.services.results import MAX_ID, QueueItem, SubmitResult
from labelloop.tasks import AnswerValue

__all__ = [
    "Answer",
    "CreateProject",
    "CreateUser",
    "DeleteItems",
    "ErrorBody",
    "Me",
    "MemberRole",
    "ModelPoll",
    "NewComment",
    "NextBatch",
    "Resolve",
    "SetHotkeys",
    "SpanValue",
    "SubmitAnnotation",
    "SubmitResponse",
    "TokenCreated",
    "TrainRequested",
    "UpdateProject",
    "answer_value",
]

Label = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
#: Most spans one answer may hold (the spans task refuses more).
MAX_SPANS = 1000
MAX_OFFSET = 10**9


class SpanValue(BaseModel):
    """One labelled span of a spans answer: ``data.text[start:end]`` are its words (character
    offsets, end exclusive). The server snaps it to whole tokens and checks it against the item
    (in range, a project label, no overlap unless the project allows it)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, le=MAX_OFFSET, description="offset of the span's first character")
    end: int = Field(ge=0, le=MAX_OFFSET, description="offset just past its last character")
    label: Label


def _answer_kind(value: Any) -> str:
    """Which shape of :data:`Answer` a value is: a list starting with an object is spans."""
    if isinstance(value, list | tuple):
        return "spans" if value and isinstance(value[0], dict | SpanValue) else "labels"
    return "label"


#: An answer: one label, a list of labels (multi-label; ``[]`` for a spans item with no span),
#: or a non-empty list of spans. The project's task type checks it (422 naming what is wrong).
Answer = Annotated[
    Annotated[Label, Tag("label")]
    | Annotated[list[Label], Tag("labels")]
    | Annotated[list[SpanValue], Tag("spans"), Field(min_length=1, max_length=MAX_SPANS)],
    Discriminator(_answer_kind),
]
ANSWER_DOC = (
    "one label; a list of labels for multi-label projects ([] when none applies); for spans "
    "projects a list of "
    "{start, end, label} character spans ([] when the item has none)"
)


def answer_value(value: str | list[str] | list[SpanValue]) -> AnswerValue:
    """An :data:`Answer` as the services take it (spans as plain dicts)."""
    if isinstance(value, str):
        return value
    spans = [span.model_dump() for span in value if isinstance(span, SpanValue)]
    if spans:
        return spans
    return [label for label in value if isinstance(label, str)]


class ErrorPlace(BaseModel):
    """One bad row of an import: where it is and what is wrong there."""

    reason: str
    field: str | None = None
    line: int | None = None


class ErrorDetail(BaseModel):
    type: str
    message: str
    field: str | None = Field(
        default=None, description="bad input: the field (a setting: settings.<name>)"
    )
    line: int | None = Field(default=None, description="bad input in a file: its line or row")
    reason: str | None = Field(default=None, description="bad input: what is wrong, alone")
    errors: list[ErrorPlace] | None = Field(
        default=None, description="an import with several bad rows: each one, first to last"
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class Me(BaseModel):
    name: str
    is_superuser: bool
    roles: dict[str, str]


class UpdateProject(BaseModel):
    """What to change in a project; a setting left out keeps its value."""

    backbone: Annotated[str, StringConstraints(max_length=100)] | None = None
    descriptions: dict[Label, Annotated[str, StringConstraints(max_length=2000)]] | None = None
    settings: ProjectSettings | None = Field(
        default=None, description="the settings to set (the others keep their values)"
    )
    allow_overlap: bool | None = Field(
        default=None, description="spans projects: whether an answer may hold overlapping spans"
    )
    type_map: (
        dict[
            Annotated[str, StringConstraints(max_length=50)],
            Annotated[str, StringConstraints(max_length=200)],
        ]
        | None
    ) = Field(
        default=None,
        max_length=100,
        description="spans projects: pre-trained entity type -> project label ('' drops the type)",
    )


class CreateProject(UpdateProject):
    """A new project; ``settings`` are checked by :class:`ProjectSettings` (types, ranges)."""

    name: Name
    labels: list[Label] = Field(min_length=1, max_length=1000)
    task: Annotated[str, StringConstraints(max_length=50)] = "text-classification"
    multi_label: bool = False


class SubmitAnnotation(BaseModel):
    item_id: int = Field(ge=1, le=MAX_ID)
    value: Answer = Field(description=ANSWER_DOC)
    seconds: float | None = Field(default=None, ge=0, le=86400, description="time spent")
    request_id: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="a client-chosen key: sending it twice stores one annotation"
    )


class SubmitResponse(SubmitResult):
    retrain: str | None = Field(
        default=None, description="queued | running when this submit triggered a retrain"
    )


class Resolve(BaseModel):
    value: Answer = Field(description=ANSWER_DOC)
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


class DeleteItems(BaseModel):
    """Items to delete, all or none (an id that is not the project's deletes nothing)."""

    item_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1, max_length=MAX_DELETE_ITEMS, description="ids of the project's items"
    )


class TokenCreated(BaseModel):
    token: str
    user: str


class NewComment(BaseModel):
    """A comment to leave on an item."""

    body: str = Field(min_length=1, max_length=5000, description="the comment's text")


class SetHotkeys(BaseModel):
    """A project's whole label -> key map (labels left out get no key)."""

    # the key is checked by the service, which names the label whose key is wrong
    hotkeys: dict[Label, str] = Field(
        max_length=1000, description="label -> one key: a digit or a letter other than s and z"
    )
