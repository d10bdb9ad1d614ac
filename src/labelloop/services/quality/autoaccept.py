"""Auto-accept the champion's confident suggestions with a precision guarantee, and audit them.

How a run decides (see docs/auto-accept.md):

1. **Evidence.** The human labels (sources ``human`` and ``model_accepted``) get out-of-fold
   logits from the champion's configuration (same head, ``C`` and folds), calibrated by the
   champion's own calibrator, so their confidences are on the scale of the stored suggestions. For
   each label: ``confidence`` = top-class probability, ``correct`` = top class equals the label.
2. **Threshold.** :func:`labelloop.quality.autoaccept.choose_threshold` (Learn-then-Test,
   fixed-sequence Clopper-Pearson) picks the lowest threshold whose precision is at least the
   target with the stated confidence, testing only thresholds reached by at least
   :func:`~labelloop.quality.autoaccept.certifiable_size` evidence items; too little evidence
   refuses.
3. **Accept.** Every unlabelled item whose current suggestion (from the champion) has confidence
   >= threshold gets an annotation with source ``auto``, annotator ``auto-accept``, the
   champion's model version, the suggestion's confidence and the threshold (the evidence an
   export carries), all in one transaction.

Audit: a deterministic pseudo-random share (``audit_rate``, default 5%, at least
:data:`MIN_AUDIT` items) of the auto-accepted items is drawn by a hash of (project id, item id);
:func:`audit_report` scores later human answers on them, and pauses auto-accept when the audit's
upper confidence bound is below the target.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, Field

from labelloop.errors import Conflict, InvalidInput, NotFound
from labelloop.services.models import boxes, spans
from labelloop.services.projects import label_schema, project_settings
from labelloop.store import (
    HUMAN_SOURCES,
    ModelKind,
    Project,
    Source,
    repo,
    utcnow,
)
from labelloop.store.db import in_chunks
from labelloop.store.queries import quality as queries
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.schema import LabelSchema
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "AUTO_ANNOTATOR",
    "MIN_AUDIT",
    "AuditReport",
    "AutoAcceptRefused",
    "AutoAcceptResult",
    "audit_report",
    "audit_review_source",
    "audit_sample",
    "auto_accept",
    "auto_accept_evidence",
]

logger = logging.getLogger(__name__)

AUTO_ANNOTATOR = "auto-accept"
MIN_AUDIT = 5  # the audit sample holds at least this many items (or all of them, if fewer)
DEFAULT_AUDIT_RATE = 0.05
DEFAULT_TARGET = 0.98
_HUMAN = HUMAN_SOURCES


class AutoAcceptRefused(Conflict):
    """Auto-accept declined to run (no champion, zero-shot champion, too little evidence, paused).

    Nothing was written. ``reason`` says why, in words. HTTP 409 like any conflict; the CLI exits
    with its own code, 9, so a script can tell a refusal from a name clash (4).
    """

    exit_code = 9

    def __init__(self, reason: str) -> None:
        super().__init__(f"auto-accept refused: {reason}")
        self.reason = reason


class AutoAcceptResult(BaseModel):
    """What :func:`auto_accept` decided and did."""

    project: str
    threshold: float = Field(description="suggestions with confidence >= this were accepted")
    n_accepted: int = Field(description="unlabelled items accepted (would be, with dry_run)")
    coverage: float = Field(description="share of the unlabelled items with a suggestion accepted")
    estimated_precision: float = Field(description="precision of the evidence above threshold")
    precision_lower_bound: float = Field(description="its one-sided lower bound at `confidence`")
    n_evidence: int = Field(description="out-of-fold human labels the threshold was chosen on")
    n_evidence_accepted: int = Field(description="evidence items at or above the threshold")
    target_precision: float
    confidence: float
    model_version: int
    n_unlabelled: int
    n_audit: int = Field(description="accepted items drawn into the audit sample")
    dry_run: bool


class AuditReport(BaseModel):
    """Precision of auto-accepted labels as measured by later human answers on the audit sample."""

    project: str
    n_auto: int = Field(description="items that were ever auto-accepted")
    n_sampled: int = Field(description="of those, items in the audit sample")
    n_audited: int = Field(description="sampled items a human answered after the auto label")
    n_correct: int
    precision: float | None
    lower: float | None = Field(description="two-sided Clopper-Pearson bound at `confidence`")
    upper: float | None
    confidence: float
    target_precision: float
    paused: bool = Field(description="auto-accept is paused (now or before)")
    paused_now: bool = Field(description="this report paused it: upper bound below the target")


def _audit_rate(project: Project) -> float:
    return float(project_settings(project).get("audit_rate", DEFAULT_AUDIT_RATE))


def _is_paused(project: Project) -> bool:
    value = project_settings(project).get("auto_accept_paused", False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _unit_hash(project_id: int, item_id: int) -> float:
    """A fixed pseudo-random number in [0, 1) per (project, item): the audit draw."""
    digest = hashlib.sha256(f"labelloop-audit:{project_id}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _sample(project_id: int, item_ids: list[int], rate: float) -> list[int]:
    """Items with hash below ``rate``, topped up to :data:`MIN_AUDIT` by the smallest hashes."""
    scored = sorted((_unit_hash(project_id, i), i) for i in set(item_ids))
    chosen = [i for u, i in scored if u < rate]
    if len(chosen) < MIN_AUDIT:
        chosen = [i for _, i in scored[:MIN_AUDIT]]
    return sorted(chosen)


def auto_accept_evidence(
    ws: WorkspaceContext, name: str
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Held-out evidence for the champion: ``(confidences, correct, version, version_id)``.

    One entry per current human label. A label the champion trained on contributes its
    out-of-fold prediction, stored with the model at training time (the head that made it never
    saw that label, and it had every other training step the champion had: C, smoothing,
    self-training, calibration). A label that arrived after the champion was trained contributes
    the champion's own prediction, which never saw it either. ``confidences`` are calibrated
    top-class probabilities; ``correct`` says whether the top class equals the human label.

    A span project's evidence is per sentence (:func:`labelloop.services.models.spans.
    auto_accept_evidence`): its pre-trained recogniser never trained on the labels, so, unlike
    a zero-shot classifier, it can be auto-accepted from the first labels on. A box project's
    is per image (:func:`labelloop.services.models.boxes.auto_accept_evidence`), out-of-fold
    as well.

    Raises:
        AutoAcceptRefused: no champion, a zero-shot champion, or a multi-label project.
    """
    from labelloop.learn.crossval import can_cross_validate, out_of_fold_logits
    from labelloop.services.models.embeddings import embed
    from labelloop.services.models.loading import load_model
    from labelloop.services.models.training import training_labels

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        if schema.multi_label:
            raise AutoAcceptRefused("only single-label projects can be auto-accepted")
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise AutoAcceptRefused(f"project {name!r} has no trained model yet: run train first")
        is_spans = task_for(schema).tags.answer is AnswerShape.SPANS
        is_boxes = task_for(schema).tags.answer is AnswerShape.BOXES
        is_predictor = champion.kind == ModelKind.PREDICTOR
    if is_predictor:  # a team's own model: the evidence it gave before training on each label
        from labelloop.services.models import predictors

        return predictors.auto_accept_evidence(ws, name)
    if is_spans:  # sentence level: a sentence is right only if its span set is exactly right
        return spans.auto_accept_evidence(ws, name)
    if is_boxes:  # image level: right only if every box matches at IoU >= 0.5, none extra
        return boxes.auto_accept_evidence(ws, name)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise AutoAcceptRefused(f"project {name!r} has no trained model yet: run train first")
        if champion.kind == ModelKind.FINETUNED:
            raise AutoAcceptRefused(
                f"the champion (version {champion.version}) has a backbone fine-tuned on the same "
                "labels that would be the evidence, so its out-of-fold predictions are not held "
                "out; set finetune=false and train a head to auto-accept"
            )
        if champion.kind != ModelKind.HEAD:
            raise AutoAcceptRefused(
                f"the champion (version {champion.version}) is {champion.kind}: train a model on "
                "human labels first"
            )
        labelled = training_labels(session, project, schema, ws.media_root)
        version, version_id = champion.version, champion.id
        artifact, backbone = champion.artifact, champion.backbone
        trained_on = {a: row for row, a in enumerate(champion.label_ids or [])}
    model = load_model(ws.path / artifact).model
    labels = labelled.labels
    if len(labels) == 0 or not can_cross_validate(labels):
        return np.zeros(0), np.zeros(0, dtype=bool), version, version_id
    if model.oof_confidence is not None and model.oof_predictions is not None:
        rows = np.array([trained_on.get(a, -1) for a in labelled.annotation_ids], dtype=np.int64)
        seen = rows >= 0
        confidences = np.zeros(len(labels), dtype=np.float64)
        predicted = np.zeros(len(labels), dtype=np.int64)
        confidences[seen] = model.oof_confidence[rows[seen]]
        predicted[seen] = model.oof_predictions[rows[seen]]
        fresh = np.flatnonzero(~seen)
        if len(fresh):
            probs = model.predict_proba(
                embed(
                    ws,
                    backbone,
                    [labelled.inputs[i] for i in fresh],
                    [labelled.hashes[i] for i in fresh],
                )
            )
            confidences[fresh] = probs.max(axis=1)
            predicted[fresh] = probs.argmax(axis=1)
        return confidences, predicted == labels, version, version_id
    # a model saved before out-of-fold confidences were stored: recompute them
    embeddings = embed(ws, backbone, labelled.inputs, labelled.hashes)
    logits = out_of_fold_logits(
        embeddings, labels, n_labels=schema.n_labels, args=model.args, C=model.C
    )
    calibrator = model.calibrator
    pred_probs = calibrator.predict_proba(logits) if calibrator is not None else logits
    pred_probs = np.asarray(pred_probs, dtype=np.float64)
    return pred_probs.max(axis=1), pred_probs.argmax(axis=1) == labels, version, version_id


