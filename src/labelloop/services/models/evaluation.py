"""Score the champion on an outside labelled file, and rank backbones on a project's labels."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput, LabelloopError
from labelloop.services.data.formats import read_records
from labelloop.services.data.media import find_media
from labelloop.services.models.embeddings import embed
from labelloop.services.models.registry import champion_model
from labelloop.services.models.training import training_labels
from labelloop.services.progress import Progress
from labelloop.services.projects import label_schema
from labelloop.services.results import BackboneRanking, BackboneScore, EvaluateResult
from labelloop.store import repo
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["evaluate", "rank_backbones"]

RANK_SAMPLE = 2000  # labels used to rank backbones (encoding is the slow part)
SPEED_SAMPLE = 64  # texts encoded fresh (not from the cache) to measure speed


def evaluate(
    ws: WorkspaceContext,
    name: str,
    path: Path,
    *,
    text_field: str = "text",
    label_field: str = "label",
    format: str | None = None,
    progress: Progress | None = None,
    media_roots: Sequence[Path] | None = None,
) -> EvaluateResult:
    """Accuracy and macro-F1 of the champion on a labelled file that is not in the project;
    ``progress`` hears the embedding of the file's items. Image-boxes projects score boxes
    instead (:func:`labelloop.services.models.box_evaluation.evaluate`). With ``media_roots``
    (the server), image rows may name files only in the file's folder, the workspace's media
    root and those folders."""
    from labelloop.learn import classification_metrics
    from labelloop.services.models import box_evaluation, boxes

    if not path.exists():
        raise InvalidInput("no such file", file=str(path))
    if boxes.answers_boxes(ws, name):
        return box_evaluation.evaluate(
            ws, name, path, label_field=label_field, format=format, progress=progress,
            media_roots=media_roots,
        )  # fmt: skip
    with ws.transaction() as session:
        schema = label_schema(repo.get_project(session, name))
    if schema.multi_label:
        raise InvalidInput("evaluate supports single-label projects", field="project")
    version, model, backbone = champion_model(ws, name)
    task = task_for(schema)
    inputs: list[Any] = []
    hashes: list[str] = []
    labels: list[int] = []
    datas: list[Any] = []
    # the schema says when rows name media files (an image project's CSV/JSONL of paths)
    records = read_records(
        path, format=format, text_field=text_field, label_field=label_field, schema=schema
    )
    for record in records:
        if not record.annotations:
            raise InvalidInput("no label", file=str(path), line=record.line, field=label_field)
        value = record.annotations[0].value
        if len(value) != 1 or value[0] not in schema.labels:
            raise InvalidInput(
                f"unknown label {', '.join(value)!r}; the project's labels are "
                f"{', '.join(schema.labels)}",
                file=str(path),
                line=record.line,
                field=label_field,
            )
        data = record.data
        if data.get("media"):
            data = _media_data(data, [path.parent, ws.media_root], media_roots, path, record.line)
        inputs.append(task.encoder_input(data, media_root=path.parent))
        hashes.append(task.content_hash(data, media_root=path.parent))
        labels.append(schema.labels.index(value[0]))
        datas.append(data)
    if not inputs:
        raise InvalidInput("the file has no rows", file=str(path))
    if model.predictor is not None:  # a team's own model reads the rows themselves
        from labelloop.services.models import predictors

        pred_probs = predictors.predict_records(
            ws, name, datas, model.predictor, media_root=path.parent, progress=progress
        )
    else:
        pred_probs = model.predict_proba(embed(ws, backbone, inputs, hashes, progress=progress))
    metrics = classification_metrics(np.array(labels), pred_probs, label_names=list(schema.labels))
    return EvaluateResult(
        accuracy=metrics.accuracy,
        macro_f1=metrics.macro_f1,
        n=len(inputs),
        model_version=version,
        per_class={
            c.label: {
                "precision": c.precision,
                "recall": c.recall,
                "f1": c.f1,
                "support": c.support,
            }
            for c in metrics.per_class
        },
    )


def _media_data(
    data: dict[str, Any],
    roots: list[Path],
    media_roots: Sequence[Path] | None,
    path: Path,
    line: int | None,
) -> dict[str, Any]:
    """A media row's data with its file found: a relative path in the evaluated file's folder,
    then the media root; with ``media_roots`` (the server) only inside those folders."""
    given = str(data.get("path") or "")
    if media_roots is None:
        found = find_media(Path(given), roots, confined=False)
    else:
        found = find_media(Path(given), [*roots, *media_roots])
    if found is None:
        where = "" if media_roots is None else " in the folders this server may read"
        raise InvalidInput(
            f"media file not found{where}: {given}", file=str(path), line=line, field="path"
        )
    return {**data, "path": str(found)}


def rank_backbones(
    ws: WorkspaceContext, name: str, *, seed: int = 0, progress: Progress | None = None
) -> BackboneRanking:
    """Cross-validated accuracy, macro-F1 and encode speed of every installed backbone
    (``progress`` hears one embedding stage per backbone).

    Uses up to 2,000 of the project's human labels; the recommendation is the most accurate
    backbone, preferring a faster one when it is within one standard error.
    """
    from labelloop.backbones import get_encoder, installed_backbones
    from labelloop.learn import TrainingArgs, classification_metrics, out_of_fold_pred_probs

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        labelled = training_labels(session, project, schema, ws.media_root)
    if schema.multi_label:
        raise InvalidInput("backbone ranking supports single-label projects", field="project")
    n = len(labelled.labels)
    if n < 10 or len(np.unique(labelled.labels)) < 2:
        raise InvalidInput(
            f"ranking needs at least 10 labels over 2 classes; the project has {n}",
            field="labels",
        )
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(n)[:RANK_SAMPLE])
    inputs = [labelled.inputs[i] for i in keep]
    hashes = [labelled.hashes[i] for i in keep]
    y = labelled.labels[keep]
    scores: list[BackboneScore] = []
    for info in installed_backbones():
        if info.modality != task_for(schema).tags.modality or info.name == "fake":
            continue
        try:
            x = embed(
                ws,
                info.name,
                inputs,
                hashes,
                progress=progress,
                stage_name=f"embedding with {info.name}",
            )
            sample = inputs[:SPEED_SAMPLE]
            start = time.perf_counter()
            get_encoder(info.name).encode(sample)
            speed = len(sample) / max(time.perf_counter() - start, 1e-9)
            probs = out_of_fold_pred_probs(
                x, y, n_labels=schema.n_labels, args=TrainingArgs(C=10.0)
            )
            m = classification_metrics(y, probs, label_names=list(schema.labels))
            scores.append(
                BackboneScore(
                    backbone=info.name, accuracy=m.accuracy, macro_f1=m.macro_f1,
                    texts_per_second=round(speed, 1), dim=info.dim,
                )
            )  # fmt: skip
        except LabelloopError as exc:
            scores.append(
                BackboneScore(
                    backbone=info.name, accuracy=None, macro_f1=None, texts_per_second=0.0,
                    dim=info.dim, error=str(exc),
                )
            )  # fmt: skip
    ranked = [s for s in scores if s.accuracy is not None]
    if not ranked:
        return BackboneRanking(
            project=name,
            n_labels=n,
            recommended=None,
            reason="no installed backbone could be scored",
            backbones=scores,
        )
    best = max(ranked, key=lambda s: s.accuracy or 0.0)
    se = float(np.sqrt(max(best.accuracy or 0, 1e-9) * (1 - (best.accuracy or 0)) / len(y)))
    close = [s for s in ranked if (best.accuracy or 0) - (s.accuracy or 0) <= se]
    pick = max(close, key=lambda s: s.texts_per_second)
    reason = (
        f"{pick.backbone} has the best cross-validated accuracy"
        if pick is best
        else f"{pick.backbone} is within one standard error ({se:.3f}) of {best.backbone} "
        "and faster"
    )
    scores.sort(key=lambda s: -(s.accuracy or -1))
    return BackboneRanking(
        project=name, n_labels=n, recommended=pick.backbone, reason=reason, backbones=scores
    )
