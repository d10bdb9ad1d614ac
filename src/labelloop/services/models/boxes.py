"""Train and predict for image-boxes projects: a pre-trained detector first, then a box model.

Before any label the champion is MediaPipe's SSD detector (:func:`labelloop.learn.boxes.
load_detector`), its classes mapped onto the project's labels by name and by the project's
``type_map`` (``{"Footwear": "shoe"}``; :func:`labelloop.learn.boxes.map_detector_labels`).

Each retrain with at least :data:`MIN_IMAGES` labelled images compares two candidates by
:data:`FOLDS`-fold cross-validation on them: the mapped detector as is, and a box model
(:class:`labelloop.learn.boxes.BoxModel`: frozen pre-trained features, cached by content hash
under ``artifacts/box-features``, with a small head trained on the project's boxes). The one with
the higher out-of-fold mAP@0.5 (pycocotools) is kept; a box model is then refitted on every
labelled image. The new version replaces the champion only when its out-of-fold mAP@0.5 on the
images the champion never trained on is higher than the champion's own on them.

Suggestions store the boxes scoring at least :data:`SUGGEST_SCORE` as ``value`` (each with its
``score``), their scores as ``pred_probs``, and as ``confidence`` the chance that every candidate
decision is right (:func:`labelloop.active.boxes.box_confidence`, over the candidates scoring at
least :data:`CANDIDATE_SCORE`); the queue's priority is the image's box uncertainty.
"""

from __future__ import annotations

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
from labelloop.tasks.boxes import image_path

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "BOX_STRATEGIES",
    "CANDIDATE_SCORE",
    "DETECTOR",
    "FOLDS",
    "MIN_IMAGES",
    "SUGGEST_SCORE",
    "BoxPredictor",
    "answers_boxes",
    "auto_accept_evidence",
    "box_learning",
    "load_predictor",
    "out_of_fold",
    "predict",
    "suggested",
    "train",
]

#: The pre-trained detector of every box project.
DETECTOR = "mediapipe-ssd"
#: Queue strategies a box project can run (after the task's mapping of the strategy setting).
BOX_STRATEGIES = ("box_uncertainty", "random")
#: Candidate boxes: what a model proposes at all (uncertainty and confidence read these).
CANDIDATE_SCORE = 0.05
#: Suggested boxes: the candidates a suggestion holds.
SUGGEST_SCORE = 0.5
#: Cross-validation folds when choosing between the detector and a box model.
FOLDS = 3
#: Fewer labelled images than this train no box model (too few to cross-validate it).
MIN_IMAGES = 4
#: Images loaded and predicted at once.
_BATCH = 32
_META = "box_model.json"
_MODEL = "model"
#: Out-of-fold candidates kept with a model: per training answer, the scored boxes that the
#: fold model that never saw it proposed (label issues and auto-accept read them).
_OUT_OF_FOLD = "oof_boxes.json"


def box_learning() -> Any:
    """The box learning module (:mod:`labelloop.learn.boxes`); tests replace it with fakes."""
    import labelloop.learn.boxes as boxes

    return boxes


def answers_boxes(ws: WorkspaceContext, name: str) -> bool:
    """Whether the project's answers are boxes (learnt by box models, not embedding heads)."""
    with ws.transaction() as session:
        schema = label_schema(repo.get_project(session, name))
    return task_for(schema).tags.answer is AnswerShape.BOXES


