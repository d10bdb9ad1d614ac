"""Train and predict for projects whose model is a predictor (their ``predictor`` setting).

A predictor (a plug-in, or a Label Studio ML backend through the built-in ``label-studio-ml``)
replaces the embedding heads; everything around the model stays the same: the suggestions, the
queue's strategy order, calibration, the version registry and auto-accept.

Evidence is what keeps it honest. Each training run first asks the predictor about every
current label it has not been asked about yet (it never trained on those), keeps those raw
``pred_probs`` with the label (the *evidence*, carried from version to version), then lets a
trainable predictor fit on all labels. The version's temperature is fitted on the evidence, its
metrics are the calibrated evidence's, and auto-accept thresholds on the same evidence plus the
labels that arrived after it. A predictor keeps its own learnt state, so a new version always
replaces the champion: there is no earlier model left to compare it with.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.models.embeddings import embed
from labelloop.services.models.loading import (
    PredictorModel,
    load_model,
    log_probs,
    save_predictor_model,
)
from labelloop.services.models.predicting import queue_priority
from labelloop.services.models.registry import record_trained
from labelloop.services.models.suggestions import write_suggestions
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import PredictResult, TrainResult
from labelloop.store import ModelKind, ModelStatus, ModelVersion, Project, repo
from labelloop.store.queries import models as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from labelloop.predictors import CheckedPredictor, PredictorItem
    from labelloop.services.context import WorkspaceContext

__all__ = ["auto_accept_evidence", "predict", "predict_records", "train", "uses_predictor"]

PREDICT_BATCH = 256
"""Items per predictor call (progress is reported after each)."""
MIN_CALIBRATION = 10
"""Informative evidence labels (in at least two classes) needed before a temperature is fitted."""


def uses_predictor(ws: WorkspaceContext, name: str) -> bool:
    """Whether the project's ``predictor`` setting names a predictor."""
    with ws.transaction() as session:
        return bool(project_settings(repo.get_project(session, name))["predictor"])


@dataclass(frozen=True)
class _ProjectRef:
    id: int
    name: str
    settings: dict[str, Any]
    schema: LabelSchema


def _ref(project: Project) -> _ProjectRef:
    return _ProjectRef(project.id, project.name, project_settings(project), label_schema(project))


def _predictor(ws: WorkspaceContext, project: _ProjectRef) -> CheckedPredictor:
    """The project's predictor; built outside any transaction (it may call a server)."""
    from labelloop.predictors import PredictorContext, load_predictor

    state_dir = ws.artifacts.root / "predictors" / str(project.id)
    state_dir.mkdir(parents=True, exist_ok=True)
    context = PredictorContext(
        project=project.name,
        label_schema=project.schema,
        url=project.settings["predictor_url"] or None,
        state_dir=state_dir,
    )
    return load_predictor(str(project.settings["predictor"]), context)


def _items(
    rows: Sequence[tuple[int, Any]],
    schema: LabelSchema,
    ws: WorkspaceContext,
    *,
    media_root: Path | None = None,
) -> list[PredictorItem]:
    """Predictor items of ``(item id, data)`` rows; media paths resolve against ``media_root``
    (default: the workspace's)."""
    from labelloop.predictors import PredictorItem

    task = task_for(schema)
    root = media_root or ws.media_root
    return [
        PredictorItem(
            id=int(item_id),
            data=dict(data),
            content=task.encoder_input(data, media_root=root),
        )
        for item_id, data in rows
    ]


def _predict_raw(
    predictor: CheckedPredictor,
    items: Sequence[PredictorItem],
    progress: Progress | None = None,
    *,
    stage_name: str = "predicting",
) -> np.ndarray:
    advance = stage(progress, f"{stage_name} ({predictor.info.name})", len(items))
    parts = [np.zeros((0, predictor.context.label_schema.n_labels))]
    for start in range(0, len(items), PREDICT_BATCH):
        batch = items[start : start + PREDICT_BATCH]
        parts.append(predictor.predict(batch))
        if advance is not None:
            advance(len(batch))
    return np.concatenate(parts)


@dataclass(frozen=True)
class _Snapshot:
    project_id: int
    backbone: str
    schema: LabelSchema
    annotation_ids: list[int]
    items: list[PredictorItem]
    values: list[list[str]]
    previous: PredictorModel | None
    predictor: CheckedPredictor


def _snapshot(ws: WorkspaceContext, name: str) -> _Snapshot:
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        ref, backbone = _ref(project), project.backbone
        rows = repo.training_label_rows(session, project.id)
        champion = repo.champion(session, project.id)
        champion_files = (
            champion.artifact
            if champion is not None and champion.kind == ModelKind.PREDICTOR
            else None
        )
    schema, project_id = ref.schema, ref.id
    predictor = _predictor(ws, ref)
    previous = None
    if champion_files is not None:
        kept = load_model(ws.path / champion_files).predictor
        # the evidence of another predictor (or server) says nothing about this one
        if kept is not None and (kept.predictor, kept.url) == (
            predictor.info.name,
            predictor.context.url,
        ):
            previous = kept
    return _Snapshot(
        project_id=project_id,
        backbone=backbone,
        schema=schema,
        annotation_ids=[int(r.id) for r in rows],
        items=_items([(r.item_id, r.data) for r in rows], schema, ws),
        values=[list(r.value) for r in rows],
        previous=previous,
        predictor=predictor,
    )


