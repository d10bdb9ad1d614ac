"""Quality of image-boxes projects: agreement and gold by matched IoU, label issues by cleanlab.

- **agreement**: pairwise box F1 at IoU 0.5 (same label, one-to-one Hungarian matching) and the
  mean IoU of matched boxes, overall, per label and per pair
  (:func:`labelloop.quality.box_agreement.box_agreement`); ``percent_agreement`` is the share of
  (image, pair) comparisons whose answers match whole;
- **gold**: each annotator's box F1 against the gold boxes (``accuracy`` is whole-image: every
  gold box matched, nothing extra), pooled F1 and mean IoU, and the champion's on gold images;
- **label issues**: the champion's out-of-fold candidates (kept with it by its training, or its
  own predictions on images it never trained on) go to cleanlab's object-detection module
  (:func:`labelloop.quality.box_issues.find_box_label_issues`); flagged images become review
  candidates, cached and turned into flags by :mod:`labelloop.services.quality.issues`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from labelloop.services.projects import label_schema
from labelloop.services.quality.results import (
    AgreementSummary,
    GoldSummary,
    LabelIssues,
    LabelIssueView,
    PairKappa,
    SpanLabelGold,
    shared_ratings,
)
from labelloop.store import repo, utcnow
from labelloop.store.queries import quality as queries
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.schema import LabelSchema
    from labelloop.services.context import WorkspaceContext

__all__ = ["MIN_IMAGES", "agreement_summary", "detect_label_issues", "gold_summary", "is_boxes"]

#: Fewer labelled images than this: no label-issue detection.
MIN_IMAGES = 6

#: (item id, annotator, answer value) as the QA report reads them.
Rating = tuple[int, str, Sequence[Any]]


def is_boxes(schema: LabelSchema) -> bool:
    """Whether the project's answers are boxes."""
    return task_for(schema).tags.answer is AnswerShape.BOXES


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def agreement_summary(rows: Sequence[Rating], labels: Sequence[str]) -> AgreementSummary:
    """Pairwise box F1 and mean IoU over images that two or more annotators answered."""
    from labelloop.quality.box_agreement import box_agreement

    shared = shared_ratings(rows)
    if not shared:
        return AgreementSummary(
            kind="boxes",
            n_items=0,
            n_annotators=0,
            notes=["no image has answers from two annotators yet: raise `overlap` above 1"],
        )
    report = box_agreement(shared)
    return AgreementSummary(
        kind="boxes",
        n_items=report.n_items,
        n_annotators=report.n_annotators,
        percent_agreement=round(report.image_agreement, 4),
        per_class={label: _round(report.per_label.get(label)) for label in labels},
        pairs=[
            PairKappa(
                annotator_a=str(p.annotator_a),
                annotator_b=str(p.annotator_b),
                n_items=p.n_items,
                kappa=None,
                percent_agreement=round(p.image_agreement, 4),
                exact_f1=round(p.f1, 4),
                mean_iou=_round(p.mean_iou),
            )
            for p in report.pairs
        ],
        n_disagreements=report.n_disagreements,
        exact_f1=round(report.f1, 4),
        mean_iou=_round(report.mean_iou),
    )


def gold_summary(
    session: Session, project_id: int, rows: Sequence[Rating], base: GoldSummary
) -> GoldSummary:
    """``base`` (whole-image accuracy per annotator, by the task's box matching) with box F1 and
    mean IoU against the gold boxes added: per annotator, per label, pooled, and the
    champion's suggestions on gold images."""
    from labelloop.quality.box_agreement import box_f1

    gold = {i: list(v) for i, v in queries.gold_items(session, project_id).items()}
    on_gold = [(a, i, list(v)) for i, a, v in rows if i in gold]
    annotators = []
    for s in base.annotators:
        mine = [(i, v) for a, i, v in on_gold if a == s.annotator]
        if not mine:
            annotators.append(s)
            continue
        f1 = box_f1([v for _, v in mine], [gold[i] for i, _ in mine])
        annotators.append(
            s.model_copy(
                update={
                    "exact_f1": round(f1.f1, 4),
                    "precision": round(f1.total.precision, 4),
                    "recall": round(f1.total.recall, 4),
                }
            )
        )
    update: dict[str, Any] = {"annotators": annotators}
    if on_gold:
        pooled = box_f1([v for *_, v in on_gold], [gold[i] for _, i, _ in on_gold])
        update |= {
            "exact_f1": round(pooled.f1, 4),
            "mean_iou": _round(pooled.mean_iou),
            "per_label_f1": {
                label: SpanLabelGold(
                    exact_f1=round(m.f1, 4),
                    partial_f1=round(m.f1, 4),
                    n_gold=m.n_b,
                    n_answered=m.n_a,
                )
                for label, m in pooled.per_label.items()
            },
        }
    model_rows = queries.suggestion_values(session, project_id, list(gold))
    if model_rows:
        model = box_f1([list(v) for _, v in model_rows], [gold[i] for i, _ in model_rows])
        update |= {"model_exact_f1": round(model.f1, 4), "model_mean_iou": _round(model.mean_iou)}
    return base.model_copy(update=update)


def _describe(boxes: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        f"{b['label']} ({b['x']:.0f}, {b['y']:.0f}, {b['w']:.0f} x {b['h']:.0f})" for b in boxes
    ]


def detect_label_issues(ws: WorkspaceContext, name: str, *, method: str) -> LabelIssues:
    """Label-issue candidates of a box project for its current champion (not cached here).

    Every labelled image is scored with candidates from a model that never trained on it
    (:func:`labelloop.services.models.boxes.out_of_fold`). ``method`` is recorded only: cleanlab's
    object-detection module has one rule. Reviewed (adjudicated) images are not questioned.
    """
    from labelloop.quality.box_issues import find_box_label_issues
    from labelloop.services.models.boxes import out_of_fold

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        rows = repo.training_label_rows(session, project.id)
    version = champion.version if champion else None

    def empty(note: str) -> LabelIssues:
        return LabelIssues(
            model_version=version,
            method=method,
            n_labels=len(rows),
            computed_at=utcnow(),
            note=note,
        )

    if champion is None:
        return empty("no trained model yet: label-error detection needs one")
    if len(rows) < MIN_IMAGES:
        return empty(f"needs {MIN_IMAGES}+ labelled images")
    held = out_of_fold(ws, name)
    by_annotation = {int(r.id): r for r in rows}
    found = find_box_label_issues(held.gold, held.candidates, list(schema.labels))
    issues = []
    for issue in found:
        row = by_annotation.get(held.annotation_ids[issue.index])
        if row is None or row.reviewed:
            continue
        from labelloop.services.models.boxes import suggested

        proposal = suggested(held.candidates[issue.index])
        issues.append(
            LabelIssueView(
                item_id=int(row.item_id),
                external_id=row.external_id,
                given=_describe(held.gold[issue.index]),
                suggested=_describe(proposal),
                score=round(issue.score, 6),
                suggested_boxes=proposal,
            )
        )
    return LabelIssues(
        model_version=held.version,
        method=method,
        n_labels=len(rows),
        issues=issues,
        computed_at=utcnow(),
    )
