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
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.models.registry import record_trained
from labelloop.services.models.suggestions import champion_run, write_suggestion_rows
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import PredictResult, TrainResult
from labelloop.store import ModelKind, ModelStatus, ModelVersion, repo, utcnow
from labelloop.store.queries import models as queries
from labelloop.tasks import AnswerShape, task_for
from labelloop.tasks.spans import char_spans, token_offsets, token_spans

if TYPE_CHECKING:
    from labelloop.learn.spans import (
        Sentence,
        SpacySpanModel,
        SpanPrediction,
        TransformerSpanModel,
    )

    SpanModel = SpacySpanModel | TransformerSpanModel
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "SPAN_BACKBONE",
    "SPAN_STRATEGIES",
    "OutOfFold",
    "answers_spans",
    "auto_accept_evidence",
    "load_span_model",
    "predict",
    "sequence_priority",
    "stored_out_of_fold",
    "train",
]

#: The ``backbone`` recorded on span model versions (the catalog's name for en_core_web_sm).
SPAN_BACKBONE = "spacy-en-sm"
#: Queue strategies a span project can run (``strategy`` setting, after the task's mapping).
SPAN_STRATEGIES = ("mnlp", "token_entropy", "random")
_FOLDS = 3
#: Sentences per call of the model's predict: the unit of predict's progress.
_PREDICT_BATCH = 256
#: Out-of-fold evidence kept with a model: per training sentence, the calibrated confidence the
#: fold model that never saw it gave its spans, and whether they were exactly right.
_EVIDENCE = "oof_evidence.json"
#: Out-of-fold analyses kept with a model: per training sentence, the chosen candidate's token
#: probabilities and spans from the fold model that never saw it. Label-issue detection reads
#: them instead of fitting the recipe three times more after every retrain.
_OUT_OF_FOLD = "oof_tokens.npz"


@dataclass(frozen=True)
class _Labelled:
    annotation_ids: list[int]
    sentences: list[Sentence]
    gold: list[list[tuple[int, int, str]]]


def answers_spans(ws: WorkspaceContext, name: str) -> bool:
    """Whether the project's answers are spans (learnt by span models, not embedding heads)."""
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
    """The span models a project chooses between, simplest first.

    The mapped pre-trained recogniser as is; its training resumed on the project's spans; and
    MiniLM with a token-classification head fine-tuned on them (10 epochs at a learning rate of
    1e-4, at most :data:`~labelloop.learn.spans.transformer.MAX_STEPS` updates).
    """
    from labelloop.learn.spans import Candidate, SpacySpanModel, SpanArgs, TransformerSpanModel

    args = SpanArgs(seed=seed)
    base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map), args=args)
    transformer_args = SpanArgs(epochs=10, batch_size=8, seed=seed)

    def transformer(sentences: Sequence[Sentence], gold: Sequence[Any]) -> Any:
        untrained = TransformerSpanModel.untrained(
            schema.labels, args=transformer_args, learning_rate=1e-4
        )
        return untrained.fit(sentences, gold)

    return [
        Candidate("spacy-pretrained", lambda sentences, gold: base),
        Candidate("spacy-finetuned", lambda sentences, gold: base.fit(sentences, gold)),
        Candidate(TransformerSpanModel.name, transformer),
    ]


@functools.lru_cache(maxsize=4)
def _load_cached(folder: str, mtime: float) -> SpanModel:
    from labelloop.learn.spans import SpacySpanModel, TransformerSpanModel

    if TransformerSpanModel.is_saved_in(Path(folder)):
        return TransformerSpanModel.load(Path(folder))
    return SpacySpanModel.load(Path(folder))


def load_span_model(folder: Path) -> SpanModel:
    """A saved span model (a few recent ones stay loaded: spaCy takes a second to load)."""
    meta = folder / "span_model.json"
    if not meta.is_file():
        raise NotFound(f"no span model in {folder}")
    return _load_cached(str(folder), meta.stat().st_mtime)


