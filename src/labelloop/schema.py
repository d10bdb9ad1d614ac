"""Task types and label schemas.

A project has one :class:`LabelSchema`: what kind of task it is and which labels exist. Everything
else (import, training, the UI) reads labels through it, so a label id is always an index into
``LabelSchema.labels``.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labelloop.errors import InvalidInput

__all__ = ["LabelSchema", "Modality", "TaskType", "normalize_label"]


class TaskType(StrEnum):
    TEXT_CLASSIFICATION = "text-classification"
    SPANS = "spans"
    IMAGE_CLASSIFICATION = "image-classification"
    AUDIO_CLASSIFICATION = "audio-classification"
    IMAGE_BOXES = "image-boxes"


class Modality(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    AUDIO = "audio"


_MODALITY = {
    TaskType.TEXT_CLASSIFICATION: Modality.TEXT,
    TaskType.SPANS: Modality.TEXT,
    TaskType.IMAGE_CLASSIFICATION: Modality.IMAGE,
    TaskType.AUDIO_CLASSIFICATION: Modality.AUDIO,
    TaskType.IMAGE_BOXES: Modality.IMAGE,
}

MAX_LABELS = 1000
MAX_LABEL_LENGTH = 200


class LabelSchema(BaseModel):
    """The labels of a project.

    ``labels`` are the class names in a fixed order (their index is the label id used in arrays);
    ``descriptions`` optionally describe a label in words or example phrases, which the zero-shot
    start uses before any label exists.

    Example:
        >>> s = LabelSchema(task="text-classification", labels=["World", "Sports"])
        >>> s.index("Sports")
        1
    """

    model_config = ConfigDict(frozen=True)

    task: TaskType
    labels: tuple[str, ...]
    multi_label: bool = False
    descriptions: dict[str, str] = Field(default_factory=dict)
    #: spans only: whether an answer may hold overlapping spans.
    allow_overlap: bool = False
    #: spans: a pre-trained model's entity type -> the project label it suggests (types
    #: missing here use :func:`labelloop.learn.spans.default_type_map`; ``""`` drops a type).
    #: image-boxes: the pre-trained detector's class -> project label (e.g. ``Footwear`` ->
    #: ``shoe``), on top of same-named classes.
    type_map: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels", mode="before")
    @classmethod
    def _clean_labels(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if isinstance(value, list | tuple):
            return tuple(normalize_label(str(v)) for v in value)
        return value

    @field_validator("descriptions", "type_map", mode="before")
    @classmethod
    def _clean_keys(cls, value: object) -> object:
        # descriptions are keyed by label, a type map's values are labels: the same NFC form
        if isinstance(value, dict):
            return {
                normalize_label(str(k)) if k else k: normalize_label(v) if isinstance(v, str) else v
                for k, v in value.items()
            }
        return value

    @model_validator(mode="after")
    def _check(self) -> LabelSchema:
        if len(self.labels) < 2 and not (self.multi_label and len(self.labels) == 1):
            raise ValueError("a label schema needs at least two labels")
        if len(self.labels) > MAX_LABELS:
            raise ValueError(f"at most {MAX_LABELS} labels are supported")
        seen: set[str] = set()
        for label in self.labels:
            if not label:
                raise ValueError("labels must not be empty")
            problem = _invisible(label)
            if problem:
                raise ValueError(f"label {label!r} {problem}")
            if len(label) > MAX_LABEL_LENGTH:
                raise ValueError(f"label {label[:20]!r}... is longer than {MAX_LABEL_LENGTH}")
            if label in seen:
                raise ValueError(f"label {label!r} is given twice")
            seen.add(label)
        unknown = set(self.descriptions) - seen
        if unknown:
            raise ValueError(f"descriptions name unknown labels: {sorted(unknown)}")
        mapped = {label for label in self.type_map.values() if label} - seen
        if mapped:
            raise ValueError(f"type_map maps onto unknown labels: {sorted(mapped)}")
        return self

    @classmethod
    def parse(
        cls,
        task: str,
        labels: str | list[str] | tuple[str, ...],
        *,
        multi_label: bool = False,
        descriptions: dict[str, str] | None = None,
        allow_overlap: bool = False,
        type_map: dict[str, str] | None = None,
    ) -> LabelSchema:
        """Build a schema from user input, raising :class:`InvalidInput` on any problem."""
        try:
            return cls(
                task=task,  # type: ignore[arg-type]
                labels=labels,  # type: ignore[arg-type]
                multi_label=multi_label,
                descriptions=descriptions or {},
                allow_overlap=allow_overlap,
                type_map=type_map or {},
            )
        except ValueError as exc:  # pydantic.ValidationError is a ValueError
            raise InvalidInput(_first_error(exc), field="labels") from None

    @property
    def modality(self) -> Modality:
        return _MODALITY[self.task]

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def index(self, label: str) -> int:
        """The label id of ``label``; :class:`InvalidInput` if the schema has no such label."""
        try:
            return self.labels.index(normalize_label(label))
        except ValueError:
            raise InvalidInput(
                f"unknown label {label!r}; the project's labels are {', '.join(self.labels)}"
            ) from None


# joiners that are part of writing some scripts (Persian, Indic) and emoji sequences: allowed
# between two visible characters, like any other format character is not
_JOINERS = frozenset("\u200c\u200d")


def normalize_label(label: str) -> str:
    """``label`` as a schema stores it: Unicode NFC (so ``"é"`` typed as ``e`` plus a combining
    accent is the same label as the precomposed one), surrounding whitespace removed."""
    return unicodedata.normalize("NFC", label).strip()


def _invisible(label: str) -> str | None:
    """Why ``label`` cannot be a label (it would look like another one, or like nothing), or
    None: a control character, a line or paragraph separator, or an invisible format character
    (zero-width space, a bidirectional override, a byte-order mark)."""
    for position, char in enumerate(label):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp"):
            return f"holds the control character U+{ord(char):04X}"
        if category == "Cf" and (char not in _JOINERS or position in (0, len(label) - 1)):
            return f"holds the invisible character U+{ord(char):04X}"
    return None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"{where}: {msg}" if where else msg
    return str(exc)
