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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelloop.errors import InvalidInput
from labelloop.services import catalog, loop, projects, users
from labelloop.services.annotation import annotating, bulk, clusters, queue
from labelloop.services.annotation.bulk import BulkAnswer, BulkResult
from labelloop.services.annotation.clusters import ClusterList, ClusterMembers
from labelloop.services.catalog import BackboneEntry
from labelloop.services.context import WorkspaceContext
from labelloop.services.data import deleting, exporting, frames, importing, media
from labelloop.services.models import evaluation, registry
from labelloop.services.progress import Advance, Progress
from labelloop.services.quality import adjudication, autoaccept, qa, review
from labelloop.services.quality.results import (
    FlagView,
    GoldImportResult,
    GoldItemView,
    LabelIssues,
)
from labelloop.services.results import (
    BackboneRanking,
    DeleteResult,
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
from labelloop.services.users import TokenInfo, UserInfo
from labelloop.tasks import AnswerValue

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_WORKSPACE", "Project", "Workspace", "open_workspace"]

DEFAULT_WORKSPACE = "labelloop-data"


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

    def delete_project(self, name: str) -> DeleteResult:
        """Delete the project with everything it holds (items, answers, suggestions, model
        versions and their files, flags, leases, comments, imports, memberships); the shared
        embedding cache stays. :class:`~labelloop.errors.NotFound` when there is none."""
        return deleting.delete_project(self, name)

    def delete_items(self, name: str, item_ids: list[int]) -> DeleteResult:
        """Delete some items of the project with their answers, suggestions, flags, leases and
        comments, all or none: an id that is not the project's deletes nothing
        (:class:`~labelloop.errors.NotFound`)."""
        return deleting.delete_items(self, name, item_ids)

    def status(self, name: str) -> ProjectStatus:
        """Counts of items, labels and suggestions, and the champion model."""
        return projects.project_status(self, name)

    def open_project(self, name: str) -> Project:
        """A handle on one project (:class:`Project`): the same methods without the name, and
        the project as a DataFrame or a ``datasets.Dataset``. :class:`NotFound` when there is
        none."""
        projects.project_info(self, name)
        return Project(self, name)

    # -- data in and out ------------------------------------------------------------------------
    def import_file(
        self,
        name: str,
        path: str | Path,
        options: importing.ImportOptions | None = None,
        *,
        progress: Advance | None = None,
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
        self,
        name: str,
        out: str | Path,
        *,
        format: str | None = None,
        only: str = "all",
        label_studio_users: Mapping[str, str | int] | None = None,
    ) -> ExportResult:
        """Write the project's items, labels and suggestions to ``out`` in one of
        :data:`~labelloop.services.data.formats.EXPORT_FORMATS`, by default the one the file's
        extension names (``.jsonl``, ``.csv``, ``.parquet``, ``.json`` for Label Studio,
        ``.xml`` for its labelling config); ``only``: all | accepted | human;
        ``label_studio_users``: annotator -> Label Studio user (e-mail or id) that a
        ``labelstudio`` export names as ``completed_by``."""
        return exporting.export_project(
            self,
            name,
            Path(out),
            format=format,
            only=only,
            label_studio_users=label_studio_users,
        )

    def to_pandas(self, name: str, *, only: str = "all") -> pd.DataFrame:
        """The project as a pandas DataFrame, one row per item: what the JSONL export holds,
        flattened (label, provenance, suggestion and its ``pred_probs``; docs/python-api.md)."""
        return frames.project_frame(self, name, only=only)

    def to_datasets(self, name: str, *, only: str = "all") -> Any:
        """The project as an in-memory ``datasets.Dataset`` with the labels and suggestions as
        ``ClassLabel`` and ``pred_probs`` in label order (needs the ``hf`` extra)."""
        return frames.project_dataset(self, name, only=only)

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
        progress: Progress | None = None,
        media_roots: Sequence[str | Path] | None = None,
    ) -> EvaluateResult:
        """Score the champion on a held-out labelled file (nothing is stored): accuracy and
        macro-F1, or for an image-boxes project mAP@0.5, box F1, mean IoU and the share of
        images exactly right (docs/boxes.md). ``media_roots``: read images only from the
        file's folder, the media root and these folders (what the server allows)."""
        roots = None if media_roots is None else [Path(r) for r in media_roots]
        return evaluation.evaluate(
            self, name, Path(path), text_field=text_field, label_field=label_field, format=format,
            progress=progress, media_roots=roots,
        )  # fmt: skip

    def evaluate_gold(self, name: str) -> EvaluateResult:
        """Score the champion on the project's gold items, whose answers it never trained on
        (single-label projects)."""
        return qa.evaluate_on_gold(self, name)

    def rank_backbones(
        self, name: str, *, seed: int = 0, progress: Progress | None = None
    ) -> BackboneRanking:
        """Cross-validate every installed backbone of the task's modality on the labels."""
        return evaluation.rank_backbones(self, name, seed=seed, progress=progress)

    def backbones(self) -> list[BackboneEntry]:
        """Every known backbone, whether it is installed and how to install it."""
        return catalog.backbones()

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

    def submit_many(
        self,
        name: str,
        answers: list[BulkAnswer],
        *,
        annotator: str | None,
        handed_only: bool = False,
    ) -> BulkResult:
        """Store many answers in one transaction (a grid screen, a cluster), each as
        :meth:`submit` would; one bad answer refuses them all, naming its item."""
        return bulk.submit_many(self, name, answers, annotator=annotator, handed_only=handed_only)

    def clusters(self, name: str, *, k: int | None = None) -> ClusterList:
        """The project's items in ``k`` k-means clusters over their embeddings, largest first
        (default: about 30 items each)."""
        return clusters.list_clusters(self, name, k=k)

    def cluster_members(
        self, name: str, cluster: int, *, k: int | None = None, limit: int = 200
    ) -> ClusterMembers:
        """One cluster's items: unlabelled first, most typical first."""
        return clusters.cluster_members(self, name, cluster, k=k, limit=limit)

    def pregenerate_thumbnails(
        self, name: str, *, sizes: tuple[int, ...] = (160,), item_ids: list[int] | None = None
    ) -> media.ThumbnailBatch:
        """Make the thumbnails of the project's images ahead of the grid (each once, cached by
        content hash); unreadable files are reported by item id, not raised."""
        return media.pregenerate_thumbnails(self, name, sizes=sizes, item_ids=item_ids)

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

    def flags(self, name: str, *, status: str | None = "open", limit: int = 100) -> list[FlagView]:
        """People's and the label-issue detector's flags, newest first (``status``: open,
        confirmed, dismissed, or None for all)."""
        return qa.list_flags(self, name, status=status, limit=limit)

    def dismiss_flag(self, name: str, flag_id: int, *, reviewer: str) -> FlagView:
        """Close an open flag without labelling its item (:meth:`resolve` labels the item and
        closes all its flags)."""
        return qa.dismiss_flag(self, name, flag_id, reviewer=reviewer)

    def gold(self, name: str, *, offset: int = 0, limit: int = 100) -> list[GoldItemView]:
        """The gold items and their known answers, by item id."""
        return qa.list_gold(self, name, offset=offset, limit=limit)

    def set_gold(self, name: str, item_id: int, value: AnswerValue | None) -> list[Any] | None:
        """Make an item gold with the known answer ``value`` (``None``: an ordinary item again);
        returns the stored answer."""
        return qa.set_gold(self, name, item_id, value)

    def import_gold(
        self,
        name: str,
        path: str | Path,
        *,
        id_field: str = "id",
        label_field: str = "label",
        label_separator: str | None = None,
    ) -> GoldImportResult:
        """Mark imported items as gold from a CSV, TSV or JSONL file of (id, answer) rows, in
        one transaction (``labelloop qa gold``)."""
        return qa.import_gold(
            self, name, Path(path), id_field=id_field, label_field=label_field,
            label_separator=label_separator,
        )  # fmt: skip

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

    # -- users and tokens -----------------------------------------------------------------------
    def add_user(
        self,
        name: str,
        *,
        password: str | None = None,
        role: str | None = None,
        project: str | None = None,
        superuser: bool | None = None,
    ) -> UserInfo:
        """Create user ``name`` or change their password, superuser flag or ``role`` in
        ``project`` (``labelloop user add``). The first user becomes a superuser; a new
        password ends the user's sessions and tokens."""
        return users.add_user(
            self, name, password=password, role=role, project=project, superuser=superuser
        )

    def set_role(self, project: str, user: str, role: str) -> UserInfo:
        """Give existing ``user`` ``role`` (annotator, reviewer, admin) in ``project``."""
        return users.set_member(self, project, user, role)

    def remove_member(self, project: str, user: str) -> None:
        """Take ``user``'s role in ``project`` away."""
        users.remove_member(self, project, user)

    def members(self, project: str) -> dict[str, str]:
        """User name -> role of each member of ``project``."""
        return users.list_members(self, project)

    def create_token(self, user: str, *, label: str | None = None) -> str:
        """A new API token acting as ``user``; only its hash is stored, so keep it now."""
        return users.create_token(self, user, label=label)

    def tokens(self, user: str | None = None) -> list[TokenInfo]:
        """API tokens and browser sessions (``user``'s, or everyone's), never their secrets."""
        return users.list_tokens(self, user)

    def revoke_token(self, token_id: int, *, owner: str | None = None) -> TokenInfo:
        """Revoke one token or session by id (only ``owner``'s when given); a running server
        refuses it from its next request."""
        return users.revoke_token(self, token_id, owner=owner)

    def revoke_tokens(self, user: str, *, kind: str | None = None) -> int:
        """Revoke all of ``user``'s tokens and sessions (``kind``: only ``token`` or
        ``session``); returns how many."""
        return users.revoke_tokens(self, user, kind=kind)


