"""Train and predict for span projects: the same loop as classification, with span models.

Before any label the champion is spaCy's pre-trained recogniser, its OntoNotes types mapped onto
the project's labels (``LabelSchema.type_map`` over :func:`labelloop.learn.spans.default_type_map`).
Each retrain cross-validates the candidates on the project's labelled sentences (the mapped
pre-trained model as is, and its training resumed on the project's spans), refits the best on
all of them and calibrates its sentence confidence on its out-of-fold predictions. The promotion
rule compares champion and challenger on the sentences the champion never trained on, a sentence
counting as right only when its span set is exactly right.

Suggestions store the span list as ``value``, one marginal per span as ``pred_probs`` and the
calibrated probability that the whole set is right as ``confidence``; the queue's priority is the
project strategy's sequence score (MNLP, token entropy or random).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.models.registry import make_champion
from labelloop.services.models.suggestions import write_suggestion_rows
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import PredictResult, TrainResult
from labelloop.store import ModelKind, ModelStatus, ModelVersion, repo
from labelloop.store.queries import models as queries
from labelloop.tasks.spans import char_spans, token_offsets, token_spans

if TYPE_CHECKING:
    from labelloop.learn.spans import Sentence, SpacySpanModel, SpanPrediction
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "SPAN_BACKBONE",
    "SPAN_STRATEGIES",
    "answers_spans",
    "load_span_model",
    "predict",
    "sequence_priority",
    "train",
]

#: The ``backbone`` recorded on span model versions (the catalog's name for en_core_web_sm).
SPAN_BACKBONE = "spacy-en-sm"
#: Queue strategies a span project can run (``strategy`` setting, after the task's mapping).
SPAN_STRATEGIES = ("mnlp", "token_entropy", "random")
_FOLDS = 3


@dataclass(frozen=True)
class _Labelled:
    annotation_ids: list[int]
    sentences: list[Sentence]
    gold: list[list[tuple[int, int, str]]]


def answers_spans(ws: WorkspaceContext, name: str) -> bool:
    """Whether the project's answers are spans (learnt by span models, not embedding heads)."""
    from labelloop.tasks import AnswerShape, task_for

    with ws.transaction() as session:
        schema = label_schema(repo.get_project(session, name))
    return task_for(schema).tags.answer is AnswerShape.SPANS


def _sentence(data: dict[str, Any]) -> tuple[Sentence, list[tuple[int, int]]]:
    from labelloop.learn.spans import Sentence

    offsets = token_offsets(data)
    return Sentence.from_offsets(str(data["text"]), offsets), offsets


def _labelled(rows: Sequence[Any]) -> _Labelled:
    sentences, gold = [], []
    for row in rows:
        sentence, offsets = _sentence(row.data)
        sentences.append(sentence)
        gold.append(token_spans(offsets, row.value))
    return _Labelled([row.id for row in rows], sentences, gold)


def candidates(schema: LabelSchema, *, seed: int = 0) -> list[Any]:
    """The span models a project chooses between, simplest first."""
    from labelloop.learn.spans import Candidate, SpacySpanModel, SpanArgs

    args = SpanArgs(seed=seed)
    base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map), args=args)
    return [
        Candidate("spacy-pretrained", lambda sentences, gold: base),
        Candidate("spacy-finetuned", lambda sentences, gold: base.fit(sentences, gold)),
    ]


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str, mtime: float) -> SpacySpanModel:
    from labelloop.learn.spans import SpacySpanModel

    return SpacySpanModel.load(Path(folder))


def load_span_model(folder: Path) -> SpacySpanModel:
    """A saved span model (a few recent ones stay loaded: spaCy takes a second to load)."""
    meta = folder / "span_model.json"
    if not meta.is_file():
        raise NotFound(f"no span model in {folder}")
    return _load_cached(str(folder), meta.stat().st_mtime)


def train(
    ws: WorkspaceContext, name: str, *, progress: Callable[[int], None] | None = None
) -> TrainResult:
    """Train a new span model version on the project's current spans (pre-trained if none)."""
    from labelloop.learn.spans import select_span_model

    start = time.perf_counter()
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        labelled = _labelled(repo.training_label_rows(session, project.id))
        champion = repo.champion(session, project.id)
        champion_info = (
            (champion.artifact, set(champion.label_ids or []), champion.kind) if champion else None
        )
        project_id = project.id
        seed = int(project_settings(project)["seed"])
    options = candidates(schema, seed=seed)
    if not labelled.sentences:
        if champion_info is not None and champion_info[2] != ModelKind.PRETRAINED:
            raise InvalidInput(
                "the project has no labels to train on, and its champion is a trained model; "
                "label some items first",
                field="labels",
            )
        model = options[0].fit([], [])
        reason = "no labels yet: suggestions from the pre-trained recogniser, types mapped"
        return _record(ws, project_id, model, ModelKind.PRETRAINED, [], {}, start, (True, reason))
    selection = select_span_model(
        options, labelled.sentences, labelled.gold, folds=_FOLDS, seed=seed
    )
    decision = _decide(ws, champion_info, selection, labelled)
    kind = ModelKind.FINETUNED if selection.model.fine_tuned else ModelKind.PRETRAINED
    metrics: dict[str, Any] = {
        "f1": selection.scores[selection.chosen].f1 if selection.scores else None,
        "candidate": selection.chosen,
        "candidates": {n: s.to_dict() for n, s in selection.scores.items()},
        "n_sentences": len(labelled.sentences),
    }
    return _record(
        ws, project_id, selection.model, kind, labelled.annotation_ids, metrics, start, decision
    )


