"""Choosing a project's span model by cross-validation on its own labelled sentences.

Each candidate is fitted on all folds but one and predicts the held-out fold; the candidate with
the best out-of-fold entity F1 (strict: a span counts only with its exact boundaries and label,
as seqeval's default on IOB2) is refitted on every sentence. Its out-of-fold predictions then
calibrate its sentence confidence and give the promotion rule its paired comparison.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from labelloop.learn.spans.model import (
    Sentence,
    SentenceCalibrator,
    SpanPrediction,
    TokenSpan,
)

__all__ = [
    "Candidate",
    "CandidateScore",
    "SpanModelLike",
    "SpanSelection",
    "cross_validate_spans",
    "select_span_model",
    "span_f1",
]

#: Fewer labelled sentences than this: no cross-validation (each fold would hold one or two).
MIN_SENTENCES_FOR_CV = 6


class SpanModelLike(Protocol):
    """What a span model offers the selection: predictions and a calibrator swap."""

    @property
    def name(self) -> str: ...

    def predict(self, sentences: Sequence[Sentence]) -> list[SpanPrediction]: ...

    def with_calibrator(self, calibrator: SentenceCalibrator) -> Any: ...


@dataclass(frozen=True)
class Candidate:
    """A way to get a span model from labelled sentences (``fit(sentences, gold) -> model``)."""

    name: str
    fit: Callable[[Sequence[Sentence], Sequence[Sequence[TokenSpan]]], SpanModelLike]


@dataclass(frozen=True)
class CandidateScore:
    """A candidate's cross-validated entity F1 (micro over spans) and each fold's."""

    name: str
    f1: float
    fold_f1: list[float]
    precision: float
    recall: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "f1": round(self.f1, 4),
            "fold_f1": [round(f, 4) for f in self.fold_f1],
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
        }


@dataclass
class SpanSelection:
    """The chosen model, fitted on every labelled sentence, and the evidence behind the choice.

    Attributes:
        model: The chosen candidate refitted on all sentences, calibrated on its out-of-fold
            predictions.
        chosen: Its candidate name.
        scores: Every candidate's cross-validated score (empty without cross-validation).
        oof: The chosen candidate's out-of-fold predictions, one per sentence, or ``None``
            without cross-validation.
    """

    model: Any
    chosen: str
    scores: dict[str, CandidateScore] = field(default_factory=dict)
    oof: list[SpanPrediction] | None = None


def span_f1(
    predicted: Sequence[set[TokenSpan]], gold: Sequence[set[TokenSpan]]
) -> tuple[float, float, float]:
    """Micro precision, recall and F1 of predicted span sets against gold ones (exact match).

    Example:
        >>> span_f1([{(0, 2, "PER")}], [{(0, 2, "PER"), (3, 4, "LOC")}])
        (1.0, 0.5, 0.6666666666666666)
    """
    tp = sum(len(p & g) for p, g in zip(predicted, gold, strict=True))
    n_pred = sum(len(p) for p in predicted)
    n_gold = sum(len(g) for g in gold)
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _folds(n: int, k: int, seed: int) -> list[np.ndarray]:
    order = np.random.default_rng(seed).permutation(n)
    return [order[i::k] for i in range(k)]


def cross_validate_spans(
    candidate: Candidate,
    sentences: Sequence[Sentence],
    gold: Sequence[Sequence[TokenSpan]],
    *,
    folds: int = 3,
    seed: int = 0,
) -> tuple[CandidateScore, list[SpanPrediction]]:
    """Out-of-fold predictions of ``candidate`` and their entity F1 (overall and per fold)."""
    oof: list[SpanPrediction | None] = [None] * len(sentences)
    fold_f1 = []
    for held in _folds(len(sentences), folds, seed):
        held_set = set(held.tolist())
        train = [i for i in range(len(sentences)) if i not in held_set]
        model = candidate.fit([sentences[i] for i in train], [gold[i] for i in train])
        predictions = model.predict([sentences[i] for i in held])
        for i, p in zip(held, predictions, strict=True):
            oof[int(i)] = p
        fold_f1.append(
            span_f1([p.span_set() for p in predictions], [set(gold[i]) for i in held])[2]
        )
    done = [p for p in oof if p is not None]
    precision, recall, f1 = span_f1([p.span_set() for p in done], [set(g) for g in gold])
    return CandidateScore(candidate.name, f1, fold_f1, precision, recall), done


def select_span_model(
    candidates: Sequence[Candidate],
    sentences: Sequence[Sentence],
    gold: Sequence[Sequence[TokenSpan]],
    *,
    folds: int = 3,
    seed: int = 0,
) -> SpanSelection:
    """Cross-validate every candidate, refit the best on all sentences and calibrate it.

    With fewer than :data:`MIN_SENTENCES_FOR_CV` sentences (or ``folds < 2``, or a single
    candidate) there is no cross-validation: the last candidate is fitted and left uncalibrated.
    Ties go to the later candidate (candidates are listed from simplest to richest).
    """
    if not candidates:
        raise ValueError("no span model candidates")
    if len(sentences) < MIN_SENTENCES_FOR_CV or folds < 2:
        last = candidates[-1]
        return SpanSelection(model=last.fit(sentences, gold), chosen=last.name)
    k = min(folds, len(sentences))
    scores: dict[str, CandidateScore] = {}
    oofs: dict[str, list[SpanPrediction]] = {}
    for candidate in candidates:
        scores[candidate.name], oofs[candidate.name] = cross_validate_spans(
            candidate, sentences, gold, folds=k, seed=seed
        )
    best = max(reversed(candidates), key=lambda c: scores[c.name].f1)
    oof = oofs[best.name]
    correct = [p.span_set() == set(g) for p, g in zip(oof, gold, strict=True)]
    calibrator = SentenceCalibrator.fit([p.raw_confidence for p in oof], correct)
    model = best.fit(sentences, gold).with_calibrator(calibrator)
    return SpanSelection(model=model, chosen=best.name, scores=scores, oof=oof)