def _unlabelled_suggestions(
    session: Session, project_id: int, version_id: int
) -> list[tuple[int, list[str], float]]:
    rows = queries.unlabelled_suggestions(session, project_id, version_id)
    return [(r.item_id, list(r.value), float(r.confidence)) for r in rows]


def auto_accept(
    ws: WorkspaceContext,
    name: str,
    *,
    target_precision: float = DEFAULT_TARGET,
    confidence: float = 0.95,
    dry_run: bool = False,
    min_evidence: int = 50,
) -> AutoAcceptResult:
    """Accept every suggestion confident enough to meet ``target_precision`` with ``confidence``.

    One transaction: either every accepted item gets its ``auto`` annotation or none does.
    With ``dry_run`` nothing is written and the result says what would be accepted.

    Raises:
        AutoAcceptRefused: no champion, a zero-shot champion, auto-accept paused by an audit,
            or too little evidence for the guarantee (nothing is written).
        InvalidInput: target or confidence outside (0, 1).
    """
    from labelloop.quality.autoaccept import choose_threshold

    for field, value in (("target_precision", target_precision), ("confidence", confidence)):
        if not 0.0 < float(value) < 1.0:
            raise InvalidInput(f"{field} must lie in (0, 1), got {value}", field=field)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        if _is_paused(project):
            raise AutoAcceptRefused(
                f"auto-accept is paused for project {name!r}: an audit found precision below the "
                f"target; review the audit, then resume with "
                f"`labelloop project set {name} auto_accept_paused=false`"
            )
    confidences, correct, version, version_id = auto_accept_evidence(ws, name)
    decision = choose_threshold(
        confidences,
        correct,
        target_precision=float(target_precision),
        confidence=float(confidence),
        min_evidence=min_evidence,
    )
    if decision.threshold is None:
        raise AutoAcceptRefused(decision.reason or "too little evidence")
    threshold = float(decision.threshold)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        champion = repo.champion(session, project.id)
        if champion is None or champion.id != version_id:
            raise AutoAcceptRefused("the champion changed while choosing the threshold; run again")
        if _is_paused(project):
            raise AutoAcceptRefused(f"auto-accept is paused for project {name!r}")
        candidates = _unlabelled_suggestions(session, project.id, version_id)
        accepted = [(i, v, c) for i, v, c in candidates if c >= threshold]
        audited = set(_sample(project.id, [i for i, _, _ in accepted], _audit_rate(project)))
        if not dry_run and accepted:
            _write_auto(session, project.id, version_id, accepted, threshold)
            # the project's settings remember the target the audit is held to
            project.settings = {**(project.settings or {}), "auto_accept_target": target_precision}
    n_unlabelled = len(candidates)
    logger.info("auto-accept %s: threshold %.3f, %d accepted", name, threshold, len(accepted))
    return AutoAcceptResult(
        project=name,
        threshold=threshold,
        n_accepted=len(accepted),
        coverage=len(accepted) / n_unlabelled if n_unlabelled else 0.0,
        estimated_precision=float(decision.estimated_precision or 0.0),
        precision_lower_bound=float(decision.precision_lower_bound or 0.0),
        n_evidence=decision.n_evidence,
        n_evidence_accepted=decision.n_accepted,
        target_precision=float(target_precision),
        confidence=float(confidence),
        model_version=version,
        n_unlabelled=n_unlabelled,
        n_audit=len(audited),
        dry_run=dry_run,
    )


