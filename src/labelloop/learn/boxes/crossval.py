"""Choosing a :class:`BoxModel`'s settings by k-fold cross-validation on the training images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn.boxes._validation import Box
from labelloop.learn.boxes.metrics import mean_average_precision
from labelloop.learn.boxes.model import BoxModel, BoxSettings

__all__ = ["SettingsChoice", "choose_box_settings"]


@dataclass(frozen=True)
class SettingsChoice:
    """The settings chosen and every candidate's out-of-fold mAP (same order as given)."""

    settings: BoxSettings
    scores: tuple[float, ...]


def choose_box_settings(
    images: Sequence[np.ndarray],
    boxes: Sequence[Sequence[Box]],
    *,
    labels: Sequence[str],
    candidates: Sequence[BoxSettings],
    folds: int = 3,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    keys: Sequence[str] | None = None,
    iou: float = 0.5,
) -> SettingsChoice:
    """The candidate whose models score the best mAP on images they did not train on.

    The images are split into ``folds`` groups (shuffled by ``seed``); each candidate is
    trained on all groups but one and predicts the one left out, and its out-of-fold
    predictions over all images are scored together. Ties go to the earlier candidate.

    Raises:
        InvalidInput: No candidates, or fewer images than ``folds`` (at least 2 folds).
    """
    if not candidates:
        raise InvalidInput("needs at least one candidate", field="candidates")
    if folds < 2 or len(images) < folds:
        raise InvalidInput(
            f"needs 2 <= folds <= number of images, got {folds} folds for {len(images)} images",
            field="folds",
        )
    order = np.random.default_rng(seed).permutation(len(images))
    groups = [sorted(int(i) for i in g) for g in np.array_split(order, folds)]
    scores = []
    for settings in candidates:
        predicted: list[list[Box]] = [[] for _ in images]
        for held in groups:
            train = [i for i in range(len(images)) if i not in set(held)]
            model = BoxModel.fit(
                [images[i] for i in train],
                [boxes[i] for i in train],
                labels=labels,
                seed=seed,
                cache_dir=cache_dir,
                keys=[keys[i] for i in train] if keys is not None else None,
                settings=settings,
            )
            found = model.predict(
                [images[i] for i in held],
                keys=[keys[i] for i in held] if keys is not None else None,
                cache_dir=cache_dir,
            )
            for i, image_boxes in zip(held, found, strict=True):
                predicted[i] = image_boxes
        scores.append(mean_average_precision(boxes, predicted, labels, iou=iou)["map"])
    best = int(np.argmax(scores))
    return SettingsChoice(settings=candidates[best], scores=tuple(scores))
