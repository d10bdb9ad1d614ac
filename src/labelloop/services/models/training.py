"""Train, predict, and manage a project's model versions (the registry with promotion).

Training reads a snapshot of the labels in one short transaction, fits outside any transaction (so
annotation never waits for it), then records the model version in a second one. A new version
becomes the champion only under the promotion rule of :func:`labelloop.learn.promotion_decision`;
otherwise it is kept as a challenger. Model files are written to a temporary folder and renamed
into place, so an interrupted training leaves the champion and its files untouched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.models.embeddings import embed
from labelloop.services.models.loading import (
    ZERO_SHOT_TEMPERATURE,
    load_model,
    save_head_model,
    save_zero_shot_model,
)
from labelloop.services.models.registry import record_trained
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import (
    SEMI_SUPERVISED_BELOW,
    SEMI_SUPERVISED_MAX_ITEMS,
    label_schema,
    project_settings,
)
from labelloop.services.results import TrainResult
from labelloop.store import ModelKind, ModelStatus, ModelVersion, Project, repo
from labelloop.store.queries import models as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "train",
]


@dataclass(frozen=True)
class _Labelled:
    annotation_ids: list[int]
    hashes: list[str]
    inputs: list[Any]
    labels: np.ndarray  # (n,) ids or (n, k) indicator


def _project_args(project: Project, schema: LabelSchema, n_labels: int, n_items: int) -> Any:
    from labelloop.learn import TrainingArgs

    settings = project_settings(project)
    augment = settings["augment"] if settings["augment"] in ("none", "mixup") else "none"
    semi = settings["semi_supervised"]
    auto = n_labels < SEMI_SUPERVISED_BELOW and n_items <= SEMI_SUPERVISED_MAX_ITEMS
    return TrainingArgs(
        head=settings["head"],
        augment=augment,
        semi_supervised=not schema.multi_label and (semi == "on" or (semi == "auto" and auto)),
    )


def _steps(progress: Progress | None) -> Callable[[int, int], None] | None:
    """Fine-tuning's ``(steps_done, total_steps)`` callback as a "fine-tuning" stage, begun
    when the trainer first reports its total."""
    if progress is None:
        return None
    advance: Callable[[int], None] | None = None
    reported = 0

    def report(done: int, total: int) -> None:
        nonlocal advance, reported
        if advance is None:
            advance = progress.stage("fine-tuning", total, unit="steps")
        advance(done - reported)
        reported = done

    return report


def _unlabelled_sample(
    ws: WorkspaceContext,
    project_id: int,
    backbone: str,
    schema: LabelSchema,
    *,
    limit: int,
    seed: int,
    progress: Progress | None = None,
) -> np.ndarray:
    """Embeddings of at most ``limit`` unlabelled items of the project (a seeded sample)."""
    from labelloop.learn.semi import sample_rows

    with ws.transaction() as session:
        ids = np.array(queries.unlabelled_item_ids(session, project_id), np.int64)
        chosen = ids[sample_rows(len(ids), limit, seed=seed)].tolist()
        rows = queries.item_inputs(session, chosen)
    task = task_for(schema)
    inputs = [task.encoder_input(r.data, media_root=ws.media_root) for r in rows]
    return embed(
        ws,
        backbone,
        inputs,
        [r.content_hash for r in rows],
        progress=progress,
        stage_name="embedding unlabelled items",
    )


def training_labels(
    session: Session, project: Project, schema: LabelSchema, media_root: Path
) -> _Labelled:
    """The current human (and model-accepted) labels as training targets, in item order; each
    item's encoder input has its media path resolved against ``media_root``."""
    rows = repo.training_label_rows(session, project.id)
    task = task_for(schema)
    return _Labelled(
        annotation_ids=[row.id for row in rows],
        hashes=[row.content_hash for row in rows],
        inputs=[task.encoder_input(row.data, media_root=media_root) for row in rows],
        labels=task.targets(schema, [row.value for row in rows]),
    )


def _next_version(session: Session, project_id: int) -> int:
    latest = queries.latest_number(session, project_id)
    return (latest or 0) + 1


def _zero_shot_label_embeddings(
    ws: WorkspaceContext, backbone: str, schema: LabelSchema
) -> np.ndarray:
    """One embedding per label: the mean of its prompt embeddings (name, phrasing, description)."""
    from labelloop.learn import label_prompts
    from labelloop.tasks import text_hash

    prompts = label_prompts(schema)
    flat = [p for group in prompts for p in group]
    vectors = embed(ws, backbone, flat, [text_hash(p) for p in flat])
    out = np.zeros((len(prompts), vectors.shape[1]), dtype=np.float32)
    start = 0
    for j, group in enumerate(prompts):
        mean = vectors[start : start + len(group)].mean(axis=0)
        out[j] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        start += len(group)
    return out