def train(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> TrainResult:
    """Train a new span model version on the project's current spans (pre-trained if none);
    ``progress`` hears one stage, selecting and fitting the candidates."""
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
    stage(progress, "training span models", None)
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
    evidence = None
    if selection.oof is not None:
        calibrate = selection.model.calibrator
        evidence = {
            "annotation_ids": labelled.annotation_ids,
            "confidence": [calibrate(p.raw_confidence) for p in selection.oof],
            "correct": [
                p.span_set() == set(g) for p, g in zip(selection.oof, labelled.gold, strict=True)
            ],
        }
    out_of_fold = None
    if selection.oof is not None and all(p.token_probs is not None for p in selection.oof):
        out_of_fold = OutOfFold(
            labelled.annotation_ids,
            [np.asarray(p.token_probs, dtype=np.float64) for p in selection.oof],
            [list(p.spans) for p in selection.oof],
        )
    return _record(
        ws,
        project_id,
        selection.model,
        kind,
        labelled.annotation_ids,
        metrics,
        start,
        decision,
        evidence=evidence,
        out_of_fold=out_of_fold,
    )


@dataclass(frozen=True)
class OutOfFold:
    """The chosen candidate's out-of-fold analyses of the sentences a model was trained on.

    Attributes:
        annotation_ids: the training answers, in order (they fix the sentences and their spans).
        token_probs: per sentence, ``(n_tokens, 1 + n_labels)`` class probabilities, column 0
            ``O`` (as :attr:`labelloop.learn.spans.SpanPrediction.token_probs`).
        spans: per sentence, ``(start_token, end_token, label, marginal)`` of each span.
    """

    annotation_ids: list[int]
    token_probs: list[np.ndarray]
    spans: list[list[tuple[int, int, str, float]]]

    def save(self, path: Path) -> None:
        lengths = [len(p) for p in self.token_probs]
        width = self.token_probs[0].shape[1] if self.token_probs else 0
        flat = np.concatenate(self.token_probs) if self.token_probs else np.zeros((0, width))
        with path.open("wb") as f:
            np.savez(
                f,
                annotation_ids=np.asarray(self.annotation_ids, dtype=np.int64),
                lengths=np.asarray(lengths, dtype=np.int64),
                token_probs=flat,
                spans=np.asarray(json.dumps(self.spans)),
            )

    @classmethod
    def load(cls, path: Path) -> OutOfFold:
        with np.load(path, allow_pickle=False) as z:
            ids = [int(i) for i in z["annotation_ids"]]
            splits = np.cumsum(z["lengths"])[:-1]
            probs = np.split(z["token_probs"], splits) if len(ids) else []
            spans = json.loads(str(z["spans"]))
        return cls(ids, probs, [[(s, e, label, m) for s, e, label, m in row] for row in spans])


def stored_out_of_fold(
    ws: WorkspaceContext, artifact: str, annotation_ids: Sequence[int]
) -> OutOfFold | None:
    """The out-of-fold analyses saved with the model at ``artifact``, when it was trained on
    exactly the answers ``annotation_ids`` (else ``None``: they are stale or were never kept)."""
    path = ws.path / artifact / _OUT_OF_FOLD
    if not path.exists():
        return None
    stored = OutOfFold.load(path)
    return stored if stored.annotation_ids == list(annotation_ids) else None


def _record(
    ws: WorkspaceContext,
    project_id: int,
    model: SpanModel,
    kind: str,
    label_ids: list[int],
    metrics: dict[str, Any],
    start: float,
    decision: tuple[bool, str],
    *,
    evidence: dict[str, list[Any]] | None = None,
    out_of_fold: OutOfFold | None = None,
) -> TrainResult:
    def write(folder: Path) -> None:
        model.save(folder)
        if evidence is not None:
            (folder / _EVIDENCE).write_text(json.dumps(evidence), encoding="utf-8")
        if out_of_fold is not None:
            out_of_fold.save(folder / _OUT_OF_FOLD)

    with ws.transaction() as session:
        version = (queries.latest_number(session, project_id) or 0) + 1
        folder = ws.artifacts.model_dir(project_id, version)
        ws.artifacts.write_dir_atomically(folder, write)
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
        return record_trained(
            session,
            row,
            promote=decision[0],
            metrics={"f1": metrics.get("f1")},
            n_labels=len(label_ids),
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
    decision = promotion_decision(champion_correct, challenger_correct, unit="sentences")
    return bool(decision.promote), decision.reason


def predict(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> PredictResult:
    """Refresh every unlabelled sentence's suggested spans from the champion and re-rank."""
    run = champion_run(
        ws, name, strategies=SPAN_STRATEGIES, choices=", ".join(SPAN_STRATEGIES), what="spans"
    )
    rows = run.rows
    model = load_span_model(ws.path / run.artifact)
    parsed = [_sentence(r.data) for r in rows]
    advance = stage(progress, "predicting", len(parsed), unit="sentences")
    predictions = []
    for start in range(0, len(parsed), _PREDICT_BATCH):
        chunk = [sentence for sentence, _ in parsed[start : start + _PREDICT_BATCH]]
        predictions.extend(model.predict(chunk))
        if advance is not None:
            advance(len(chunk))
    priority = sequence_priority(predictions, run.strategy, seed=run.seed)
    now = utcnow()
    suggestion_rows = [
        {
            "project_id": run.project_id,
            "item_id": int(row.id),
            "model_version_id": run.champion_id,
            "value": char_spans(offsets, [(s, e, label) for s, e, label, _ in p.spans]),
            "pred_probs": [round(float(m), 5) for *_, m in p.spans],
            "confidence": float(p.confidence),
            "priority": float(priority[i]),
            "created_at": now,
        }
        for i, (row, (_, offsets), p) in enumerate(zip(rows, parsed, predictions, strict=True))
    ]
    write_suggestion_rows(ws, run.project_id, suggestion_rows)
    return PredictResult(
        model_version=run.version, kind=run.kind, items=len(rows), embedded=0,
        strategy=run.strategy,
    )  # fmt: skip


def auto_accept_evidence(
    ws: WorkspaceContext, name: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Held-out sentence-level evidence for the champion: ``(confidences, correct, version,
    version_id)``, one entry per current human span answer.

    A sentence the champion trained on contributes its out-of-fold prediction, kept with the
    model (:data:`_EVIDENCE`); any other, the champion's own prediction, which never saw it. The
    pre-trained recogniser trained on none, so every labelled sentence is its evidence.
    ``correct`` holds only when the predicted span set is exactly the human one.

    Raises:
        NotFound: the project has no champion.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no model yet: run train first")
        labelled = _labelled(repo.training_label_rows(session, project.id))
        version, version_id, artifact = champion.version, champion.id, champion.artifact
    folder = ws.path / artifact
    kept: dict[int, tuple[float, bool]] = {}
    if (folder / _EVIDENCE).is_file():
        stored = json.loads((folder / _EVIDENCE).read_text(encoding="utf-8"))
        kept = {
            int(a): (float(c), bool(ok))
            for a, c, ok in zip(
                stored["annotation_ids"], stored["confidence"], stored["correct"], strict=True
            )
        }
    n = len(labelled.annotation_ids)
    confidences, correct = np.zeros(n), np.zeros(n, dtype=bool)
    fresh = []
    for i, annotation_id in enumerate(labelled.annotation_ids):
        if annotation_id in kept:
            confidences[i], correct[i] = kept[annotation_id]
        else:
            fresh.append(i)
    if fresh:
        predictions = load_span_model(folder).predict([labelled.sentences[i] for i in fresh])
        for i, p in zip(fresh, predictions, strict=True):
            confidences[i] = p.confidence
            correct[i] = p.span_set() == set(labelled.gold[i])
    return confidences, correct, version, version_id


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
