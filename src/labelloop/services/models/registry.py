"""The model registry: a project's model versions, promotion by hand, rollback, the champion.

Which version becomes the champion after training is decided in :mod:`training` (the promotion
rule); here a person overrides it. Either way the queue's suggestions are refreshed from the new
champion.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from labelloop.errors import NotFound
from labelloop.services.models.loading import LoadedModel, load_model
from labelloop.services.results import ModelVersionInfo, TrainResult
from labelloop.store import ModelStatus, ModelVersion, repo
from labelloop.store.queries import models as queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "champion_model",
    "list_models",
    "make_champion",
    "promote",
    "record_trained",
    "rollback",
]


def make_champion(session: Session, project_id: int, row: ModelVersion) -> None:
    queries.retire_other_champions(session, project_id, row.id)
    row.status = ModelStatus.CHAMPION


def record_trained(
    session: Session,
    row: ModelVersion,
    *,
    promote: bool,
    metrics: dict[str, float | None],
    n_labels: int,
) -> TrainResult:
    """Add a freshly trained version (a challenger) and make it the champion when ``promote``;
    what ``train`` reports about it. Every kind of model records its versions this way."""
    session.add(row)
    session.flush()
    if promote:
        make_champion(session, row.project_id, row)
    return TrainResult(
        model_version=row.version,
        kind=row.kind,
        promoted=promote,
        reason=row.reason or "",
        metrics=metrics,
        n_labels=n_labels,
        train_seconds=round(row.train_seconds or 0.0, 4),
    )


def list_models(ws: WorkspaceContext, name: str) -> list[ModelVersionInfo]:
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = queries.versions(session, project.id)
        return [
            ModelVersionInfo(
                version=r.version,
                status=r.status,
                kind=r.kind,
                backbone=r.backbone,
                head=r.head,
                params=r.params or {},
                n_labels=len(r.label_ids or []),
                metrics={k: v for k, v in (r.metrics or {}).items() if k != "detail"},
                ece=r.ece,
                train_seconds=r.train_seconds,
                reason=r.reason,
                created_at=r.created_at,
            )
            for r in rows
        ]


def promote(ws: WorkspaceContext, name: str, version: int) -> ModelVersionInfo:
    """Make ``version`` the champion by hand (the loop then refreshes its suggestions)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        row = queries.version(session, project.id, version)
        if row is None or row.artifact is None:
            raise NotFound(f"project {name!r} has no model version {version}")
        make_champion(session, project.id, row)
        row.reason = "promoted by hand"
    return next(m for m in list_models(ws, name) if m.version == version)


def rollback(ws: WorkspaceContext, name: str) -> ModelVersionInfo:
    """Return to the champion before the current one."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        current = repo.champion(session, project.id)
        if current is None:
            raise NotFound(f"project {name!r} has no champion model to roll back")
        previous = queries.earlier_retired(session, project.id, current.version)
        if previous is None:
            raise NotFound(f"project {name!r} has no earlier champion to roll back to")
        current.status = ModelStatus.CHALLENGER
        current.reason = f"rolled back to version {previous.version}"
        previous.status = ModelStatus.CHAMPION
        version = previous.version
    return next(m for m in list_models(ws, name) if m.version == version)


def champion_model(ws: WorkspaceContext, name: str) -> tuple[int, LoadedModel, str]:
    """The champion's (version, loaded model, backbone); :class:`NotFound` when there is none."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no trained model yet: run train first")
        return champion.version, load_model(ws.path / champion.artifact), champion.backbone