def _record(
    ws: WorkspaceContext,
    project_id: int,
    model: SpacySpanModel,
    kind: str,
    label_ids: list[int],
    metrics: dict[str, Any],
    start: float,
    decision: tuple[bool, str],
) -> TrainResult:
    with ws.transaction() as session:
        version = (queries.latest_number(session, project_id) or 0) + 1
        folder = ws.artifacts.model_dir(project_id, version)
        ws.artifacts.write_dir_atomically(folder, model.save)
        row = ModelVersion(
            project_id=project_id,
            version=version,
            status=ModelStatus.CHALLENGER,
            kind=kind,
            backbone=SPAN_BACKBONE,
            head=model.name,
            params={"args": model.args.to_dict(), "type_map": model.type_map},
            label_ids=label_ids,
            metrics=metrics,
            train_seconds=time.perf_counter() - start,
            artifact=str(folder.relative_to(ws.path)),
            reason=decision[1],
        )
        session.add(row)
        session.flush()
        if decision[0]:
            make_champion(session, project_id, row)
    return TrainResult(
        model_version=version,
        kind=kind,
        promoted=decision[0],
        reason=decision[1],
        metrics={"f1": metrics.get("f1")},
        n_labels=len(label_ids),
        train_seconds=round(row.train_seconds or 0.0, 4),
    )


def _decide(
    ws: WorkspaceContext,
    champion: tuple[str | None, set[int], str] | None,
    selection: Any,
    labelled: _Labelled,
) -> tuple[bool, str]:
    """The promotion rule on the sentences the champion never trained on (exact span sets)."""
    from labelloop.learn import promotion_decision

    if champion is None or champion[0] is None:
        return True, "first model of the project"
    if selection.oof is None:
        return False, (
            f"kept the champion: {len(labelled.sentences)} labelled sentences are too few to "
            "compare models on"
        )
    rows = [i for i, a in enumerate(labelled.annotation_ids) if a not in champion[1]]
    if not rows:
        return True, "promoted: no new labels to compare on"
    old = load_span_model(ws.path / champion[0]).predict([labelled.sentences[i] for i in rows])
    gold = [set(labelled.gold[i]) for i in rows]
    champion_correct = np.array([p.span_set() == g for p, g in zip(old, gold, strict=True)])
    challenger_correct = np.array(
        [selection.oof[i].span_set() == g for i, g in zip(rows, gold, strict=True)]
    )
    decision = promotion_decision(champion_correct, challenger_correct)
    return bool(decision.promote), decision.reason.replace("labels", "sentences")


def predict(
    ws: WorkspaceContext, name: str, *, progress: Callable[[int], None] | None = None
) -> PredictResult:
    """Refresh every unlabelled sentence's suggested spans from the champion and re-rank."""
    from labelloop.store import utcnow

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no champion model yet: run train first")
        rows = queries.unlabelled_item_rows(session, project.id)
        settings = project_settings(project)
        champion_id, version, kind = champion.id, champion.version, champion.kind
        artifact, project_id = champion.artifact, project.id
    from labelloop.tasks import task_for

    strategy = task_for(schema).strategy_name(schema, str(settings["strategy"]))
    if strategy not in SPAN_STRATEGIES:
        raise InvalidInput(
            f"strategy {settings['strategy']!r} does not apply to spans; "
            f"choose from {', '.join(SPAN_STRATEGIES)}",
            field="strategy",
        )
    model = load_span_model(ws.path / artifact)
    parsed = [_sentence(r.data) for r in rows]
    predictions = model.predict([sentence for sentence, _ in parsed])
    if progress is not None:
        progress(len(rows))
    seed = int(settings["seed"]) * 100_003 + int(version)
    priority = sequence_priority(predictions, strategy, seed=seed)
    now = utcnow()
    suggestion_rows = [
        {
            "project_id": project_id,
            "item_id": int(row.id),
            "model_version_id": champion_id,
            "value": char_spans(offsets, [(s, e, label) for s, e, label, _ in p.spans]),
            "pred_probs": [round(float(m), 5) for *_, m in p.spans],
            "confidence": float(p.confidence),
            "priority": float(priority[i]),
            "created_at": now,
        }
        for i, (row, (_, offsets), p) in enumerate(zip(rows, parsed, predictions, strict=True))
    ]
    write_suggestion_rows(ws, project_id, suggestion_rows)
    return PredictResult(
        model_version=version, kind=kind, items=len(rows), embedded=0, strategy=strategy
    )


def sequence_priority(
    predictions: Sequence[SpanPrediction], strategy: str, *, seed: int = 0
) -> np.ndarray:
    """``(n,)`` queue priority in ``[0, 1]``, higher first.

    ``mnlp``: ``1 - exp(MNLP)``, the per-token improbability of the best analysis (Shen et al.,
    2017); ``token_entropy``: the mean normalised token entropy; ``random``: a seeded draw.
    """
    if strategy == "random":
        return np.random.default_rng(seed).random(len(predictions))
    if strategy == "token_entropy":
        return np.array([p.token_entropy for p in predictions], dtype=np.float64)
    if strategy == "mnlp":
        return 1.0 - np.exp(np.array([p.mnlp for p in predictions], dtype=np.float64))
    raise InvalidInput(f"unknown span strategy {strategy!r}", field="strategy")
