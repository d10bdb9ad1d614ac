"""The public Python API: one typed method per use-case on an open workspace.

Example:
    >>> import labelloop
    >>> ws = labelloop.open_workspace("labelloop-data")          # doctest: +SKIP
    >>> ws.create_project("news", labels=["World", "Sports"])     # doctest: +SKIP
    >>> opts = labelloop.ImportOptions(label_field="label")
    >>> ws.import_file("news", "pool.csv", opts)                  # doctest: +SKIP
    >>> ws.status("news").labelled                                # doctest: +SKIP

The CLI, the server and the simulator call these methods; each is one use-case and leaves the
workspace as it was when it fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.services import loop, projects
from labelloop.services.annotation import annotating, queue
from labelloop.services.context import WorkspaceContext
from labelloop.services.data import exporting, importing
from labelloop.services.models import evaluation, registry
from labelloop.services.quality import adjudication, autoaccept, qa, review
from labelloop.services.quality.results import FlagView, LabelIssues
from labelloop.services.results import (
    BackboneRanking,
    EvaluateResult,
    ExportResult,
    ImportResult,
    ModelVersionInfo,
    PredictResult,
    ProjectInfo,
    ProjectStatus,
    QueueItem,
    SubmitResult,
    TrainResult,
)
from labelloop.tasks import AnswerValue

__all__ = ["DEFAULT_WORKSPACE", "Workspace", "open_workspace"]

DEFAULT_WORKSPACE = "labelloop-data"

Progress = Callable[[int], None]


class Workspace(WorkspaceContext):
    """A labelloop workspace. Open one with :func:`open_workspace`.

    Every method is one transaction: it either completes or leaves the workspace as it was.
    Failures raise :class:`labelloop.errors.LabelloopError` subclasses naming what is wrong.
    """

    # -- projects -------------------------------------------------------------------------------
    def create_project(
        self,
        name: str,
        *,
        labels: str | list[str],
        task: str = "text-classification",
        multi_label: bool = False,
        backbone: str | None = None,
        descriptions: dict[str, str] | None = None,
        settings: dict[str, Any] | None = None,
        allow_overlap: bool = False,
        type_map: dict[str, str] | None = None,
    ) -> ProjectInfo:
        """Create a project: its task type, labels (a list or ``"a,b,c"``) and backbone (default:
        the recommended installed one for the task's modality). Task types that are not
        implemented, and backbones of another modality, are refused. Span projects may allow
        overlapping spans and map the pre-trained recogniser's entity types onto their labels
        (``type_map={"PRODUCT": "DRUG", "NORP": ""}``; docs/spans.md)."""
        return projects.create_project(
            self, name, labels=labels, task=task, multi_label=multi_label, backbone=backbone,
            descriptions=descriptions, settings=settings, allow_overlap=allow_overlap,
            type_map=type_map,
        )  # fmt: skip

    def list_projects(self) -> list[ProjectInfo]:
        """Every project of the workspace, by name."""
        return projects.list_projects(self)

    def project(self, name: str) -> ProjectInfo:
        """One project's settings; :class:`~labelloop.errors.NotFound` when there is none."""
        return projects.project_info(self, name)

    def update_project(
        self,
        name: str,
        *,
        backbone: str | None = None,
        settings: dict[str, Any] | None = None,
        descriptions: dict[str, str] | None = None,
        allow_overlap: bool | None = None,
        type_map: dict[str, str] | None = None,
    ) -> ProjectInfo:
        """Change a project's backbone, settings or label descriptions, or a span project's
        overlap rule and type map (merged into the map; ``None`` keeps each)."""
        return projects.update_project(
            self, name, backbone=backbone, settings=settings, descriptions=descriptions,
            allow_overlap=allow_overlap, type_map=type_map,
        )  # fmt: skip

    def status(self, name: str) -> ProjectStatus:
        """Counts of items, labels and suggestions, and the champion model."""
        return projects.project_status(self, name)

    # -- data in and out ------------------------------------------------------------------------
    def import_file(
        self,
        name: str,
        path: str | Path,
        options: importing.ImportOptions | None = None,
        *,
        progress: Progress | None = None,
        on_total: Callable[[int | None], None] | None = None,
    ) -> ImportResult:
        """Import items (with any labels and predictions) from a file or folder.

        ``options`` (:class:`~labelloop.services.data.importing.ImportOptions`, e.g.
        ``ImportOptions(label_field="label")``) says how to read it. Re-importing the same file
        with the same options changes nothing.
        """
        return importing.import_file(
            self, name, Path(path), options, progress=progress, on_total=on_total
        )

    def export(
        self, name: str, out: str | Path, *, format: str | None = None, only: str = "all"
    ) -> ExportResult:
        """Write the project's items, labels and suggestions to ``out`` in one of
        :data:`~labelloop.services.data.formats.EXPORT_FORMATS`, by default the one the file's
        extension names (``.jsonl``, ``.csv``, ``.parquet``, ``.json`` for Label Studio);
        ``only``: all | accepted | human."""
        return exporting.export_project(self, name, Path(out), format=format, only=only)

    # -- the model ------------------------------------------------------------------------------
    def train(
        self, name: str, *, progress: Progress | None = None, C: float | None = None
    ) -> TrainResult:
        """Train a model version on the current labels, promote it if it beats the champion,
        refresh the suggestions when it does, and re-run label-error detection.

        ``C`` fixes the logistic head's inverse regularisation strength instead of choosing it by
        cross-validation (faster; the simulator freezes the champion's ``C`` this way).
        """
        return loop.retrain(self, name, progress=progress, C=C)

    def predict(self, name: str, *, progress: Progress | None = None) -> PredictResult:
        """Refresh the suggestions of every unlabelled item and re-rank the queue."""
        return loop.predict(self, name, progress=progress)

    def models(self, name: str) -> list[ModelVersionInfo]:
        """Every model version of the project, newest first."""
        return registry.list_models(self, name)

    def promote(self, name: str, version: int) -> ModelVersionInfo:
        """Make ``version`` the champion by hand; its suggestions replace the old ones."""
        return loop.promote(self, name, version)

    def rollback(self, name: str) -> ModelVersionInfo:
        """Return to the previous champion; its suggestions replace the current ones."""
        return loop.rollback(self, name)

    def evaluate(
        self,
        name: str,
        path: str | Path,
        *,
        text_field: str = "text",
        label_field: str = "label",
        format: str | None = None,
    ) -> EvaluateResult:
        """Score the champion on a held-out labelled file (nothing is stored)."""
        return evaluation.evaluate(
            self, name, Path(path), text_field=text_field, label_field=label_field, format=format
        )

    def rank_backbones(self, name: str, *, seed: int = 0) -> BackboneRanking:
        """Cross-validate every installed backbone of the task's modality on the labels."""
        return evaluation.rank_backbones(self, name, seed=seed)

    # -- annotation -----------------------------------------------------------------------------
    def next_items(
        self, name: str, *, n: int = 10, annotator: str | None = None
    ) -> list[QueueItem]:
        """Lease the next ``n`` items of the queue to ``annotator``, with their suggestions."""
        return queue.next_items(self, name, n=n, annotator=annotator)

    def submit(
        self,
        name: str,
        item_id: int,
        value: AnswerValue,
        *,
        annotator: str | None,
        seconds: float | None = None,
        request_id: str | None = None,
        reviewed: bool = False,
        handed_only: bool = False,
    ) -> SubmitResult:
        """Record an answer; a repeated ``request_id`` is answered without a second write."""
        return annotating.submit(
            self, name, item_id, value, annotator=annotator, seconds=seconds,
            request_id=request_id, reviewed=reviewed, handed_only=handed_only,
        )  # fmt: skip

    def skip(self, name: str, item_id: int, *, annotator: str) -> None:
        """Hand the item back; this annotator does not get it again for a day."""
        annotating.skip(self, name, item_id, annotator=annotator)

    def undo(
        self, name: str, item_id: int, *, annotator: str | None, admin: bool = False
    ) -> SubmitResult:
        """Withdraw the annotator's answer on the item (any answer, for an admin)."""
        return annotating.undo(self, name, item_id, annotator=annotator, admin=admin)

    # -- quality --------------------------------------------------------------------------------
    def qa_report(self, name: str, *, issues: int = qa.REPORT_ISSUES) -> qa.QAReport:
        """Agreement, gold accuracy, label-error candidates, the auto-accept audit and flags."""
        return qa.qa_report(self, name, issues=issues)

    def label_issues(
        self, name: str, *, method: str = "rank_by_count", refresh: bool = False
    ) -> LabelIssues:
        """Likely label errors for the champion (cleanlab over out-of-fold probabilities)."""
        return qa.label_issues(self, name, method=method, refresh=refresh)

    def flag(self, name: str, item_id: int, reason: str, *, annotator: str) -> FlagView:
        """Report the item's suggestion as wrong; the item joins the review queue."""
        return qa.flag(self, name, item_id, reason, annotator=annotator)

    def review_candidates(
        self, name: str, *, sources: list[str] | None = None, limit: int = 50
    ) -> list[review.ReviewCandidate]:
        """Items for a reviewer with their reasons and every answer (gold items left out)."""
        return review.review_candidates(self, name, sources=sources, limit=limit)

    def resolve(
        self,
        name: str,
        item_id: int,
        value: AnswerValue,
        *,
        reviewer: str,
        seconds: float | None = None,
    ) -> SubmitResult:
        """Adjudicate an item: ``value`` becomes its label; its open flags are settled."""
        return adjudication.resolve(self, name, item_id, value, reviewer=reviewer, seconds=seconds)

    def auto_accept(
        self,
        name: str,
        *,
        target_precision: float = autoaccept.DEFAULT_TARGET,
        confidence: float = 0.95,
        dry_run: bool = False,
        min_evidence: int = 50,
    ) -> autoaccept.AutoAcceptResult:
        """Label every suggestion confident enough to meet ``target_precision`` (a lower bound
        at ``confidence``); refused (:class:`~labelloop.services.quality.autoaccept.
        AutoAcceptRefused`) without enough held-out evidence."""
        return autoaccept.auto_accept(
            self, name, target_precision=target_precision, confidence=confidence,
            dry_run=dry_run, min_evidence=min_evidence,
        )  # fmt: skip

    def audit(
        self, name: str, *, target_precision: float | None = None, confidence: float = 0.95
    ) -> autoaccept.AuditReport:
        """Precision of auto-accepted labels as measured by later human answers."""
        return autoaccept.audit_report(
            self, name, target_precision=target_precision, confidence=confidence
        )


def open_workspace(
    path: str | os.PathLike[str] | None = None, *, database_url: str | None = None
) -> Workspace:
    """Open (creating if needed) the workspace at ``path``.

    ``path`` is a folder (default ``$LABELLOOP_WORKSPACE`` or ``./labelloop-data``) holding the
    SQLite database and the artifacts. A ``postgresql+psycopg://`` URL may be given instead of a
    path, or as ``database_url`` (default ``$LABELLOOP_DATABASE_URL``): the database then lives
    there and the folder keeps only the artifacts.
    """
    if path is not None and str(path).startswith(("postgresql", "sqlite:")):
        database_url, path = str(path), None
    folder = Path(path or os.environ.get("LABELLOOP_WORKSPACE") or DEFAULT_WORKSPACE)
    if folder.exists() and not folder.is_dir():
        raise InvalidInput(f"workspace {str(folder)!r} is a file, not a folder", field="workspace")
    database_url = database_url or os.environ.get("LABELLOOP_DATABASE_URL") or None
    return Workspace(folder, database_url=database_url)
