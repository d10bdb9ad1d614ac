"""The one interface every task type implements, and the small value types it speaks in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labelloop.schema import LabelSchema, Modality

__all__ = ["AnswerShape", "AnswerValue", "Decoded", "Task", "TaskTags", "Where"]

#: An answer as the edges hand it in: one label, a list of labels, or a list of spans
#: (``{"start", "end", "label"}``); the project's task checks it.
AnswerValue = str | list[str] | list[dict[str, Any]]


class AnswerShape(StrEnum):
    """What an answer is made of: chosen labels, text spans, boxes or keypoints."""

    CHOICES = "choices"
    SPANS = "spans"
    BOXES = "boxes"
    KEYPOINTS = "keypoints"


@dataclass(frozen=True)
class TaskTags:
    """What a task type is, for code that must branch on it (scikit-learn style tags).

    Attributes:
        modality: What an item is (text, image or audio); says what the encoder reads.
        answer: The shape of an answer.
        token_level: Whether answers point into the item (spans, tokens) rather than label it whole.
        multi_label: Whether the task supports multi-label schemas.

    Example:
        >>> TaskTags(Modality.TEXT, AnswerShape.CHOICES).token_level
        False
    """

    modality: Modality
    answer: AnswerShape
    token_level: bool = False
    multi_label: bool = True


@dataclass(frozen=True)
class Decoded:
    """Model outputs turned into answers.

    Attributes:
        values: One answer per row, each a list of label names in schema order.
        confidence: ``(n,)`` float64 in ``[0, 1]``: how sure the model is of each answer.
    """

    values: list[list[str]]
    confidence: np.ndarray


@dataclass(frozen=True)
class Where:
    """Where an answer came from, so an error can point at it.

    ``file`` and ``line`` are set for answers read from an import file; ``field`` is the column
    or key that holds the answer. They become :class:`labelloop.errors.InvalidInput`'s
    ``file=``, ``line=`` and ``field=``.

    Example:
        >>> Where("pool.csv", 12, field="label")
        Where(file='pool.csv', line=12, field='label')
    """

    file: str | None = None
    line: int | None = None
    field: str = "value"


@runtime_checkable
class Task(Protocol):
    """A task type: what an answer is, how it is checked, learned, decoded, compared and exported.

    Services never branch on the task type; they ask the project's task
    (:func:`labelloop.tasks.task_for`). Arrays follow the project vocabulary: ``pred_probs`` is
    ``(n, k)`` with ``k = schema.n_labels``; a value is a list of label names in schema order.
    Invalid input raises :class:`labelloop.errors.InvalidInput`.

    Attributes:
        name: Registry key, a :class:`labelloop.schema.TaskType` value such as
            ``"text-classification"``.
        tags: What the task is (modality, answer shape...).
        widget: Name of the UI widget that answers it, e.g. ``"choices"``.
    """

    name: str
    tags: TaskTags
    widget: str

    def check_answer(
        self,
        schema: LabelSchema,
        value: Any,
        *,
        where: Where | None = None,
        data: Mapping[str, Any] | None = None,
        media_root: Path | None = None,
    ) -> list[Any]:
        """Validate an answer; return it normalised (label names in schema order, or sorted
        spans). ``data`` is the item's data, for answers that point into the item (spans,
        boxes); ``media_root`` is what a relative media path in it is relative to."""
        ...

    def targets(self, schema: LabelSchema, values: Sequence[Sequence[Any]]) -> np.ndarray:
        """Training targets of checked answers (their shape depends on the schema)."""
        ...

    def values_from_targets(self, schema: LabelSchema, targets: np.ndarray) -> list[list[Any]]:
        """The answers that :meth:`targets` encodes (its inverse)."""
        ...

    def decode(self, schema: LabelSchema, pred_probs: np.ndarray) -> Decoded:
        """Model outputs ``(n, k)`` as answers with a confidence each."""
        ...

    def agree(self, schema: LabelSchema, a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool:
        """Whether two answers agree; a skip (``None``) agrees with nothing."""
        ...

    def encoder_input(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> Any:
        """What the encoder reads for an item with this ``data``."""
        ...

    def content_hash(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> str:
        """The item's identity in a project and its embedding cache key (sha256 hex)."""
        ...

    def uncertainty(self, schema: LabelSchema, pred_probs: np.ndarray) -> np.ndarray:
        """``(n,)`` float64 in ``[0, 1]``: how much labelling each item would teach the model."""
        ...

    def strategy_name(self, schema: LabelSchema, name: str) -> str:
        """The active-learning strategy actually run when the project asks for ``name``."""
        ...

    def label_studio_config(self, schema: LabelSchema, *, data_key: str = "text") -> str:
        """The Label Studio labelling config XML that matches an export."""
        ...

    def label_studio_result(
        self,
        schema: LabelSchema,
        value: Sequence[Any],
        *,
        to_name: str,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """An answer as a Label Studio ``result`` list (``text``: the item's text, for spans)."""
        ...

    def value_from_label_studio(
        self,
        schema: LabelSchema,
        result: Sequence[Mapping[str, Any]],
        *,
        where: Where | None = None,
    ) -> list[Any] | None:
        """The answer in a Label Studio ``result`` list; ``None`` if it holds none."""
        ...

    def hf_feature(self, schema: LabelSchema, datasets: Any) -> Any:
        """The Hugging Face ``datasets`` feature of the label column."""
        ...
