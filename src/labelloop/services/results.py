"""Typed results that services return and the CLI and server render.

The words their ``source``, ``status`` and ``kind`` fields hold are re-exported here
(:class:`Source`, :class:`ModelStatus`, :class:`ModelKind`), for the edges, which do not import
the store, and so is :data:`MAX_ID`, the largest id the store holds.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from labelloop.store.tables import MAX_ID, iso8601
from labelloop.store.vocabulary import ModelKind, ModelStatus, Source

__all__ = [
    "MAX_ID",
    "DeleteResult",
    "ExportResult",
    "ImportResult",
    "ModelKind",
    "ModelStatus",
    "ProjectInfo",
    "ProjectStatus",
    "SkippedFile",
    "Source",
    "iso8601",
]


class ProjectInfo(BaseModel):
    id: int
    name: str
    task: str
    labels: list[str]
    multi_label: bool
    backbone: str
    settings: dict[str, Any]
    created_at: datetime
    widget: str = Field(description="the web UI widget that answers the task, e.g. 'choices'")
    descriptions: dict[str, str] = Field(
        default_factory=dict, description="label -> the words describing it (labels that have some)"
    )
    allow_overlap: bool = Field(
        default=False, description="spans projects: whether an answer may hold overlapping spans"
    )
    type_map: dict[str, str] | None = Field(
        default=None,
        description="spans projects: the pre-trained entity types in effect and the label each "
        "suggests (the defaults by name and meaning, with the project's own entries)",
    )


class SkippedFile(BaseModel):
    """A media file an import left out (``on_bad_file="skip"``), and why."""

    file: str = Field(description="the media file, as the imported file names it")
    line: int | None = Field(default=None, description="its row, line or file number")
    reason: str


class ImportResult(BaseModel):
    project: str
    file: str
    format: str
    rows: int = Field(description="rows read from the file")
    items_added: int
    duplicates: int = Field(description="rows skipped because the same content is already there")
    annotations_added: int
    suggestions_added: int = 0
    already_imported: bool = Field(
        default=False, description="the same file was imported before: nothing changed"
    )
    skipped: list[SkippedFile] = Field(
        default_factory=list,
        description="bad media files left out (on_bad_file=skip): corrupt, truncated, "
        "unsupported, oversize or missing",
    )


class ProjectStatus(BaseModel):
    project: str
    task: str
    backbone: str
    items: int
    labelled: int
    by_source: dict[str, int]
    label_counts: dict[str, int]
    champion: int | None = Field(default=None, description="version number of the champion model")
    suggestions: int = 0


class ExportResult(BaseModel):
    project: str
    out: str
    format: str
    rows: int
    only: str


class DeleteResult(BaseModel):
    """What a deletion removed: the whole project, or some of its items."""

    project: str
    project_deleted: bool = Field(description="the project itself is gone")
    items: int = Field(description="items deleted")
    rows: dict[str, int] = Field(description="rows deleted per table (items, annotations, ...)")


class SuggestionView(BaseModel):
    value: list[Any] = Field(description="label names, or spans {start, end, label}")
    confidence: float
    model_version: int | None
    pred_probs: dict[str, float] = Field(
        default_factory=dict,
        description="each label's probability; for spans, each span's ('start:end:label')",
    )


class QueueItem(BaseModel):
    item_id: int
    external_id: str | None
    data: dict[str, Any]
    suggestion: SuggestionView | None
    lease_expires_at: datetime | None = None
    blind: bool = Field(
        default=False, description="shown without the suggestion (anchoring-bias check)"
    )
    tokens: list[tuple[int, int]] | None = Field(
        default=None,
        description="spans projects: each token's (start, end) character offsets in data.text; "
        "answers are snapped to them",
    )


class SubmitResult(BaseModel):
    annotation_id: int
    item_id: int
    value: list[Any] | None
    source: str
    model_version: int | None
    duplicate: bool = Field(default=False, description="the same request was stored before")
    changes_since_training: int = Field(
        default=0,
        description="human answers since the newest model was trained, counted up to the "
        "project's retrain_every",
    )
    retrain_due: bool = False


class TrainResult(BaseModel):
    model_version: int
    kind: str
    promoted: bool
    reason: str
    metrics: dict[str, float | None]
    n_labels: int
    train_seconds: float


class PredictResult(BaseModel):
    model_version: int
    kind: str
    items: int = Field(description="unlabelled items whose suggestion was refreshed")
    embedded: int = Field(description="items the backbone had to encode (not in the cache)")
    strategy: str


class ModelVersionInfo(BaseModel):
    version: int
    status: str
    kind: str
    backbone: str
    head: str
    params: dict[str, Any] = Field(default_factory=dict)  # training arguments and chosen C
    n_labels: int
    metrics: dict[str, Any]
    ece: float | None
    train_seconds: float | None
    reason: str | None
    created_at: datetime


class EvaluateResult(BaseModel):
    """The champion scored on held-out labelled data.

    Classification sets ``accuracy``, ``macro_f1`` and ``per_class`` (precision, recall, F1,
    support); image-boxes projects set ``map50`` (mAP@0.5 of the candidate boxes), ``box_f1``
    and ``mean_iou`` (of the suggested boxes, at IoU 0.5), ``images_exact`` (the share of images
    whose suggestion is exactly right) and ``per_class`` (box precision, recall, F1, gold-box
    support and ``ap50``). Fields that do not apply are None and left out of the JSON.
    """

    accuracy: float | None = None
    macro_f1: float | None = None
    n: int
    model_version: int
    per_class: dict[str, dict[str, float]] = Field(default_factory=dict)
    map50: float | None = None
    box_f1: float | None = None
    mean_iou: float | None = None
    images_exact: float | None = None

    # no return annotation: with one, pydantic would publish that type (a bare object) as the
    # serialization schema (the REST spec) instead of these fields
    @model_serializer(mode="wrap")
    def _without_none(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        # a classification result keeps the shape it always had; a box result has no accuracy
        return {k: v for k, v in handler(self).items() if v is not None}


class BackboneScore(BaseModel):
    backbone: str
    accuracy: float | None
    macro_f1: float | None
    texts_per_second: float
    dim: int
    error: str | None = None


class BackboneRanking(BaseModel):
    project: str
    n_labels: int
    recommended: str | None
    reason: str
    backbones: list[BackboneScore]
