"""Annotators' own answers, and what they say about quality: agreement, gold, anchoring.

Annotations are append-only with one ``is_current`` row per item, so an item answered by several
annotators keeps every answer in its history. Each annotator's answer on an item is their own
latest row there (a retraction withdraws it); adjudications (``reviewed``) and auto-accepted
labels are not answers.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from labelloop.quality import agreement_report, cohen_kappa, gold_accuracy, wilson_interval
from labelloop.services.quality.results import (
    AgreementSummary,
    BlindVsSuggested,
    GoldAnnotatorScore,
    GoldSummary,
    GroupStats,
    PairKappa,
)
from labelloop.store.queries import quality as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.schema import LabelSchema

__all__ = ["Answer", "agreement_summary", "answers", "blind_vs_suggested", "gold_summary"]


@dataclass(frozen=True)
class Answer:
    item_id: int
    annotator: str
    value: tuple[str, ...]
    blind: bool

    @property
    def key(self) -> str:
        """The answer as one class name (multi-label sets joined with '|')."""
        return "|".join(self.value)


def answers(session: Session, project_id: int) -> list[Answer]:
    """Each annotator's latest own answer on each item, in item order."""
    rows = queries.answer_rows(session, project_id)
    latest: dict[tuple[int, str], tuple[list[str] | None, bool]] = {}
    for item_id, annotator, value, blind in rows:
        latest[(item_id, annotator)] = (value, bool(blind))
    return [
        Answer(item_id, annotator, tuple(value), blind)
        for (item_id, annotator), (value, blind) in sorted(latest.items())
        if value is not None  # a withdrawn answer; an empty spans answer ("no entity") counts
    ]


def _by_item(rows: list[Answer]) -> dict[int, list[Answer]]:
    grouped: dict[int, list[Answer]] = defaultdict(list)
    for a in rows:
        grouped[a.item_id].append(a)
    return grouped


def agreement_summary(rows: list[Answer], labels: list[str]) -> AgreementSummary:
    """Cohen (per pair), Fleiss and Krippendorff agreement over items with two or more answers."""
    grouped = {i: r for i, r in _by_item(rows).items() if len(r) >= 2}
    annotators = sorted({a.annotator for r in grouped.values() for a in r})
    if not grouped:
        return AgreementSummary(
            n_items=0,
            n_annotators=len(annotators),
            notes=["no item has answers from two annotators yet: raise `overlap` above 1"],
        )
    report = agreement_report(
        [(a.item_id, a.annotator, a.key) for r in grouped.values() for a in r]
    )
    per_class: dict[str, float | None] = {label: None for label in labels if "|" not in label}
    for cls, value in report.per_class.items():
        per_class[str(cls)] = None if value != value else round(float(value), 4)  # NaN -> None
    pairs = []
    for a, b in itertools.combinations(annotators, 2):
        shared = [
            (x.key, y.key)
            for r in grouped.values()
            for x in r
            if x.annotator == a
            for y in r
            if y.annotator == b
        ]
        if not shared:
            continue
        ka, kb = zip(*shared, strict=True)
        pairs.append(
            PairKappa(
                annotator_a=a,
                annotator_b=b,
                n_items=len(shared),
                kappa=round(cohen_kappa(list(ka), list(kb)), 4) if len(shared) >= 2 else None,
                percent_agreement=round(sum(x == y for x, y in shared) / len(shared), 4),
            )
        )
    return AgreementSummary(
        n_items=report.n_items,
        n_annotators=report.n_annotators,
        percent_agreement=round(report.percent_agreement, 4),
        cohen_kappa_mean=_round(report.cohen_kappa_mean),
        fleiss_kappa=_round(report.fleiss_kappa),
        krippendorff_alpha=_round(report.krippendorff_alpha),
        per_class=per_class,
        pairs=pairs,
        n_disagreements=sum(len({a.value for a in r}) > 1 for r in grouped.values()),
        notes=list(report.notes),
    )


def _round(x: float | None) -> float | None:
    return None if x is None or x != x else round(float(x), 4)


def gold_summary(
    session: Session, project_id: int, rows: list[Answer], gold_rate: float, schema: LabelSchema
) -> GoldSummary:
    """Per-annotator accuracy on gold items (Wilson 95% intervals) and the model's."""
    gold = queries.gold_items(session, project_id)
    on_gold = [a for a in rows if a.item_id in gold]
    answers_on_gold: dict[Hashable, Hashable] = dict(gold.items())
    scores = gold_accuracy([(a.annotator, a.item_id, a.value) for a in on_gold], answers_on_gold)
    agree = _agreeing(schema)
    n = len(on_gold)
    k = sum(agree(a.value, gold[a.item_id]) for a in on_gold)
    lo, hi = wilson_interval(k, n) if n else (None, None)
    model_rows = queries.suggestion_values(session, project_id, list(gold))
    model_ok = sum(agree(v, gold[i]) for i, v in model_rows)
    return GoldSummary(
        n_gold_items=len(gold),
        gold_rate=gold_rate,
        n_answers=n,
        accuracy=round(k / n, 4) if n else None,
        lower=_round(lo),
        upper=_round(hi),
        annotators=[
            GoldAnnotatorScore(
                annotator=str(s.annotator),
                n=s.n,
                n_correct=s.n_correct,
                accuracy=round(s.accuracy, 4),
                lower=round(s.lower, 4),
                upper=round(s.upper, 4),
            )
            for s in sorted(scores.values(), key=lambda s: (s.accuracy, str(s.annotator)))
        ],
        model_accuracy=round(model_ok / len(model_rows), 4) if model_rows else None,
        model_n=len(model_rows),
    )


def _agreeing(schema: LabelSchema) -> Callable[[Any, Any], bool]:
    """Whether two answers agree, by the project's task."""
    task = task_for(schema)
    return lambda a, b: task.agree(schema, a, b)


def _group(
    rows: list[Answer],
    gold: dict[int, tuple[str, ...]],
    grouped: dict[int, list[Answer]],
    agree: Callable[[Any, Any], bool],
) -> GroupStats:
    on_gold = [a for a in rows if a.item_id in gold]
    k = sum(agree(a.value, gold[a.item_id]) for a in on_gold)
    lo, hi = wilson_interval(k, len(on_gold)) if on_gold else (None, None)
    pairs = [
        agree(a.value, b.value)
        for a in rows
        for b in grouped.get(a.item_id, ())
        if b.annotator != a.annotator
    ]
    return GroupStats(
        n_answers=len(rows),
        gold_n=len(on_gold),
        gold_accuracy=round(k / len(on_gold), 4) if on_gold else None,
        gold_lower=_round(lo),
        gold_upper=_round(hi),
        pair_n=len(pairs),
        pair_agreement=round(sum(pairs) / len(pairs), 4) if pairs else None,
    )


def blind_vs_suggested(
    session: Session, project_id: int, rows: list[Answer], blind_rate: float, schema: LabelSchema
) -> BlindVsSuggested:
    """Gold accuracy and agreement with other annotators, for blind versus suggested answers."""
    gold = queries.gold_items(session, project_id)
    grouped = _by_item(rows)
    agree = _agreeing(schema)
    blind = _group([a for a in rows if a.blind], gold, grouped, agree)
    suggested = _group([a for a in rows if not a.blind], gold, grouped, agree)
    gap = (
        round(suggested.gold_accuracy - blind.gold_accuracy, 4)
        if blind.gold_accuracy is not None and suggested.gold_accuracy is not None
        else None
    )
    return BlindVsSuggested(
        blind_rate=blind_rate, blind=blind, suggested=suggested, accuracy_gap=gap
    )