class Project:
    """One project of a workspace (:meth:`Workspace.open_project`): the workspace's methods
    with the project's name bound, and the project as a DataFrame or a ``datasets.Dataset``.

    Example:
        >>> news = ws.open_project("news")                       # doctest: +SKIP
        >>> news.train().promoted                                # doctest: +SKIP
        >>> news.to_pandas().groupby("source").size()            # doctest: +SKIP
        >>> news.to_datasets().features["label"].names           # doctest: +SKIP

    Anything not bound here is one call away: ``project.workspace.<method>(project.name, ...)``.
    """

    def __init__(self, workspace: Workspace, name: str) -> None:
        self.workspace = workspace
        self.name = name

    def __repr__(self) -> str:
        return f"Project({self.name!r})"

    def info(self) -> ProjectInfo:
        """The project's task, labels, backbone and settings."""
        return self.workspace.project(self.name)

    def status(self) -> ProjectStatus:
        """Counts of items, labels and suggestions, and the champion model."""
        return self.workspace.status(self.name)

    def to_pandas(self, *, only: str = "all") -> pd.DataFrame:
        """One row per item (:meth:`Workspace.to_pandas`)."""
        return self.workspace.to_pandas(self.name, only=only)

    def to_datasets(self, *, only: str = "all") -> Any:
        """An in-memory ``datasets.Dataset`` (:meth:`Workspace.to_datasets`)."""
        return self.workspace.to_datasets(self.name, only=only)

    def import_file(
        self, path: str | Path, options: importing.ImportOptions | None = None
    ) -> ImportResult:
        """Import items, labels and predictions (:meth:`Workspace.import_file`)."""
        return self.workspace.import_file(self.name, path, options)

    def export(
        self, out: str | Path, *, format: str | None = None, only: str = "all"
    ) -> ExportResult:
        """Write the project to a file (:meth:`Workspace.export`)."""
        return self.workspace.export(self.name, out, format=format, only=only)

    def train(self) -> TrainResult:
        """Train, maybe promote, refresh (:meth:`Workspace.train`)."""
        return self.workspace.train(self.name)

    def predict(self) -> PredictResult:
        """Refresh every unlabelled item's suggestion (:meth:`Workspace.predict`)."""
        return self.workspace.predict(self.name)

    def next_items(self, *, n: int = 10, annotator: str | None = None) -> list[QueueItem]:
        """Lease the next items (:meth:`Workspace.next_items`)."""
        return self.workspace.next_items(self.name, n=n, annotator=annotator)

    def submit(
        self,
        item_id: int,
        value: AnswerValue,
        *,
        annotator: str | None,
        seconds: float | None = None,
    ) -> SubmitResult:
        """Record an answer (:meth:`Workspace.submit`)."""
        return self.workspace.submit(
            self.name, item_id, value, annotator=annotator, seconds=seconds
        )

    def qa_report(self) -> qa.QAReport:
        """The quality report (:meth:`Workspace.qa_report`)."""
        return self.workspace.qa_report(self.name)

    def auto_accept(
        self,
        *,
        target_precision: float = autoaccept.DEFAULT_TARGET,
        confidence: float = 0.95,
        dry_run: bool = False,
    ) -> autoaccept.AutoAcceptResult:
        """Calibrated auto-acceptance (:meth:`Workspace.auto_accept`)."""
        return self.workspace.auto_accept(
            self.name, target_precision=target_precision, confidence=confidence, dry_run=dry_run
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
