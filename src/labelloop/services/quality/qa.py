"""Quality assurance inside the loop: gold items, agreement, label errors, flags, review, audit.

How it fits the loop (docs/qa.md has the full story):

- **Gold items** carry a hidden known answer (``Item.gold``). The queue mixes them into named
  annotators' batches at ``gold_rate``, each at most once per annotator, looking like any item.
  They are *held out from training*: an answer on a gold item is kept as that annotator's answer
  but never becomes the item's label, so the model's suggestion on a gold item is an honest
  out-of-sample prediction (an annotator who only clicks "accept" earns no free gold accuracy)
  and gold doubles as a test set for the model.
- **Overlap**: ``overlap_rate`` of the items go to ``overlap`` annotators; agreement is computed
  from each annotator's own latest answer.
- **Label issues**: :func:`after_training` runs cleanlab over out-of-fold predictions of the
  champion after each retrain; candidates enter the review queue as open flags.
- **Flags and adjudication**: annotators :func:`flag` a wrong suggestion; reviewers see the
  :func:`~labelloop.services.quality.review.review_candidates` and
  :func:`~labelloop.services.quality.adjudication.resolve` an item with a ``reviewed``
  annotation, which becomes its training label (both re-exported here).

Example:
    >>> from labelloop.services.quality import qa
    >>> qa.set_gold(ws, "news", item_id, "Sports")            # doctest: +SKIP
    >>> report = qa.qa_report(ws, "news")                      # doctest: +SKIP
    >>> report.gold.annotators[0].accuracy                     # doctest: +SKIP
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import Conflict, InvalidInput, LabelloopError, NotFitted, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.annotation.annotating import check_value
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.quality import answers, boxes, issues, spans
from labelloop.services.quality.adjudication import resolve
from labelloop.services.quality.autoaccept import audit_report
from labelloop.services.quality.results import (
    FlagSummary,
    FlagView,
    GoldImportResult,
    GoldItemView,
    LabelIssues,
    QAReport,
    ReviewReason,
)
from labelloop.services.quality.review import review_candidates
from labelloop.services.results import EvaluateResult
from labelloop.store import Flag, Item, repo, utcnow
from labelloop.store.queries import models as model_queries
from labelloop.store.queries import quality as queries
from labelloop.store.suggestions import suggestion_of

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext
    from labelloop.tasks import AnswerValue

__all__ = [
    "after_training",
    "dismiss_flag",
    "evaluate_on_gold",
    "flag",
    "get_flag",
    "import_gold",
    "label_issues",
    "list_flags",
    "list_gold",
    "qa_report",
    "resolve",
    "review_candidates",
    "set_gold",
]

logger = logging.getLogger(__name__)

MAX_REASON = 2000
REPORT_ISSUES = 100  # label issues listed in the report (all of them enter the review queue)


# -- gold -------------------------------------------------------------------------------------
def set_gold(
    ws: WorkspaceContext, name: str, item_id: int, value: AnswerValue | None
) -> list[str] | None:
    """Make an item a gold item with the known answer ``value`` (``None`` makes it ordinary).

    Returns the stored answer (label names in schema order).
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise NotFound(f"no item {item_id} in project {name!r}")
        schema = label_schema(project)
        item.gold = (
            None
            if value is None
            else check_value(schema, value, data=item.data, media_root=ws.media_root)
        )
        session.flush()
        return item.gold


