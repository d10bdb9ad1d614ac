"""The promotion rule: when does a newly trained model (challenger) replace the current one?

Rule, in words: compare both models on the *same* held-out labels (items neither model trained
on when it predicted them: for the challenger its out-of-fold predictions, for the champion the
labels added since it was trained). Let ``b`` be the items only the champion gets right and ``c``
those only the challenger gets right. The challenger is promoted unless it is worse by more than
noise: ``(b - c) / sqrt(b + c) > z_threshold`` (default 1.96), i.e. its paired accuracy deficit
exceeds 1.96 standard errors (McNemar's test, one-sided, about 2.5% false rejections). Ties,
improvements and small deficits promote: the challenger has seen more labels, so without evidence
against it, it wins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from labelloop.errors import InvalidInput

if TYPE_CHECKING:
    from labelloop.learn.model import TrainedModel

__all__ = ["PromotionDecision", "compare_models", "promotion_decision"]


@dataclass(frozen=True)
class PromotionDecision:
    """The outcome of :func:`promotion_decision` and the numbers behind it."""

    promote: bool
    reason: str
    n: int
    champion_accuracy: float
    challenger_accuracy: float
    champion_only_correct: int
    challenger_only_correct: int
    z: float


def promotion_decision(
    champion_oof_correct: np.ndarray,
    challenger_oof_correct: np.ndarray,
    *,
    z_threshold: float = 1.96,
    unit: str = "labels",
) -> PromotionDecision:
    """Apply the promotion rule to paired correctness on the same held-out labels.

    Args:
        champion_oof_correct: ``(n,)`` bool, the champion's prediction was right on item ``i``.
        challenger_oof_correct: ``(n,)`` bool, the same for the challenger, same items and order.
        z_threshold: how many standard errors worse the challenger must be to be refused.
        unit: what an item is called in the reason (span models compare ``"sentences"``).

    Example:
        >>> champion = np.ones(100, bool)
        >>> promotion_decision(champion, np.r_[np.zeros(3, bool), np.ones(97, bool)]).promote
        True
        >>> promotion_decision(champion, np.r_[np.zeros(10, bool), np.ones(90, bool)]).promote
        False
    """
    a = np.asarray(champion_oof_correct)
    b_arr = np.asarray(challenger_oof_correct)
    if a.ndim != 1 or a.shape != b_arr.shape:
        raise InvalidInput(
            f"need two (n,) arrays of the same length, got {a.shape} and {b_arr.shape}",
            field="challenger_oof_correct",
        )
    if z_threshold <= 0:
        raise InvalidInput("must be positive", field="z_threshold")
    a, b_arr = a.astype(bool), b_arr.astype(bool)
    n = len(a)
    if n == 0:
        return PromotionDecision(
            True,
            f"no shared held-out {unit}: the newer model wins by default",
            0,
            0.0,
            0.0,
            0,
            0,
            0.0,
        )
    champ_only = int((a & ~b_arr).sum())
    chall_only = int((~a & b_arr).sum())
    acc_a, acc_b = float(a.mean()), float(b_arr.mean())
    disagreements = champ_only + chall_only
    z = 0.0 if disagreements == 0 else (champ_only - chall_only) / math.sqrt(disagreements)
    summary = f"challenger {acc_b:.1%} vs champion {acc_a:.1%} on {n} shared held-out {unit}"
    if z > z_threshold:
        reason = f"refused: {summary}; worse by {z:.2f} standard errors (limit {z_threshold})"
        return PromotionDecision(False, reason, n, acc_a, acc_b, champ_only, chall_only, z)
    if chall_only >= champ_only:
        reason = f"promoted: {summary}; not worse"
    else:
        reason = f"promoted: {summary}; worse by {z:.2f} standard errors, within noise"
    return PromotionDecision(True, reason, n, acc_a, acc_b, champ_only, chall_only, z)


def compare_models(
    champion: TrainedModel,
    challenger: TrainedModel,
    held_out_embeddings: np.ndarray,
    held_out_labels: np.ndarray,
    *,
    challenger_predictions: np.ndarray | None = None,
    z_threshold: float = 1.96,
) -> PromotionDecision:
    """Promotion rule on labelled items the champion never trained on.

    Args:
        champion: the current model.
        challenger: the new model.
        held_out_embeddings: ``(m, d)`` embeddings of labels added since the champion was trained.
        held_out_labels: ``(m,)`` their label ids.
        challenger_predictions: ``(m,)`` the challenger's out-of-fold predictions for those rows
            (``challenger.oof_predictions[rows]``); without it the challenger predicts them itself,
            which flatters it because it trained on them.
        z_threshold: see :func:`promotion_decision`.
    """
    y = np.asarray(held_out_labels)
    champ = champion.predict(held_out_embeddings) == y
    pred = challenger_predictions
    if pred is None:
        pred = challenger.predict(held_out_embeddings)
    return promotion_decision(champ, np.asarray(pred) == y, z_threshold=z_threshold)