def train(
    ws: WorkspaceContext,
    name: str,
    *,
    progress: Progress | None = None,
    C: float | None = None,
) -> TrainResult:
    """Train a new model version on the project's current labels (zero-shot when there are none).

    Returns the version, whether it was promoted to champion and why, and its cross-validated
    metrics (accuracy, macro-F1, expected calibration error). Span projects train span models
    (:func:`labelloop.services.models.spans.train`), box projects box models
    (:func:`labelloop.services.models.boxes.train`). ``progress`` hears the stages: fine-tuning
    (steps), embedding the labelled items, embedding an unlabelled sample (semi-supervised),
    fitting.
    """
    from labelloop.services.models import boxes, predictors, spans

    if spans.answers_spans(ws, name):
        return spans.train(ws, name, progress=progress)
    if boxes.answers_boxes(ws, name):
        return boxes.train(ws, name, progress=progress)
    if predictors.uses_predictor(ws, name):
        return predictors.train(ws, name, progress=progress)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        labelled = training_labels(session, project, schema, ws.media_root)
        champion = repo.champion(session, project.id)
        champion_files = (
            _Champion(
                champion.kind, champion.artifact, set(champion.label_ids or []), champion.backbone
            )
            if champion
            else None
        )
        project_id, backbone = project.id, project.backbone
        n_items = repo.count_items(session, project.id)
        args = _project_args(project, schema, len(labelled.labels), n_items)
        if C is not None:  # a fixed regularisation strength instead of the cross-validated grid
            args = args.replace(C=C)
        settings = project_settings(project)

    start = time.perf_counter()
    if len(labelled.labels) == 0:
        if task_for(schema).tags.modality is not Modality.TEXT:
            raise InvalidInput(
                f"project {name!r} has no labels, and no zero-shot model reads its items (label "
                "names are text): label some items first; `predict` orders the first batches "
                "by cluster cold start meanwhile",
                field="labels",
            )
        return _record_zero_shot(ws, name, project_id, backbone, schema, start)

    kind = ModelKind.HEAD
    if _wants_finetuning(settings, schema, len(labelled.labels)):
        backbone = _finetune(ws, project_id, backbone, labelled, settings, progress)
        kind = ModelKind.FINETUNED
    embeddings = embed(
        ws,
        backbone,
        labelled.inputs,
        labelled.hashes,
        progress=progress,
        stage_name="embedding labelled items",
    )
    from labelloop.learn import fit_model
    from labelloop.services.models.augmenting import augmented_copies

    augmented = augmented_copies(
        ws,
        backbone,
        labelled.inputs,
        labelled.hashes,
        labelled.labels,
        copies=int(settings["augment_copies"]),
        progress=progress,
    )

    init = None
    if (
        champion_files is not None
        and champion_files.kind in (ModelKind.HEAD, ModelKind.FINETUNED)
        and champion_files.artifact
        and champion_files.backbone == backbone
    ):
        init = load_model(ws.path / champion_files.artifact).model
    unlabelled = None
    if args.semi_supervised:
        unlabelled = _unlabelled_sample(
            ws,
            project_id,
            backbone,
            schema,
            limit=max(args.smoothing_reference, args.unlabelled_sample),
            seed=args.seed,
            progress=progress,
        )
    stage(progress, "fitting the head", None)
    model = fit_model(
        embeddings,
        labelled.labels,
        n_labels=schema.n_labels,
        args=args,
        init=init,
        label_names=list(schema.labels),
        unlabelled=unlabelled,
        augmented=augmented,
    )
    decision = _decide(ws, champion_files, model, embeddings, backbone, labelled, schema)
    metrics = {
        "accuracy": model.metrics.accuracy if model.metrics else None,
        "macro_f1": model.metrics.macro_f1 if model.metrics else None,
        "ece": model.ece,
    }
    with ws.transaction() as session:
        version = _next_version(session, project_id)
        folder = ws.artifacts.model_dir(project_id, version)
        ws.artifacts.write_dir_atomically(folder, lambda tmp: save_head_model(tmp, model))
        row = ModelVersion(
            project_id=project_id,
            version=version,
            status=ModelStatus.CHALLENGER,
            kind=kind,
            backbone=backbone,
            head=args.head,
            params={"args": args.to_dict(), "C": getattr(model, "C", None)},
            label_ids=labelled.annotation_ids,
            metrics={**metrics, "detail": model.metrics.to_dict() if model.metrics else None},
            ece=model.ece,
            train_seconds=time.perf_counter() - start,
            artifact=str(folder.relative_to(ws.path)),
            reason=decision[1],
        )
        return record_trained(
            session, row, promote=decision[0], metrics=metrics, n_labels=len(labelled.labels)
        )