def list_gold(
    ws: WorkspaceContext, name: str, *, offset: int = 0, limit: int = 100
) -> list[GoldItemView]:
    """The project's gold items with their known answers, by item id (``limit`` from
    ``offset``)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = queries.gold_item_rows(session, project.id, offset, limit)
        return [
            GoldItemView(
                item_id=i.id, external_id=i.external_id, data=i.data, gold=list(i.gold or ())
            )
            for i in rows
        ]


def evaluate_on_gold(ws: WorkspaceContext, name: str) -> EvaluateResult:
    """The champion scored on the project's gold items, as ``evaluate`` scores it on a file:
    accuracy, macro-F1 and per-class precision, recall, F1 and support.

    Gold answers never become training labels, so the champion's suggestions on gold items are
    out-of-sample predictions. Single-label projects; :class:`NotFitted` without a champion,
    :class:`InvalidInput` when no gold item holds one of its suggestions.
    """
    from labelloop.learn import classification_metrics

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        if schema.multi_label or spans.is_spans(schema) or boxes.is_boxes(schema):
            raise InvalidInput("evaluate supports single-label projects", field="project")
        champion = repo.champion(session, project.id)
        if champion is None:
            raise NotFitted(f"project {name!r} has no champion model: run train first")
        rows = queries.gold_pred_probs(session, project.id, champion.id)
        version = champion.version
    if not rows:
        raise InvalidInput(
            f"no gold item of {name!r} has a suggestion of model version {version}: mark gold "
            "items (PUT .../gold/{id} or labelloop qa gold) and run predict",
            field="gold",
        )
    labels = np.array([schema.labels.index(gold[0]) for _, gold, _ in rows])
    pred_probs = np.array([probs for _, _, probs in rows], dtype=np.float64)
    metrics = classification_metrics(labels, pred_probs, label_names=list(schema.labels))
    return EvaluateResult(
        accuracy=metrics.accuracy, macro_f1=metrics.macro_f1, n=metrics.n, model_version=version,
        per_class={
            c.label: {"precision": c.precision, "recall": c.recall, "f1": c.f1,
                      "support": c.support}
            for c in metrics.per_class
        },
    )  # fmt: skip


def _read_gold_rows(path: Path, id_field: str, label_field: str) -> list[tuple[int, Any, Any]]:
    """(line, external id, raw label) rows of a CSV, TSV or JSONL file."""
    if not path.is_file():
        raise InvalidInput(f"no file {str(path)!r}", file=str(path))
    suffix = path.suffix.lower()
    rows: list[tuple[int, Any, Any]] = []
    with path.open(encoding="utf-8", newline="") as f:
        if suffix in (".jsonl", ".ndjson"):
            for line, text in enumerate(f, start=1):
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    raise InvalidInput(f"not JSON: {exc.msg}", file=str(path), line=line) from None
                if not isinstance(obj, dict):
                    raise InvalidInput("expected a JSON object", file=str(path), line=line)
                rows.append((line, obj.get(id_field), obj.get(label_field)))
        elif suffix in (".csv", ".tsv"):
            reader = csv.DictReader(f, delimiter="\t" if suffix == ".tsv" else ",")
            for field in (id_field, label_field):
                if field not in (reader.fieldnames or []):
                    columns = ", ".join(reader.fieldnames or [])
                    raise InvalidInput(
                        f"column {field!r} not found; columns: {columns}",
                        file=str(path), line=1, field=field,
                    )  # fmt: skip
            for row in reader:
                rows.append((reader.line_num, row.get(id_field), row.get(label_field)))
        else:
            raise InvalidInput(
                f"gold answers are read from .csv, .tsv or .jsonl files, not {suffix or 'this'}",
                file=str(path),
            )
    return rows


def import_gold(
    ws: WorkspaceContext,
    name: str,
    path: str | Path,
    *,
    id_field: str = "id",
    label_field: str = "label",
    label_separator: str | None = None,
) -> GoldImportResult:
    """Mark items as gold from a file of (external id, answer) rows; one transaction.

    The items must already be in the project (import them first with ``labelloop import``
    without their label). A row naming an unknown id or label fails the whole import with the
    file, line and field. A spans project's answer is a list of ``{"start", "end", "label"}``
    spans (a JSON list in a CSV or TSV cell), snapped to the item's tokens; a boxes project's,
    a list of ``{"x", "y", "w", "h", "label"}`` boxes (likewise), checked against its image.
    """
    path = Path(path)
    rows = _read_gold_rows(path, id_field, label_field)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        # spans and boxes are JSON lists in a CSV or TSV cell
        span_project = spans.is_spans(schema) or boxes.is_boxes(schema)
        known = repo.items_by_external_id(
            session, project.id, [str(r[1]) for r in rows if r[1] not in (None, "")]
        )
        count = 0
        for line, external_id, raw in rows:
            if external_id in (None, ""):
                raise InvalidInput("missing id", file=str(path), line=line, field=id_field)
            found = known.get(str(external_id))
            if found is None:
                raise InvalidInput(
                    f"no item with id {external_id!r} in project {name!r}: import the items first",
                    file=str(path), line=line, field=id_field,
                )  # fmt: skip
            if raw in (None, ""):
                raise InvalidInput("missing label", file=str(path), line=line, field=label_field)
            value = raw if isinstance(raw, list) else str(raw)
            if isinstance(value, str) and span_project:
                value = _json_answer(value, schema, str(path), line, label_field)
            if isinstance(value, str) and label_separator:
                value = [v.strip() for v in value.split(label_separator) if v.strip()]
            item = session.get(Item, found[0])
            assert item is not None
            try:
                labels = check_value(schema, value, data=item.data, media_root=ws.media_root)
            except InvalidInput as exc:
                raise InvalidInput(str(exc), file=str(path), line=line, field=label_field) from None
            item.gold = labels
            count += 1
        session.flush()
    return GoldImportResult(project=name, file=str(path), rows=len(rows), gold_set=count)


def _json_answer(cell: str, schema: LabelSchema, file: str, line: int, field: str) -> Any:
    """A spans or boxes answer written as JSON in a CSV/TSV cell."""
    what = "boxes" if boxes.is_boxes(schema) else "spans"
    try:
        return json.loads(cell)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the answer must be a JSON list of {what}: {exc.msg}",
            file=file, line=line, field=field,
        ) from None  # fmt: skip


# -- flags and adjudication --------------------------------------------------------------------
def _flag_view(f: Flag, versions: dict[int, int]) -> FlagView:
    machine = issues.is_detector_flag(f)
    return FlagView(
        id=f.id,
        item_id=f.item_id,
        annotator=f.annotator,
        reason=f.reason,
        suggestion=list(f.suggestion) if f.suggestion is not None else None,
        model_version=versions.get(f.model_version_id) if f.model_version_id else None,
        status=f.status,
        kind=ReviewReason.LABEL_ISSUE if machine else ReviewReason.FLAG,
        resolved_by=f.resolved_by,
        created_at=f.created_at,
    )


def flag(ws: WorkspaceContext, name: str, item_id: int, reason: str, *, annotator: str) -> FlagView:
    """Report that the suggestion shown for an item is wrong, with a reason.

    The flag records the suggestion and its model version, and puts the item on the review
    queue (reason ``flag``). Flagging the same item again while the flag is open returns it.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("give a reason for the flag", field="reason")
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"the reason must be at most {MAX_REASON} characters", field="reason")
    if reason.startswith(issues.LABEL_ISSUE_PREFIX) or not annotator:
        raise InvalidInput("a flag needs an annotator and a reason in words", field="reason")
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise NotFound(f"no item {item_id} in project {name!r}")
        versions = model_queries.version_numbers(session, project.id)
        earlier = queries.open_flag(session, item.id, annotator)
        if earlier is not None:
            return _flag_view(earlier, versions)
        suggestion = suggestion_of(session, item.id)
        row = Flag(
            project_id=project.id,
            item_id=item.id,
            annotator=annotator,
            reason=reason,
            suggestion=list(suggestion.value) if suggestion else None,
            model_version_id=suggestion.model_version_id if suggestion else None,
            status="open",
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        return _flag_view(row, versions)


def list_flags(
    ws: WorkspaceContext, name: str, *, status: str | None = "open", limit: int = 100
) -> list[FlagView]:
    """Flags of a project (people's and the detector's), newest first."""
    if status not in (None, "open", "confirmed", "dismissed"):
        raise InvalidInput("status must be open, confirmed or dismissed", field="status")
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = queries.flags(session, project.id, status, limit)
        versions = model_queries.version_numbers(session, project.id)
        return [_flag_view(f, versions) for f in rows]


def get_flag(ws: WorkspaceContext, name: str, flag_id: int) -> FlagView:
    """One flag of the project; :class:`NotFound` when the project has none with that id."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        row = queries.flag_in_project(session, project.id, flag_id)
        if row is None:
            raise NotFound(f"no flag {flag_id} in project {name!r}")
        return _flag_view(row, model_queries.version_numbers(session, project.id))


def dismiss_flag(ws: WorkspaceContext, name: str, flag_id: int, *, reviewer: str) -> FlagView:
    """Close an open flag as ``dismissed`` without labelling its item (the reviewer found the
    suggestion or label right); the item leaves the review queue unless something else keeps
    it there. To settle a flag with a label, resolve its item
    (:func:`~labelloop.services.quality.adjudication.resolve`), which closes every open flag
    on it. :class:`Conflict` when the flag is closed already."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        row = queries.flag_in_project(session, project.id, flag_id)
        if row is None:
            raise NotFound(f"no flag {flag_id} in project {name!r}")
        if row.status != "open":
            raise Conflict(f"flag {flag_id} is {row.status} already")
        row.status = "dismissed"
        row.resolved_by = reviewer
        session.flush()
        return _flag_view(row, model_queries.version_numbers(session, project.id))


# -- label issues ------------------------------------------------------------------------------
def after_training(ws: WorkspaceContext, name: str) -> LabelIssues:
    """Re-run label-error detection (:func:`labelloop.services.loop.retrain` calls it).

    Called after every training run (promoted or not); recomputes the candidates for the current
    champion and refreshes the review queue. Never raises for data that is not ready yet (too
    few labels, no trained model): the result carries a ``note`` instead.
    """
    try:
        return issues.compute_label_issues(ws, name)
    except InvalidInput as exc:
        logger.info("label-error detection skipped for %s: %s", name, exc)
        with ws.transaction() as session:
            project = repo.get_project(session, name)
            champion = repo.champion(session, project.id)
        return LabelIssues(
            model_version=champion.version if champion else None,
            method="rank_by_count",
            n_labels=0,
            note=str(exc),
        )


def label_issues(
    ws: WorkspaceContext, name: str, *, method: str = "rank_by_count", refresh: bool = False
) -> LabelIssues:
    """Label-error candidates for the current champion (cached per model version)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        champion = repo.champion(session, project.id)
        project_id = project.id
    if champion is not None and not refresh:
        cached = issues.read_cached(ws, project_id, champion.version, method)
        if cached is not None:
            return cached
    if method == "rank_by_count" and not refresh:
        return after_training(ws, name)
    return issues.compute_label_issues(ws, name, method=method)


# -- the report --------------------------------------------------------------------------------
def _flag_summary(session: Any, project_id: int) -> FlagSummary:
    counts = queries.flag_counts(session, project_id)
    versions = model_queries.version_numbers(session, project_id)
    recent = queries.recent_open_flags(session, project_id, 20)
    return FlagSummary(
        open=counts.get("open", 0),
        confirmed=counts.get("confirmed", 0),
        dismissed=counts.get("dismissed", 0),
        recent=[_flag_view(f, versions) for f in recent],
    )


def _audit(ws: WorkspaceContext, name: str, notes: list[str]) -> dict[str, Any] | None:
    try:
        return audit_report(ws, name).model_dump(mode="json")
    except LabelloopError as exc:
        notes.append(f"auto-accept audit: {exc}")
        return None


def qa_report(ws: WorkspaceContext, name: str, *, issues: int = REPORT_ISSUES) -> QAReport:
    """The project's quality at a glance (``labelloop qa``, the dashboard).

    Agreement (overall, per class, per annotator pair), gold accuracy per annotator with Wilson
    intervals, the top label-error candidates of the champion, where people and the model
    disagree per class, the auto-accept audit (which pauses auto-accept when it falls below its
    target), blind-versus-suggested answers, and flags. Spans projects get span F1 instead of
    kappa and alpha, and span F1 against gold beside exact-sentence accuracy
    (:mod:`labelloop.services.quality.spans`).
    """
    notes: list[str] = []
    found = label_issues(ws, name)
    if found.note:
        notes.append(f"label issues: {found.note}")
    audit = _audit(ws, name, notes)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        settings = project_settings(project)
        schema = label_schema(project)
        rows = answers.answers(session, project.id)
        gold = answers.gold_summary(session, project.id, rows, float(settings["gold_rate"]), schema)
        if spans.is_spans(schema):
            ratings = [(a.item_id, a.annotator, a.value) for a in rows]
            agreement = spans.agreement_summary(ratings, list(schema.labels))
            gold = spans.gold_summary(session, project.id, ratings, gold)
        elif boxes.is_boxes(schema):
            ratings = [(a.item_id, a.annotator, a.value) for a in rows]
            agreement = boxes.agreement_summary(ratings, list(schema.labels))
            gold = boxes.gold_summary(session, project.id, ratings, gold)
        else:
            agreement = answers.agreement_summary(rows, list(schema.labels))
        report = QAReport(
            project=name,
            agreement=agreement,
            gold=gold,
            label_issues=found.issues[:issues],
            label_issues_model_version=found.model_version,
            per_class_errors=found.per_class_errors,
            auto_accept_audit=audit,
            blind_vs_suggested=answers.blind_vs_suggested(
                session, project.id, rows, float(settings["blind_rate"]), schema
            ),
            flags=_flag_summary(session, project.id),
            notes=notes,
        )
        report.notes.extend(report.agreement.notes)
        return report
