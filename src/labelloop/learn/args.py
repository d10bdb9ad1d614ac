"""Training arguments: one frozen, checked dataclass stored in a project's settings."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from labelloop.errors import InvalidInput

__all__ = ["DEFAULT_C_GRID", "TrainingArgs"]

DEFAULT_C_GRID: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
"""Inverse regularisation strengths tried by cross-validation when ``C`` is ``None``."""

_CHOICES: dict[str, tuple[str, ...]] = {
    "head": ("logreg", "mlp"),
    "calibration": ("temperature", "isotonic", "none"),
    "augment": ("none", "mixup", "eda"),
    "threshold_strategy": ("f1", "fixed"),
}


@dataclass(frozen=True)
class TrainingArgs:
    """How a head is trained on embeddings (and, optionally, how the backbone is fine-tuned).

    Every field is checked on construction; a bad value raises
    :class:`InvalidInput` naming the field.

    Attributes:
        head: ``"logreg"`` (multinomial logistic regression, default) or ``"mlp"``.
        C: inverse L2 strength of the logistic head (sklearn convention); ``None`` picks the best of
            ``C_grid`` by cross-validated accuracy on the labelled data.
        C_grid: candidates for ``C`` when it is ``None``.
        max_iter: L-BFGS iterations of the logistic head (epochs for the MLP).
        tol: gradient tolerance of L-BFGS.
        hidden: width of the MLP's hidden layer.
        calibration: ``"temperature"`` (default), ``"isotonic"`` or ``"none"``.
        cv_folds: folds for out-of-fold predictions (fewer are used when classes have few labels).
        augment: ``"none"``, ``"mixup"`` (embedding space, soft labels) or ``"eda"`` (token edits;
            the caller re-encodes the augmented texts, see :func:`labelloop.learn.eda_augment`).
        augment_factor: augmented rows per labelled row.
        mixup_alpha: Beta(alpha, alpha) parameter of mixup.
        seed: seed of every random choice (folds, MLP init, augmentation).
        threshold_strategy: multi-label decision thresholds: ``"f1"`` (per label, maximising
            out-of-fold F1) or ``"fixed"`` (``threshold``).
        threshold: the fixed multi-label threshold.
        finetune: fine-tune the backbone with SetFit once ``finetune_min_labels`` labels exist.
        finetune_min_labels: labels needed before fine-tuning is worth it.
        finetune_epochs: contrastive epochs.
        finetune_iterations: SetFit ``num_iterations`` (pairs generated per labelled text, x2).
        finetune_max_pairs: cap on contrastive pairs (keeps CPU runs short); 0 means no cap.
        finetune_batch_size: contrastive batch size.
        finetune_learning_rate: body learning rate.
        semi_supervised: learn from the unlabelled items too (single-label only): smooth every
            embedding towards its nearest neighbours among the project's items, then self-train
            on confident pseudo-labels (:mod:`labelloop.learn.semi`).
        smoothing_neighbours: neighbours averaged by the smoothing (0: no smoothing).
        smoothing_weight: share of the neighbourhood mean in a smoothed embedding.
        self_training_share: share of the unlabelled sample pseudo-labelled in the last
            self-training round (0: no self-training).
        self_training_rounds: self-training refits.
        smoothing_reference: most items (labelled and not, a seeded sample) whose embeddings
            the smoothing averages over; the model keeps them (float16), so a saved model
            smooths new items the same way.
        unlabelled_sample: most unlabelled items pseudo-labelled by self-training (a seeded
            sample).

    Example:
        >>> args = TrainingArgs(C=10.0, calibration="isotonic")
        >>> TrainingArgs.from_dict(args.to_dict()) == args
        True
    """

    head: str = "logreg"
    C: float | None = None
    C_grid: tuple[float, ...] = DEFAULT_C_GRID
    max_iter: int = 300
    tol: float = 1e-4
    hidden: int = 256
    calibration: str = "temperature"
    cv_folds: int = 5
    augment: str = "none"
    augment_factor: int = 1
    mixup_alpha: float = 0.4
    seed: int = 0
    threshold_strategy: str = "f1"
    threshold: float = 0.5
    finetune: bool = False
    finetune_min_labels: int = 64
    finetune_epochs: int = 1
    finetune_iterations: int = 5
    finetune_max_pairs: int = 2000
    finetune_batch_size: int = 16
    finetune_learning_rate: float = 2e-5
    semi_supervised: bool = False
    smoothing_neighbours: int = 10
    smoothing_weight: float = 0.5
    self_training_share: float = 1.0
    self_training_rounds: int = 3
    smoothing_reference: int = 10_000
    unlabelled_sample: int = 5000

    def __post_init__(self) -> None:
        for name, allowed in _CHOICES.items():
            value = getattr(self, name)
            if value not in allowed:
                raise InvalidInput(
                    f"must be one of {', '.join(allowed)}, got {value!r}", field=name
                )
        if self.C is not None:
            _positive("C", self.C)
        object.__setattr__(self, "C_grid", tuple(float(c) for c in self.C_grid))
        if not self.C_grid:
            raise InvalidInput("needs at least one value", field="C_grid")
        for c in self.C_grid:
            _positive("C_grid", c)
        for name in ("max_iter", "hidden", "finetune_epochs", "finetune_iterations"):
            _positive_int(name, getattr(self, name))
        for name in ("finetune_batch_size",):
            _positive_int(name, getattr(self, name))
        _positive("tol", self.tol)
        _positive("mixup_alpha", self.mixup_alpha)
        _positive("finetune_learning_rate", self.finetune_learning_rate)
        if (
            not isinstance(self.cv_folds, int)
            or isinstance(self.cv_folds, bool)
            or self.cv_folds < 2
        ):
            raise InvalidInput(f"must be an integer >= 2, got {self.cv_folds!r}", field="cv_folds")
        for name in (
            "augment_factor",
            "finetune_min_labels",
            "finetune_max_pairs",
            "seed",
            "smoothing_neighbours",
            "self_training_rounds",
            "smoothing_reference",
            "unlabelled_sample",
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InvalidInput(f"must be an integer >= 0, got {value!r}", field=name)
        if not (isinstance(self.threshold, int | float) and 0.0 < self.threshold < 1.0):
            raise InvalidInput(f"must lie in (0, 1), got {self.threshold!r}", field="threshold")
        for name in ("finetune", "semi_supervised"):
            if not isinstance(getattr(self, name), bool):
                raise InvalidInput(
                    f"must be true or false, got {getattr(self, name)!r}", field=name
                )
        for name in ("smoothing_weight", "self_training_share"):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not 0.0 <= float(value) <= 1.0:
                raise InvalidInput(f"must lie in [0, 1], got {value!r}", field=name)

    @property
    def self_trains(self) -> bool:
        """Whether training self-trains on unlabelled rows (when it is given some)."""
        return (
            self.semi_supervised and self.self_training_share > 0 and self.self_training_rounds > 0
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainingArgs:
        """Build from a stored dict; unknown keys raise :class:`InvalidInput` naming them."""
        if not isinstance(data, dict):
            raise InvalidInput("training arguments must be a mapping", field="args")
        known = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInput(
                f"unknown training argument(s): {', '.join(unknown)}", field=unknown[0]
            )
        values = dict(data)
        if "C_grid" in values:
            if not isinstance(values["C_grid"], list | tuple):
                raise InvalidInput("must be a list of numbers", field="C_grid")
            values["C_grid"] = tuple(values["C_grid"])
        return cls(**values)

    def replace(self, **changes: Any) -> TrainingArgs:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)


def _positive(name: str, value: object) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise InvalidInput(f"must be a positive number, got {value!r}", field=name)


def _positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidInput(f"must be a positive integer, got {value!r}", field=name)