def _record_zero_shot(
    ws: WorkspaceContext,
    name: str,
    project_id: int,
    backbone: str,
    schema: LabelSchema,
    start: float,
) -> TrainResult:
    label_embeddings = _zero_shot_label_embeddings(ws, backbone, schema)
    with ws.transaction() as session:
        champion = repo.champion(session, project_id)
        if champion is not None and champion.kind != ModelKind.ZERO_SHOT:
            raise InvalidInput(
                "the project has no labels to train on, and its champion is a trained model; "
                "label some items first",
                field="labels",
            )
        version = _next_version(session, project_id)
        folder = ws.artifacts.model_dir(project_id, version)
        ws.artifacts.write_dir_atomically(
            folder, lambda tmp: save_zero_shot_model(tmp, label_embeddings, ZERO_SHOT_TEMPERATURE)
        )
        row = ModelVersion(
            project_id=project_id,
            version=version,
            status=ModelStatus.CHALLENGER,
            kind=ModelKind.ZERO_SHOT,
            backbone=backbone,
            head="label-similarity",
            params={"temperature": ZERO_SHOT_TEMPERATURE},
            label_ids=[],
            metrics={},
            train_seconds=time.perf_counter() - start,
            artifact=str(folder.relative_to(ws.path)),
            reason="no labels yet: suggestions from similarity to the label names",
        )
        return record_trained(
            session,
            row,
            promote=True,
            metrics={"accuracy": None, "macro_f1": None, "ece": None},
            n_labels=0,
        )


def _decide(
    ws: WorkspaceContext,
    champion: _Champion | None,
    model: Any,
    embeddings: np.ndarray,
    backbone: str,
    labelled: _Labelled,
    schema: LabelSchema,
) -> tuple[bool, str]:
    """Apply the promotion rule on the labels the champion never trained on."""
    from labelloop.learn import promotion_decision

    if champion is None or champion.artifact is None:
        return True, "first model of the project"
    if champion.kind == ModelKind.PREDICTOR:  # it reads items: no paired comparison on embeddings
        return True, "promoted: the project's predictor setting no longer names a predictor"
    if schema.multi_label or model.oof_predictions is None:
        # no paired comparison: never trade a champion that knows more classes for one that
        # knows fewer (a head on one Sports label would make every suggestion Sports)
        learnt = _classes_in(labelled.labels, schema)
        known = (
            schema.n_labels
            if champion.kind == ModelKind.ZERO_SHOT
            else _classes_in(
                labelled.labels[[a in champion.label_ids for a in labelled.annotation_ids]], schema
            )
        )
        if learnt < known:
            return False, (
                f"kept the champion: too few labels per class for a paired comparison, and the "
                f"new model has labels of {learnt} of the {known} classes the champion predicts"
            )
        return True, "promoted: too few labels per class for a paired comparison"
    held_out = np.array([a not in champion.label_ids for a in labelled.annotation_ids])
    if held_out.sum() == 0:
        return True, "promoted: no new labels to compare on"
    old = load_model(ws.path / champion.artifact)
    truth = labelled.labels[held_out]
    if champion.backbone == backbone:
        old_embeddings = embeddings[held_out]
    else:  # the champion reads another backbone's embeddings (switched or fine-tuned)
        rows = np.flatnonzero(held_out)
        old_embeddings = embed(
            ws,
            champion.backbone,
            [labelled.inputs[i] for i in rows],
            [labelled.hashes[i] for i in rows],
        )
    champion_correct = old.predict_proba(old_embeddings).argmax(axis=1) == truth
    challenger_correct = model.oof_predictions[held_out] == truth
    decision = promotion_decision(champion_correct, challenger_correct)
    return bool(decision.promote), decision.reason


def _classes_in(labels: np.ndarray, schema: LabelSchema) -> int:
    """How many classes the training targets ``labels`` (ids, or multi-hot rows) contain."""
    if len(labels) == 0:
        return 0
    if schema.multi_label:
        return int((np.asarray(labels).sum(axis=0) > 0).sum())
    return len(np.unique(labels))


@dataclass(frozen=True)
class _Champion:
    kind: str
    artifact: str | None
    label_ids: set[int]
    backbone: str


def _wants_finetuning(settings: dict[str, Any], schema: LabelSchema, n_labels: int) -> bool:
    return (
        bool(settings["finetune"])
        and not schema.multi_label
        and task_for(schema).tags.modality == Modality.TEXT
        and n_labels >= int(settings["finetune_min_labels"])
    )


def _finetune(
    ws: WorkspaceContext,
    project_id: int,
    base: str,
    labelled: _Labelled,
    settings: dict[str, Any],
    progress: Progress | None,
) -> str:
    """Fine-tune the base backbone on the labels (SetFit); returns the new backbone's name.

    The fine-tuned encoder is written under ``artifacts/encoders/<name>`` and embeds items
    through the same cache as any backbone; the head is then fitted on its embeddings.
    """
    import secrets

    from labelloop.backbones import get_encoder
    from labelloop.learn import TrainingArgs, finetune_setfit
    from labelloop.services.models.embeddings import (
        FINETUNED_PREFIX,
        finetuned_dir,
        register_finetuned,
    )

    base_path = getattr(get_encoder(base), "model_path", None)
    if base_path is None:
        raise InvalidInput(f"backbone {base!r} cannot be fine-tuned", field="finetune")
    name = f"{FINETUNED_PREFIX}{project_id}-{secrets.token_hex(4)}"
    finetune_setfit(
        labelled.inputs,
        labelled.labels,
        base_model_path=base_path,
        out_dir=finetuned_dir(ws, name),
        args=TrainingArgs(finetune_max_pairs=int(settings["finetune_max_pairs"])),
        progress=_steps(progress),
    )
    register_finetuned(ws, name)
    return name
