"""The interface of a predictor: a model of a team's own that suggests labels for items."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labelloop.schema import LabelSchema, Modality

__all__ = [
    "Predictor",
    "PredictorContext",
    "PredictorFactory",
    "PredictorInfo",
    "PredictorItem",
    "PredictorPlugin",
    "TrainablePredictor",
]


@dataclass(frozen=True)
class PredictorItem:
    """One item as a predictor sees it.

    Attributes:
        id: The item's id in the workspace (stable; Label Studio tasks carry it as ``id``).
        data: The item's data as imported (``{"text": ...}``, or a media path and other fields).
        content: What the project's task reads: the text, or the media file's resolved path.
    """

    id: int
    data: Mapping[str, Any]
    content: Any


@dataclass(frozen=True)
class PredictorContext:
    """What a predictor is built for: one project.

    Attributes:
        project: The project's name.
        label_schema: Its labels (``pred_probs`` columns follow ``label_schema.labels``) and
            whether several may apply (``multi_label``).
        url: The ``predictor_url`` setting (a model server's base URL), or ``None`` if unset.
        state_dir: A folder of this project's that the predictor may keep files in (a trainable
            predictor saves what it learnt there, and reads it back when it is built again).
    """

    project: str
    label_schema: LabelSchema
    url: str | None
    state_dir: Path


@runtime_checkable
class Predictor(Protocol):
    """Suggests labels: ``predict(items)`` returns ``pred_probs`` of shape ``(len(items), k)``.

    Columns follow ``context.label_schema.labels``. Single-label rows sum to 1; multi-label
    entries are independent probabilities in ``[0, 1]``. The probabilities need not be
    calibrated: labelloop calibrates them on labels the predictor had not seen (docs/plugins.md).
    """

    def predict(self, items: Sequence[PredictorItem]) -> np.ndarray: ...


@runtime_checkable
class TrainablePredictor(Predictor, Protocol):
    """A predictor that also learns: ``fit`` gets every current human label of the project.

    ``labels[i]`` is the answer to ``items[i]``: a list of label names (one for single-label
    projects). A trainable predictor keeps what it learnt itself (in memory, in
    ``context.state_dir``, or on its server). ``fit`` may return ``False`` to say it learnt
    nothing (a model server that cannot train); anything else counts as learnt.
    """

    def fit(
        self, items: Sequence[PredictorItem], labels: Sequence[Sequence[str]]
    ) -> bool | None: ...


PredictorFactory = Callable[[PredictorContext], Predictor]
"""Builds a predictor for one project; called once per project, URL and process."""


@dataclass(frozen=True)
class PredictorInfo:
    """What a predictor is, before anything is built.

    Attributes:
        name: Registry key: the value of a project's ``predictor`` setting.
        description: One line for humans.
        needs_url: Whether projects must set ``predictor_url`` (a model server's address).
        modalities: The item modalities it reads (a text predictor is refused for an image
            project).
        packages: pip requirements it needs beyond labelloop's own.

    Example:
        >>> PredictorInfo("keywords", "label words in the text").needs_url
        False
    """

    name: str
    description: str = ""
    needs_url: bool = False
    modalities: tuple[Modality, ...] = (Modality.TEXT,)
    packages: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class PredictorPlugin:
    """What an entry point in the ``labelloop.predictors`` group names.

    Attributes:
        info: The predictor's name (must equal the entry point's name) and needs.
        build: ``build(context) -> Predictor``; import heavy packages inside it.
    """

    info: PredictorInfo
    build: PredictorFactory
