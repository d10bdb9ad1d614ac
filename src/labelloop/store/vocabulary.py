"""The words the store persists: annotation sources, model statuses and model kinds.

Each is a :class:`~enum.StrEnum`, so a member *is* its string: it goes to the database, to JSON and
to the CLI's output byte for byte as the literal it replaces, and compares equal to it.

Example:
    >>> from labelloop.store import ModelStatus, Source
    >>> Source.MODEL_ACCEPTED == "model_accepted"
    True
    >>> f"{ModelStatus.CHAMPION}"
    'champion'
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["HUMAN_SOURCES", "ModelKind", "ModelStatus", "Source"]


class Source(StrEnum):
    """Who gave a label (``annotations.source``)."""

    HUMAN = "human"
    """An annotator typed (or picked) the label."""
    MODEL_ACCEPTED = "model_accepted"
    """An annotator confirmed the model's suggestion."""
    AUTO = "auto"
    """The model's suggestion was accepted without a person (auto-accept)."""


HUMAN_SOURCES: tuple[Source, ...] = (Source.HUMAN, Source.MODEL_ACCEPTED)
"""The sources a person stands behind: what training, agreement and the audit count as labels."""


class ModelStatus(StrEnum):
    """Where a model version stands (``model_versions.status``)."""

    CHAMPION = "champion"
    """The one version that serves suggestions."""
    CHALLENGER = "challenger"
    """Trained, but not (or no longer) promoted."""
    RETIRED = "retired"
    """A former champion, or a version that never serves (imported predictions)."""


class ModelKind(StrEnum):
    """What a model version is (``model_versions.kind``)."""

    ZERO_SHOT = "zero-shot"
    """Label-name prompts scored by the backbone; no training."""
    HEAD = "head"
    """A classifier head trained on frozen backbone embeddings."""
    FINETUNED = "finetuned"
    """The backbone itself fine-tuned with a head."""
    IMPORTED = "imported"
    """Predictions imported from a file; no artifact behind them."""
    PRETRAINED = "pretrained"
    """A pre-trained model used as shipped, its outputs mapped onto the project's labels."""
    PREDICTOR = "predictor"
    """A predictor (a team's own model: a plug-in or a model server), calibrated here."""
