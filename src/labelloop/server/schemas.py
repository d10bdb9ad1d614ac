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
    "BoxValue",
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
#: Most boxes one answer may hold (the boxes task refuses more).
MAX_BOXES = 1000
MAX_OFFSET = 10**9
#: Box coordinates beyond this (pixels) are no image's.
MAX_PIXEL = 10.0**6


class SpanValue(BaseModel):
    """One labelled span of a spans answer: ``data.text[start:end]`` are its words (character
    offsets, end exclusive). The server snaps it to whole tokens and checks it against the item
    (in range, a project label, no overlap unless the project allows it)."""

    model_config = ConfigDict(extra="forbid")

    start: int = Field(ge=0, le=MAX_OFFSET, description="offset of the span's first character")
    end: int = Field(ge=0, le=MAX_OFFSET, description="offset just past its last character")
    label: Label


class BoxValue(BaseModel):
    """One labelled box of an image-boxes answer, in pixels of the upright image (EXIF
    orientation applied), origin top-left. The server checks it against the image (inside it,
    a box poking out by up to 1 px is clipped; a project label)."""

    model_config = ConfigDict(extra="forbid")

    x: float = Field(ge=-MAX_PIXEL, le=MAX_PIXEL, allow_inf_nan=False, description="left edge")
    y: float = Field(ge=-MAX_PIXEL, le=MAX_PIXEL, allow_inf_nan=False, description="top edge")
    w: float = Field(gt=0, le=MAX_PIXEL, allow_inf_nan=False, description="width")
    h: float = Field(gt=0, le=MAX_PIXEL, allow_inf_nan=False, description="height")
    label: Label
    score: float | None = Field(
        default=None, ge=0, le=1, description="a suggested box's score, kept when given"
    )


def _answer_kind(value: Any) -> str:
    """Which shape of :data:`Answer` a value is: a list starting with an object is spans, or
    boxes when that object has an ``x``."""
    if isinstance(value, list | tuple):
        if not value or not isinstance(value[0], dict | SpanValue | BoxValue):
            return "labels"
        first = value[0]
        boxes = isinstance(first, BoxValue) or (isinstance(first, dict) and "x" in first)
        return "boxes" if boxes else "spans"
    return "label"


#: An answer: one label, a list of labels (multi-label; ``[]`` for a spans item with no span),
#: or a non-empty list of spans. The project's task type checks it (422 naming what is wrong).
Answer = Annotated[
    Annotated[Label, Tag("label")]
    | Annotated[list[Label], Tag("labels")]
    | Annotated[list[SpanValue], Tag("spans"), Field(min_length=1, max_length=MAX_SPANS)]
    | Annotated[list[BoxValue], Tag("boxes"), Field(min_length=1, max_length=MAX_BOXES)],
    Discriminator(_answer_kind),
]
ANSWER_DOC = (
    "one label; a list of labels for multi-label projects ([] when none applies); for spans "
    "projects a list of "
    "{start, end, label} character spans ([] when the item has none); for image-boxes "
    "projects a list of {x, y, w, h, label} boxes in upright image pixels ([] for no objects)"
)


def answer_value(value: str | list[str] | list[SpanValue] | list[BoxValue]) -> AnswerValue:
    """An :data:`Answer` as the services take it (spans and boxes as plain dicts; a box's
    ``score`` only when it has one)."""
    if isinstance(value, str):
        return value
    spans = [span.model_dump() for span in value if isinstance(span, SpanValue)]
    if spans:
        return spans
    boxes = [box.model_dump(exclude_none=True) for box in value if isinstance(box, BoxValue)]
    if boxes:
        return boxes
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