def suggested(candidates: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The candidates a suggestion holds: those scoring at least :data:`SUGGEST_SCORE`."""
    return [dict(b) for b in candidates if float(b.get("score", 1.0)) >= SUGGEST_SCORE]


class BoxPredictor:
    """A model version's boxes: the mapped detector or a trained box model.

    Attributes:
        kind: ``"detector"`` or ``"model"``.
        mapping: detector class -> project label (detector only).
    """

    def __init__(self, kind: str, model: Any, mapping: dict[str, str] | None = None) -> None:
        self.kind = kind
        self.model = model
        self.mapping = dict(mapping or {})

    def predict(
        self, images: Sequence[np.ndarray], *, keys: Sequence[str], cache_dir: Path
    ) -> list[list[dict[str, Any]]]:
        """Candidate boxes (score >= :data:`CANDIDATE_SCORE`) per image, in project labels."""
        if self.kind == "detector":
            found = self.model.detect(list(images), min_score=CANDIDATE_SCORE)
            return [
                [
                    {**b, "label": self.mapping[b["label"]]}
                    for b in image
                    if b["label"] in self.mapping
                ]
                for image in found
            ]
        return list(
            self.model.predict(
                list(images), keys=list(keys), cache_dir=cache_dir, min_score=CANDIDATE_SCORE
            )
        )

    def save(self, folder: Path) -> None:
        meta = {"kind": self.kind, "detector": DETECTOR, "mapping": self.mapping}
        (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
        if self.kind == "model":
            self.model.save(folder / _MODEL)


def detector_predictor(schema: LabelSchema) -> BoxPredictor:
    """The pre-trained detector with its classes mapped onto the schema's labels."""
    learn = box_learning()
    detector = learn.load_detector(DETECTOR)
    mapping = learn.map_detector_labels(detector.classes, schema.labels, dict(schema.type_map))
    return BoxPredictor("detector", detector, mapping)


def load_predictor(folder: Path, schema: LabelSchema) -> BoxPredictor:
    """The box predictor a model version saved in ``folder``.

    Raises:
        NotFound: ``folder`` holds no box model.
    """
    meta_path = folder / _META
    if not meta_path.is_file():
        raise NotFound(f"no box model in {folder}")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    if meta["kind"] == "model":
        return BoxPredictor("model", box_learning().BoxModel.load(folder / _MODEL))
    learn = box_learning()
    return BoxPredictor("detector", learn.load_detector(meta["detector"]), meta["mapping"])


@dataclass(frozen=True)
class _Labelled:
    annotation_ids: list[int]
    keys: list[str]
    paths: list[Path]
    boxes: list[list[dict[str, Any]]]


def _labelled(rows: Sequence[Any], media_root: Path) -> _Labelled:
    return _Labelled(
        [int(r.id) for r in rows],
        [str(r.content_hash) for r in rows],
        [image_path(r.data, media_root=media_root) for r in rows],
        [[{k: b[k] for k in ("x", "y", "w", "h", "label")} for b in r.value] for r in rows],
    )


def _images(paths: Sequence[Path]) -> list[np.ndarray]:
    from labelloop.backbones.images import load_rgb

    return [load_rgb(p) for p in paths]


def _feature_cache(ws: WorkspaceContext) -> Path:
    return ws.artifacts.root / "box-features"


def _map(gold: Sequence[Any], predicted: Sequence[Any], schema: LabelSchema) -> float:
    result = box_learning().mean_average_precision(gold, predicted, list(schema.labels), iou=0.5)
    return float(result["map"])


def _folds(n: int, seed: int) -> list[np.ndarray]:
    from sklearn.model_selection import KFold

    splitter = KFold(n_splits=min(FOLDS, n), shuffle=True, random_state=seed)
    return [test for _, test in splitter.split(np.zeros(n))]


def _fit(images: Sequence[np.ndarray], labelled: _Labelled, rows: np.ndarray, **kw: Any) -> Any:
    return box_learning().BoxModel.fit(
        [images[i] for i in rows],
        [labelled.boxes[i] for i in rows],
        keys=[labelled.keys[i] for i in rows],
        **kw,
    )


def _cross_validate(
    ws: WorkspaceContext,
    schema: LabelSchema,
    images: list[np.ndarray],
    labelled: _Labelled,
    detector: BoxPredictor,
    seed: int,
    progress: Progress | None,
) -> tuple[list[list[dict[str, Any]]], list[list[dict[str, Any]]]]:
    """Out-of-fold candidates of a box model and the detector's candidates, per image."""
    cache = _feature_cache(ws)
    n = len(images)
    folds = _folds(n, seed)
    advance = stage(progress, "cross-validating the box model", len(folds), unit="folds")
    oof: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for test in folds:
        train_rows = np.setdiff1d(np.arange(n), test)
        model = _fit(images, labelled, train_rows, labels=schema.labels, seed=seed, cache_dir=cache)
        found = model.predict(
            [images[i] for i in test],
            keys=[labelled.keys[i] for i in test],
            cache_dir=cache,
            min_score=CANDIDATE_SCORE,
        )
        for i, boxes in zip(test, found, strict=True):
            oof[int(i)] = list(boxes)
        if advance is not None:
            advance(1)
    detected = detector.predict(images, keys=labelled.keys, cache_dir=cache)
    return oof, detected


def train(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> TrainResult:
    """Train a new box model version on the project's boxes (the mapped detector if none).

    Raises:
        InvalidInput: No labels while the champion is a trained box model; a bad type map.
        MissingDependency: The detector's model file is not installed.
    """
    start = time.perf_counter()
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        labelled = _labelled(repo.training_label_rows(session, project.id), ws.media_root)
        champion = repo.champion(session, project.id)
        champion_info = (
            (champion.artifact, set(champion.label_ids or []), champion.kind) if champion else None
        )
        project_id, seed = project.id, int(project_settings(project)["seed"])
    detector = detector_predictor(schema)
    n = len(labelled.annotation_ids)
    if n == 0 and champion_info is not None and champion_info[2] != ModelKind.PRETRAINED:
        raise InvalidInput(
            "the project has no labels to train on, and its champion is a trained box model; "
            "label some images first",
            field="labels",
        )
    if n < MIN_IMAGES:
        why = "no labels yet" if n == 0 else f"{n} labelled images are too few for a box model"
        decision = (champion_info is None, f"{why}: suggestions from the pre-trained detector")
        if champion_info is not None:
            decision = (False, f"kept the champion: {why}")
        return _record(ws, project_id, detector, [], {"n_images": n}, start, decision)
    images = _images(labelled.paths)
    oof, detected = _cross_validate(ws, schema, images, labelled, detector, seed, progress)
    scores = {
        "box-model": _map(labelled.boxes, oof, schema),
        DETECTOR: _map(labelled.boxes, detected, schema),
    }
    chosen = "box-model" if scores["box-model"] > scores[DETECTOR] else DETECTOR
    predictor, evidence = detector, detected
    if chosen == "box-model":
        stage(progress, "fitting the box model", None)
        every = np.arange(n)
        model = _fit(
            images, labelled, every, labels=schema.labels, seed=seed, cache_dir=_feature_cache(ws)
        )
        predictor, evidence = BoxPredictor("model", model), oof
    decision = _decide(ws, schema, champion_info, images, labelled, evidence)
    metrics = {
        "map50": scores[chosen],
        "candidate": chosen,
        "candidates": {k: {"map50": v} for k, v in scores.items()},
        "n_images": n,
    }
    kept = {"annotation_ids": labelled.annotation_ids, "candidates": evidence}
    return _record(
        ws, project_id, predictor, labelled.annotation_ids, metrics, start, decision, kept
    )


def _decide(
    ws: WorkspaceContext,
    schema: LabelSchema,
    champion: tuple[str | None, set[int], str] | None,
    images: list[np.ndarray],
    labelled: _Labelled,
    evidence: list[list[dict[str, Any]]],
) -> tuple[bool, str]:
    """Promote when the challenger's out-of-fold mAP@0.5 beats the champion's on the images the
    champion never trained on."""
    if champion is None or champion[0] is None:
        return True, "first model of the project"
    rows = [i for i, a in enumerate(labelled.annotation_ids) if a not in champion[1]]
    if not rows:
        return True, "promoted: no new labels to compare on"
    old = load_predictor(ws.path / champion[0], schema).predict(
        [images[i] for i in rows],
        keys=[labelled.keys[i] for i in rows],
        cache_dir=_feature_cache(ws),
    )
    gold = [labelled.boxes[i] for i in rows]
    before, after = _map(gold, old, schema), _map(gold, [evidence[i] for i in rows], schema)
    verdict = f"mAP@0.5 {after:.3f} vs the champion's {before:.3f} on {len(rows)} new images"
    if after > before:
        return True, f"promoted: {verdict}"
    return False, f"kept the champion: {verdict}"


def _record(
    ws: WorkspaceContext,
    project_id: int,
    predictor: BoxPredictor,
    label_ids: list[int],
    metrics: dict[str, Any],
    start: float,
    decision: tuple[bool, str],
    evidence: dict[str, Any] | None = None,
) -> TrainResult:
    def write(folder: Path) -> None:
        predictor.save(folder)
        if evidence is not None:
            (folder / _OUT_OF_FOLD).write_text(json.dumps(evidence), encoding="utf-8")

    kind = ModelKind.FINETUNED if predictor.kind == "model" else ModelKind.PRETRAINED
    with ws.transaction() as session:
        version = (queries.latest_number(session, project_id) or 0) + 1
        folder = ws.artifacts.model_dir(project_id, version)
        ws.artifacts.write_dir_atomically(folder, write)
        row = ModelVersion(
            project_id=project_id,
            version=version,
            status=ModelStatus.CHALLENGER,
            kind=kind,
            backbone=DETECTOR,
            head="box-model" if predictor.kind == "model" else DETECTOR,
            params={"mapping": predictor.mapping, "suggest_score": SUGGEST_SCORE},
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
            metrics={"map50": metrics.get("map50")},
            n_labels=len(label_ids),
        )


def _priority(
    candidates: Sequence[Sequence[dict[str, Any]]], strategy: str, seed: int
) -> np.ndarray:
    from labelloop.active.boxes import box_uncertainty

    draw = np.random.default_rng(seed).random(len(candidates))
    if strategy == "random":
        return draw
    scores = [[float(b["score"]) for b in image] for image in candidates]
    # ties (images without candidates) in a seeded random order, below every real difference
    return box_uncertainty(scores) * (1.0 - 1e-6) + 1e-6 * draw


def predict(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> PredictResult:
    """Refresh every unlabelled image's suggested boxes from the champion and re-rank."""
    from labelloop.active.boxes import box_confidence

    run = champion_run(
        ws, name, strategies=BOX_STRATEGIES, what="boxes",
        choices="margin, least_confidence, entropy (all: box_uncertainty) or random",
    )  # fmt: skip
    rows, version = run.rows, run.version
    predictor = load_predictor(ws.path / run.artifact, run.schema)
    advance = stage(progress, "predicting", len(rows), unit="images")
    candidates: list[list[dict[str, Any]]] = []
    for start in range(0, len(rows), _BATCH):
        chunk = rows[start : start + _BATCH]
        images = _images([image_path(r.data, media_root=ws.media_root) for r in chunk])
        keys = [str(r.content_hash) for r in chunk]
        candidates.extend(predictor.predict(images, keys=keys, cache_dir=_feature_cache(ws)))
        if advance is not None:
            advance(len(chunk))
    priority = _priority(candidates, run.strategy, run.seed)
    now = utcnow()
    suggestion_rows = []
    for i, (row, found) in enumerate(zip(rows, candidates, strict=True)):
        value = [_rounded(b) for b in suggested(found)]
        suggestion_rows.append(
            {
                "project_id": run.project_id,
                "item_id": int(row.id),
                "model_version_id": run.champion_id,
                "value": value,
                "pred_probs": [b["score"] for b in value],
                "confidence": box_confidence([float(b["score"]) for b in found]),
                "priority": float(priority[i]),
                "created_at": now,
            }
        )
    write_suggestion_rows(ws, run.project_id, suggestion_rows)
    return PredictResult(
        model_version=version, kind=run.kind, items=len(rows), embedded=0, strategy=run.strategy
    )


def _rounded(box: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: round(float(box[k]), 2) for k in ("x", "y", "w", "h")}
    out["label"] = str(box["label"])
    out["score"] = round(float(box["score"]), 5)
    return out


@dataclass(frozen=True)
class OutOfFold:
    """Held-out candidates of the champion for the current human box answers.

    Attributes:
        annotation_ids: the answers, in item order.
        gold: their boxes.
        candidates: per answer, the scored boxes of a model that never trained on that image
            (the fold model's, kept with the champion, or the champion's own).
        keys: the images' content hashes.
        paths: the images' files.
        version: the champion's version number.
        version_id: its database id.
    """

    annotation_ids: list[int]
    gold: list[list[dict[str, Any]]]
    candidates: list[list[dict[str, Any]]]
    keys: list[str]
    paths: list[Path]
    version: int
    version_id: int


def out_of_fold(ws: WorkspaceContext, name: str) -> OutOfFold:
    """The champion's held-out candidates for every current human box answer.

    An image the champion trained on contributes the out-of-fold candidates kept with it; any
    other image, the champion's own prediction (it never saw that image's boxes). The detector
    trained on none, so its predictions are held out everywhere.

    Raises:
        NotFound: the project has no champion.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no model yet: run train first")
        labelled = _labelled(repo.training_label_rows(session, project.id), ws.media_root)
        version, version_id, artifact = champion.version, champion.id, champion.artifact
    folder = ws.path / artifact
    kept: dict[int, list[dict[str, Any]]] = {}
    if (folder / _OUT_OF_FOLD).is_file():
        stored = json.loads((folder / _OUT_OF_FOLD).read_text(encoding="utf-8"))
        kept = dict(zip(map(int, stored["annotation_ids"]), stored["candidates"], strict=True))
    fresh = [i for i, a in enumerate(labelled.annotation_ids) if a not in kept]
    predicted: dict[int, list[dict[str, Any]]] = {}
    if fresh:
        predictor = load_predictor(folder, schema)
        for start in range(0, len(fresh), _BATCH):
            chunk = fresh[start : start + _BATCH]
            found = predictor.predict(
                _images([labelled.paths[i] for i in chunk]),
                keys=[labelled.keys[i] for i in chunk],
                cache_dir=_feature_cache(ws),
            )
            predicted.update(zip(chunk, found, strict=True))
    candidates = [
        kept[a] if a in kept else predicted[i] for i, a in enumerate(labelled.annotation_ids)
    ]
    return OutOfFold(
        labelled.annotation_ids,
        labelled.boxes,
        candidates,
        labelled.keys,
        labelled.paths,
        version,
        version_id,
    )


def auto_accept_evidence(
    ws: WorkspaceContext, name: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Held-out image-level evidence for the champion: ``(confidences, correct, version,
    version_id)``, one entry per current human box answer.

    ``confidence`` is :func:`labelloop.active.boxes.box_confidence` of the held-out candidates;
    ``correct`` holds when the suggestion they make (the boxes scoring at least
    :data:`SUGGEST_SCORE`) matches the human boxes: every box matched one to one at IoU >= 0.5
    with the same label, and no extra box (:func:`labelloop.quality.box_agreement.boxes_match`).

    Raises:
        NotFound: the project has no champion.
    """
    from labelloop.active.boxes import box_confidence
    from labelloop.quality.box_agreement import boxes_match, check_boxes

    held = out_of_fold(ws, name)
    confidences = np.array(
        [box_confidence([float(b["score"]) for b in c]) for c in held.candidates], dtype=np.float64
    )
    correct = np.array(
        [
            boxes_match(check_boxes(suggested(c)), check_boxes(g))
            for c, g in zip(held.candidates, held.gold, strict=True)
        ],
        dtype=bool,
    )
    return confidences, correct, held.version, held.version_id
