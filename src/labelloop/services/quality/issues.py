"""Label-error detection in the loop: out-of-fold predictions of the champion, cleanlab on top.

After each training run (or lazily, the first time a report asks) the human labels of the project
are scored with out-of-fold ``pred_probs`` from the champion's backbone and head (same head, same
``C``, cached embeddings), and :func:`labelloop.quality.find_label_issues` ranks the labels that
are probably wrong. The result is cached per champion version in
``<workspace>/artifacts/qa/<project id>/label_issues-v<N>.json``, and every candidate is kept as an
open :class:`~labelloop.store.Flag` raised by the detector (``annotator`` NULL, reason starting
with ``label_issue:``), which is how the review queue finds it.

Span projects are checked token by token instead (:func:`labelloop.services.quality.spans.
detect_label_issues`); their candidates are cached and flagged the same way.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.services.models.embeddings import embed
from labelloop.services.projects import label_schema
from labelloop.services.quality import boxes, spans
from labelloop.services.quality.results import ClassErrors, LabelIssues, LabelIssueView
from labelloop.store import (
    Flag,
    ModelKind,
    repo,
    utcnow,
)
from labelloop.store.queries import quality as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "DETECTION_METHODS",
    "LABEL_ISSUE_PREFIX",
    "compute_label_issues",
    "flag_review_source",
    "is_detector_flag",
    "label_issue_review_source",
    "read_cached",
]

logger = logging.getLogger(__name__)

LABEL_ISSUE_PREFIX = "label_issue:"
DETECTION_METHODS = (
    "rank_by_count", "prune_by_noise_rate", "both", "confident_learning", "low_confidence",
)  # fmt: skip
MIN_LABELS = 10


def _cache_path(ws: WorkspaceContext, project_id: int, version: int, method: str) -> Path:
    suffix = "" if method == "rank_by_count" else f"-{method}"
    return ws.artifacts.root / "qa" / str(project_id) / f"label_issues-v{version}{suffix}.json"


def read_cached(
    ws: WorkspaceContext, project_id: int, version: int, method: str
) -> LabelIssues | None:
    path = _cache_path(ws, project_id, version, method)
    if not path.is_file():
        return None
    try:
        return LabelIssues.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError:  # a file from another version of labelloop: recompute
        return None


def _write_cached(ws: WorkspaceContext, project_id: int, result: LabelIssues) -> None:
    assert result.model_version is not None
    path = _cache_path(ws, project_id, result.model_version, result.method)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(result.model_dump_json())
    os.replace(tmp, path)


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    project_id: int
    labels: list[str]
    multi_label: bool
    version: int | None
    kind: str | None
    backbone: str
    params: dict[str, Any]
    item_ids: list[int]
    external_ids: list[str | None]
    hashes: list[str]
    inputs: list[Any]
    values: list[list[str]]
    reviewed: list[bool]


def _snapshot(session: Session, name: str, media_root: Path) -> _Snapshot:
    project = repo.get_project(session, name)
    schema = label_schema(project)
    champion = repo.champion(session, project.id)
    rows = repo.training_label_rows(session, project.id)
    return _Snapshot(
        project_id=project.id,
        labels=list(schema.labels),
        multi_label=schema.multi_label,
        version=champion.version if champion else None,
        kind=champion.kind if champion else None,
        backbone=champion.backbone if champion else project.backbone,
        params=dict(champion.params or {}) if champion else {},
        item_ids=[r.item_id for r in rows],
        external_ids=[r.external_id for r in rows],
        hashes=[r.content_hash for r in rows],
        inputs=[task_for(schema).encoder_input(r.data, media_root=media_root) for r in rows],
        values=[list(r.value) for r in rows],
        reviewed=[bool(r.reviewed) for r in rows],
    )


def _training_args(params: dict[str, Any]) -> Any:
    from labelloop.learn import TrainingArgs

    args = TrainingArgs.from_dict(params["args"]) if params.get("args") else TrainingArgs()
    if params.get("C") is not None:
        # the C the champion chose: no grid search, the same model as the one in use
        args = dataclasses.replace(args, C=float(params["C"]))
    return args


def _empty(snap: _Snapshot, method: str, note: str) -> LabelIssues:
    return LabelIssues(
        model_version=snap.version,
        method=method,
        n_labels=len(snap.item_ids),
        computed_at=utcnow(),
        note=note,
    )


def compute_label_issues(
    ws: WorkspaceContext, name: str, *, method: str = "rank_by_count"
) -> LabelIssues:
    """Detect label issues for the current champion, cache them, and sync the review flags.

    ``method`` is a :func:`labelloop.quality.find_label_issues` method or ``"low_confidence"``
    (the baseline: given label's probability below 0.5); span projects run the same rule over
    their tokens (:func:`labelloop.quality.find_span_label_issues`). Only ``rank_by_count``
    results (the default) are written as flags for the review queue.
    """
    if method not in DETECTION_METHODS:
        raise InvalidInput(
            f"unknown method {method!r}; choose from {', '.join(DETECTION_METHODS)}",
            field="method",
        )
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        project_id, span_project = project.id, spans.is_spans(schema)
        box_project = boxes.is_boxes(schema)
    if span_project:
        result = spans.detect_label_issues(ws, name, method=method)
    elif box_project:
        result = boxes.detect_label_issues(ws, name, method=method)
    else:
        result = _classification_issues(ws, name, method)
    if result.model_version is not None:
        _write_cached(ws, project_id, result)
        if method == "rank_by_count":
            with ws.transaction() as session:
                _sync_flags(session, project_id, result)
    return result


def _classification_issues(ws: WorkspaceContext, name: str, method: str) -> LabelIssues:
    with ws.transaction() as session:
        snap = _snapshot(session, name, ws.media_root)
    if snap.version is None or snap.kind != ModelKind.HEAD:
        result = _empty(snap, method, "no trained model yet: label-error detection needs one")
    elif snap.multi_label:
        result = _empty(snap, method, "label-error detection covers single-label projects")
    elif len(snap.item_ids) < MIN_LABELS or len({v[0] for v in snap.values}) < 2:
        result = _empty(snap, method, f"needs {MIN_LABELS}+ human labels in 2+ classes")
    else:
        result = _detect(ws, snap, method)
    return result


def _detect(ws: WorkspaceContext, snap: _Snapshot, method: str) -> LabelIssues:
    from labelloop.learn import out_of_fold_pred_probs
    from labelloop.quality import find_label_issues, low_confidence_issues

    index = {label: j for j, label in enumerate(snap.labels)}
    y = np.array([index[v[0]] for v in snap.values], dtype=np.int64)
    embeddings = embed(ws, snap.backbone, snap.inputs, snap.hashes)
    pred_probs = out_of_fold_pred_probs(
        embeddings, y, n_labels=len(snap.labels), args=_training_args(snap.params)
    )
    if method == "low_confidence":
        found = low_confidence_issues(y, pred_probs)
    else:
        found = find_label_issues(y, pred_probs, method=method)
    issues = [
        LabelIssueView(
            item_id=snap.item_ids[i.index],
            external_id=snap.external_ids[i.index],
            given=[snap.labels[i.given]],
            suggested=[snap.labels[i.suggested]],
            score=round(i.score, 6),
        )
        for i in found
        if not snap.reviewed[i.index]  # a reviewer's adjudication is not questioned again
    ]
    return LabelIssues(
        model_version=snap.version,
        method=method,
        n_labels=len(y),
        issues=issues,
        per_class_errors=ClassErrors.table(y, pred_probs.argmax(axis=1), snap.labels),
        computed_at=utcnow(),
    )


def is_detector_flag(flag: Flag) -> bool:
    """Whether the label-error detector raised ``flag`` (rather than a person)."""
    return flag.annotator is None and flag.reason.startswith(LABEL_ISSUE_PREFIX)


def _sync_flags(session: Session, project_id: int, result: LabelIssues) -> None:
    """Open detector flags mirror the latest detection: stale ones go, new ones come."""
    version_id = queries.version_id(session, project_id, result.model_version)
    wanted = {i.item_id: i for i in result.issues}
    existing = queries.open_detector_flags(session, project_id, prefix=LABEL_ISSUE_PREFIX)
    stale = [f.id for item_id, f in existing.items() if item_id not in wanted]
    if stale:
        queries.delete_flags(session, stale)
    for issue in result.issues:  # most suspicious first, so flag ids follow the ranking
        reason = _reason(issue)
        # what the model suggests instead: label names, or a span project's out-of-fold spans
        suggestion = issue.suggested if issue.suggested_spans is None else issue.suggested_spans
        if issue.suggested_boxes is not None:  # a box project's out-of-fold boxes
            suggestion = issue.suggested_boxes
        flag = existing.get(issue.item_id)
        if flag is None:
            session.add(
                Flag(
                    project_id=project_id,
                    item_id=issue.item_id,
                    annotator=None,
                    reason=reason,
                    suggestion=suggestion,
                    model_version_id=version_id,
                    status="open",
                    created_at=utcnow(),
                )
            )
        else:
            flag.reason, flag.suggestion, flag.model_version_id = reason, suggestion, version_id
    session.flush()


def _reason(issue: LabelIssueView) -> str:
    if issue.tokens:
        doubts = "; ".join(
            f"{t.text!r} labelled {t.given}, the model suggests {t.suggested}" for t in issue.tokens
        )
        return f"{LABEL_ISSUE_PREFIX} {doubts} (label quality {issue.score:.3f})"
    return (
        f"{LABEL_ISSUE_PREFIX} labelled {'|'.join(issue.given)}, the model suggests "
        f"{'|'.join(issue.suggested)} (label quality {issue.score:.3f})"
    )


def label_issue_review_source(session: Session, project_id: int, limit: int) -> list[int]:
    """Review source ``label_issue``: detector candidates, most suspicious first."""
    return queries.detector_flag_item_ids(session, project_id, limit, prefix=LABEL_ISSUE_PREFIX)


def flag_review_source(session: Session, project_id: int, limit: int) -> list[int]:
    """Review source ``flag``: suggestions annotators reported as wrong, oldest first."""
    rows = queries.people_flag_item_ids(session, project_id, limit * 2, prefix=LABEL_ISSUE_PREFIX)
    return list(dict.fromkeys(rows))[:limit]