def _write_auto(
    session: Session,
    project_id: int,
    version_id: int,
    accepted: list[tuple[int, list[str], float]],
    threshold: float,
) -> None:
    """Bulk form of ``repo.add_annotation`` for many unlabelled items (flips retractions).

    ``accepted`` holds (item id, value, confidence): each label keeps its suggestion's
    confidence and the threshold it met, since the suggestion itself is deleted."""
    now = utcnow()
    for chunk in in_chunks(accepted):
        ids = [i for i, _, _ in chunk]
        queries.retire_current(session, ids)
        queries.insert_auto_annotations(
            session,
            project_id,
            version_id,
            chunk,
            annotator=AUTO_ANNOTATOR,
            threshold=threshold,
            now=now,
        )
        # labelled items keep no suggestion (as after predict)
        queries.delete_suggestions(session, ids)


def _auto_items(session: Session, project_id: int) -> list[int]:
    return queries.auto_item_ids(session, project_id)


def audit_sample(ws: WorkspaceContext, name: str) -> list[int]:
    """Ids of the auto-accepted items drawn for audit (sorted; the same on every call).

    An item is drawn when a hash of (project id, item id) falls below the project's
    ``audit_rate``; when that gives fewer than :data:`MIN_AUDIT`, the items with the smallest
    hashes are taken instead. Items auto-accepted later join by the same rule.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        return _sample(project.id, _auto_items(session, project.id), _audit_rate(project))


def audit_review_source(session: Session, project_id: int, limit: int) -> list[int]:
    """Review-list source: sampled items whose auto label no human has answered yet.

    Has the ``(session, project_id, limit) -> item ids`` shape of
    :data:`labelloop.services.quality.review.REVIEW_SOURCES`.
    """
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound(f"no project with id {project_id}")
    sample = _sample(project_id, _auto_items(session, project_id), _audit_rate(project))
    current = repo.current_annotations(session, project_id, sample)
    open_ = [i for i in sample if i in current and current[i].source == Source.AUTO]
    return open_[:limit]


def _audit_counts(session: Session, item_ids: list[int], schema: LabelSchema) -> tuple[int, int]:
    """(answered, correct): a human row after the item's last auto row; correct when it agrees
    with the auto label (the task's :meth:`~labelloop.tasks.Task.agree`)."""
    task = task_for(schema)
    history = queries.annotation_histories(session, item_ids)
    answered = correct = 0
    for rows in history.values():
        autos = [k for k, a in enumerate(rows) if a.source == Source.AUTO and a.value is not None]
        if not autos:
            continue
        auto = rows[autos[-1]]
        later = [a for a in rows[autos[-1] + 1 :] if a.source in _HUMAN and a.value is not None]
        if later:
            answered += 1
            correct += int(task.agree(schema, later[0].value, auto.value))
    return answered, correct


def audit_report(
    ws: WorkspaceContext,
    name: str,
    *,
    target_precision: float | None = None,
    confidence: float = 0.95,
) -> AuditReport:
    """Audited precision of the auto-accepted labels, with its Clopper-Pearson interval.

    Applies the pause rule: when the interval's upper bound is below the target (the shortfall
    is not noise), the project's ``auto_accept_paused`` setting is set and :func:`auto_accept`
    refuses until a person clears it. ``target_precision`` defaults to the target of the last
    auto-accept run (0.98 if none).
    """
    from labelloop.quality.autoaccept import audit_precision, should_pause

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        settings = project_settings(project)
        target = float(
            target_precision
            if target_precision is not None
            else settings.get("auto_accept_target", DEFAULT_TARGET)
        )
        if not 0.0 < target < 1.0:
            raise InvalidInput("target_precision must lie in (0, 1)", field="target_precision")
        autos = _auto_items(session, project.id)
        sample = _sample(project.id, autos, _audit_rate(project))
        answered, correct = _audit_counts(session, sample, label_schema(project))
        audit = audit_precision(correct, answered, confidence=confidence)
        was_paused = _is_paused(project)
        pause_now = not was_paused and should_pause(audit, target)
        if pause_now:
            project.settings = {**(project.settings or {}), "auto_accept_paused": True}
            logger.warning("auto-accept paused for %s: audited precision below target", name)
        return AuditReport(
            project=name,
            n_auto=len(autos),
            n_sampled=len(sample) if autos else 0,
            n_audited=answered,
            n_correct=correct,
            precision=audit.estimate if answered else None,
            lower=audit.lower if answered else None,
            upper=audit.upper if answered else None,
            confidence=confidence,
            target_precision=target,
            paused=was_paused or pause_now,
            paused_now=pause_now,
        )