def train(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> TrainResult:
    """Record a new version of the project's predictor: evidence, fit, calibration, champion.

    Raises:
        InvalidInput: The project's predictor setting is unknown or incomplete.
        PluginError: The predictor failed (the message names it, or its server's URL).
    """
    start = time.perf_counter()
    snap = _snapshot(ws, name)
    predictor, schema = snap.predictor, snap.schema
    current = set(snap.annotation_ids)
    known: dict[int, np.ndarray] = {}
    if snap.previous is not None:
        for a, probs in zip(snap.previous.evidence_ids, snap.previous.evidence_probs, strict=True):
            if int(a) in current:  # a corrected or undone label leaves the evidence
                known[int(a)] = probs
    fresh = [i for i, a in enumerate(snap.annotation_ids) if a not in known]
    if fresh:  # asked before the predictor trains on them: held out
        raw = _predict_raw(
            predictor,
            [snap.items[i] for i in fresh],
            progress,
            stage_name="asking about new labels",
        )
        known.update({snap.annotation_ids[i]: raw[j] for j, i in enumerate(fresh)})
    advance = stage(progress, f"training ({predictor.info.name})", len(snap.items))
    learnt = predictor.fit(snap.items, snap.values)
    if advance is not None:
        advance(len(snap.items))
    ids = np.array(snap.annotation_ids, dtype=np.int64)
    evidence = np.array([known[a] for a in snap.annotation_ids]).reshape(len(ids), schema.n_labels)
    targets = task_for(schema).targets(schema, snap.values)
    temperature = _temperature(schema, evidence, targets)
    model = PredictorModel(predictor.info.name, predictor.context.url, temperature, ids, evidence)
    metrics, ece = _metrics(schema, model.calibrate(evidence), targets)
    reason = _reason(predictor, snap, learnt, len(ids))
    with ws.transaction() as session:
        version = (queries.latest_number(session, snap.project_id) or 0) + 1
        folder = ws.artifacts.model_dir(snap.project_id, version)
        ws.artifacts.write_dir_atomically(folder, lambda tmp: save_predictor_model(tmp, model))
        row = ModelVersion(
            project_id=snap.project_id,
            version=version,
            status=ModelStatus.CHALLENGER,
            kind=ModelKind.PREDICTOR,
            backbone=snap.backbone,
            head=predictor.info.name,
            params={
                "predictor": predictor.info.name,
                "url": predictor.context.url,
                "learnt": learnt,
                "temperature": temperature,
                "evidence": len(ids),
            },
            label_ids=snap.annotation_ids if learnt else [],
            metrics={**metrics, "detail": None},
            ece=ece,
            train_seconds=time.perf_counter() - start,
            artifact=str(folder.relative_to(ws.path)),
            reason=reason,
        )
        return record_trained(session, row, promote=True, metrics=metrics, n_labels=len(ids))


def _temperature(schema: LabelSchema, evidence: np.ndarray, targets: np.ndarray) -> float | None:
    """The temperature fitted on the informative evidence rows, or ``None`` with too few.

    A row whose labels all got the same probability (an untrained predictor's answer) has the
    same likelihood at every temperature: it says nothing about calibration, and with only such
    rows any temperature would do (and could flatten the trained predictor's answers).
    """
    if schema.multi_label or len(targets) == 0:
        return None
    logits = log_probs(evidence)
    informative = np.ptp(logits, axis=1) > 1e-9
    if informative.sum() < MIN_CALIBRATION or len(np.unique(targets[informative])) < 2:
        return None
    from labelloop.learn.calibration import TemperatureScaler

    scaler = TemperatureScaler().fit(logits[informative], targets[informative])
    return float(scaler.temperature_)


def _metrics(
    schema: LabelSchema, pred_probs: np.ndarray, targets: np.ndarray
) -> tuple[dict[str, float | None], float | None]:
    empty: dict[str, float | None] = {"accuracy": None, "macro_f1": None, "ece": None}
    if schema.multi_label or len(targets) == 0:
        return empty, None
    from labelloop.learn import classification_metrics, expected_calibration_error

    found = classification_metrics(targets, pred_probs, label_names=list(schema.labels))
    ece = float(expected_calibration_error(pred_probs, targets))
    return {"accuracy": found.accuracy, "macro_f1": found.macro_f1, "ece": ece}, ece


def _reason(predictor: CheckedPredictor, snap: _Snapshot, learnt: bool, n: int) -> str:
    name = predictor.info.name
    if n == 0:
        return f"predictor {name!r} as it is: no labels yet"
    held_out = f"calibrated on {n} labels it had not trained on when asked"
    if learnt:
        return (
            f"predictor {name!r} trained on {n} labels; it keeps its own model, so the new "
            f"version replaces the champion; {held_out}"
        )
    return f"predictor {name!r} does not train; {held_out}"


def predict(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> PredictResult:
    """Refresh every unlabelled item's suggestion from the champion predictor (calibrated by
    its version) and re-rank the queue with the project's strategy.

    Embeddings (the project's backbone, cached) are computed only when the strategy reads
    them (``kcenter``, ``hybrid``, and ``cold_start`` before the first label).

    Raises:
        NotFound: The champion is not a predictor version (run train first).
    """
    from labelloop.active import get_strategy

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        ref, backbone = _ref(project), project.backbone
        champion = repo.champion(session, project.id)
        if champion is None or champion.kind != ModelKind.PREDICTOR or not champion.artifact:
            raise NotFound(f"project {name!r} has no predictor champion yet: run train first")
        rows = queries.unlabelled_item_rows(session, project.id)
        n_labelled = queries.count_current_labels(session, project.id)
        champion_id, version, artifact = champion.id, champion.version, champion.artifact
    schema, settings, project_id = ref.schema, ref.settings, ref.id
    predictor = _predictor(ws, ref)
    calibration = load_model(ws.path / artifact).predictor
    assert calibration is not None
    items = _items([(r.id, r.data) for r in rows], schema, ws)
    pred_probs = calibration.calibrate(_predict_raw(predictor, items, progress))
    task = task_for(schema)
    strategy = task.strategy_name(schema, "cold_start" if not n_labelled else settings["strategy"])
    embeddings = np.zeros((len(rows), 1), dtype=np.float32)
    embedded = 0
    if "embeddings" in get_strategy(strategy).needs and rows:
        cache = ws.embedding_cache()
        before = cache.count(backbone)
        inputs = [item.content for item in items]
        embeddings = embed(
            ws,
            backbone,
            inputs,
            [r.content_hash for r in rows],
            progress=progress,
            stage_name="embedding unlabelled items",
        )
        embedded = cache.count(backbone) - before
    seed = int(settings["seed"]) * 100_003 + int(version)
    priority = queue_priority(
        pred_probs, embeddings, str(settings["strategy"]), schema, cold=not n_labelled, seed=seed
    )
    item_ids = np.array([item.id for item in items], dtype=np.int64)
    write_suggestions(ws, project_id, champion_id, item_ids, pred_probs, priority, schema)
    return PredictResult(
        model_version=version,
        kind=ModelKind.PREDICTOR,
        items=len(rows),
        embedded=embedded,
        strategy=str(settings["strategy"]),
    )


def predict_records(
    ws: WorkspaceContext,
    name: str,
    datas: Sequence[Any],
    calibration: PredictorModel,
    *,
    media_root: Path,
    progress: Progress | None = None,
) -> np.ndarray:
    """Calibrated ``pred_probs`` of rows that are not the project's items (``evaluate``'s file):
    each is sent with id ``-1 - row``, so it cannot be mistaken for a workspace item."""
    with ws.transaction() as session:
        ref = _ref(repo.get_project(session, name))
    rows = [(-1 - i, data) for i, data in enumerate(datas)]
    items = _items(rows, ref.schema, ws, media_root=media_root)
    return calibration.calibrate(_predict_raw(_predictor(ws, ref), items, progress))


def auto_accept_evidence(
    ws: WorkspaceContext, name: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Held-out evidence for a predictor champion: ``(confidences, correct, version,
    version_id)``, one entry per current human label.

    A label in the version's evidence contributes the prediction made before the predictor
    ever trained on it; a label that arrived after the version was trained is asked now (the
    predictor has not trained on it either). Both are calibrated by the version's temperature.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        ref = _ref(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.kind != ModelKind.PREDICTOR or not champion.artifact:
            raise NotFound(f"project {name!r} has no predictor champion")
        rows = repo.training_label_rows(session, project.id)
        version, version_id, artifact = champion.version, champion.id, champion.artifact
    schema = ref.schema
    model = load_model(ws.path / artifact).predictor
    assert model is not None
    if schema.multi_label:
        raise InvalidInput("only single-label projects can be auto-accepted", field="project")
    stored = {int(a): p for a, p in zip(model.evidence_ids, model.evidence_probs, strict=True)}
    raw = np.zeros((len(rows), schema.n_labels))
    fresh = [i for i, r in enumerate(rows) if int(r.id) not in stored]
    for i, r in enumerate(rows):
        if int(r.id) in stored:
            raw[i] = stored[int(r.id)]
    if fresh:
        items = _items([(rows[i].item_id, rows[i].data) for i in fresh], schema, ws)
        raw[fresh] = _predict_raw(_predictor(ws, ref), items)
    probs = model.calibrate(raw)
    targets = task_for(schema).targets(schema, [list(r.value) for r in rows])
    if len(rows) == 0:
        return np.zeros(0), np.zeros(0, dtype=bool), version, version_id
    return probs.max(axis=1), probs.argmax(axis=1) == targets, version, version_id
