"""The annotation queue: which items an annotator gets next, with leases so nobody collides."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, exists, select

from labelloop.errors import InvalidInput, PoolExhausted
from labelloop.services.projects import DEFAULT_SETTINGS, label_schema
from labelloop.services.results import QueueItem, SuggestionView
from labelloop.store import Annotation, Item, Lease, ModelVersion, Suggestion, repo, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.workspace import Workspace

__all__ = ["MAX_BATCH", "next_items", "release_lease"]

MAX_BATCH = 500


def next_items(
    ws: Workspace,
    name: str,
    *,
    n: int = 10,
    annotator: str | None = None,
) -> list[QueueItem]:
    """The next ``n`` unlabelled items in the project's queue order, leased to ``annotator``.

    The order was set by the project's query strategy when suggestions were last refreshed (it is
    re-ranked after every retrain); items without a suggestion yet come after, oldest first. An
    item leased to another annotator is not handed out until it is answered or its lease expires
    (unless the project's ``overlap`` setting is above 1). Items already leased to ``annotator``
    come first, so a reload does not lose them. :class:`PoolExhausted` when nothing is left.
    """
    if not 1 <= n <= MAX_BATCH:
        raise InvalidInput(f"n must be between 1 and {MAX_BATCH}, got {n}", field="n")
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        settings = {**DEFAULT_SETTINGS, **(project.settings or {})}
        now = utcnow()
        session.execute(delete(Lease).where(Lease.project_id == project.id, Lease.expires_at < now))
        mine = _open_leases(session, project.id, annotator) if annotator else []
        chosen = mine[:n]
        if len(chosen) < n:
            chosen += _fresh(session, project.id, n - len(chosen), annotator, chosen, settings)
        if not chosen:
            raise PoolExhausted(f"project {name!r} has no unlabelled items left for this annotator")
        expires = now + timedelta(seconds=int(settings["lease_seconds"]))
        if annotator:
            held = {
                lease.item_id: lease for lease in _leases(session, project.id, annotator, chosen)
            }
            for item_id in chosen:
                lease = held.get(item_id)
                if lease is None:
                    session.add(Lease(project_id=project.id, item_id=item_id,
                                      annotator=annotator, expires_at=expires))  # fmt: skip
                else:
                    lease.expires_at = expires
        return _views(session, project, chosen, expires if annotator else None)


def release_lease(session: Session, item_id: int, annotator: str | None) -> None:
    if annotator:
        session.execute(delete(Lease).where(Lease.item_id == item_id, Lease.annotator == annotator))


def _unlabelled():
    return ~exists().where(
        Annotation.item_id == Item.id,
        Annotation.is_current.is_(True),
        Annotation.value.is_not(None),
    )


def _open_leases(session: Session, project_id: int, annotator: str) -> list[int]:
    rows = session.scalars(
        select(Lease.item_id)
        .join(Item, Item.id == Lease.item_id)
        .where(
            Lease.project_id == project_id,
            Lease.annotator == annotator,
            Lease.skipped.is_(False),
            _unlabelled(),
        )
        .order_by(Lease.id)
    )
    return list(rows)


def _leases(session: Session, project_id: int, annotator: str, item_ids: list[int]) -> list[Lease]:
    return list(
        session.scalars(
            select(Lease).where(
                Lease.project_id == project_id,
                Lease.annotator == annotator,
                Lease.item_id.in_(item_ids),
            )
        )
    )


def _fresh(
    session: Session,
    project_id: int,
    n: int,
    annotator: str | None,
    exclude: list[int],
    settings: dict,
) -> list[int]:
    blocked = []
    if int(settings["overlap"]) <= 1:
        # someone else holds it
        blocked.append(
            exists().where(
                Lease.item_id == Item.id,
                Lease.skipped.is_(False),
                Lease.annotator != (annotator or ""),
            )
        )
    if annotator:
        # this annotator skipped it (or holds it already: those leases were served first)
        blocked.append(exists().where(Lease.item_id == Item.id, Lease.annotator == annotator))
    conditions = [Item.project_id == project_id, _unlabelled(), *[~b for b in blocked]]
    if exclude:
        conditions.append(Item.id.not_in(exclude))
    ranked = list(
        session.scalars(
            select(Item.id)
            .join(Suggestion, Suggestion.item_id == Item.id)
            .where(*conditions)
            .order_by(Suggestion.priority.desc(), Item.id)
            .limit(n)
        )
    )
    if len(ranked) < n:
        unranked = session.scalars(
            select(Item.id)
            .where(*conditions, ~exists().where(Suggestion.item_id == Item.id))
            .order_by(Item.id)
            .limit(n - len(ranked))
        )
        ranked += list(unranked)
    return ranked


def _views(session: Session, project, item_ids: list[int], expires) -> list[QueueItem]:
    schema = label_schema(project)
    items = {i.id: i for i in session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    suggestions = repo.suggestions_for(session, project.id, item_ids)
    version_ids = {s.model_version_id for s in suggestions.values()}
    versions = (
        dict(
            session.execute(
                select(ModelVersion.id, ModelVersion.version).where(
                    ModelVersion.id.in_(version_ids)
                )
            ).all()
        )
        if version_ids
        else {}
    )
    views = []
    for item_id in item_ids:
        item = items[item_id]
        s = suggestions.get(item_id)
        views.append(
            QueueItem(
                item_id=item.id,
                external_id=item.external_id,
                data=item.data,
                suggestion=None
                if s is None
                else SuggestionView(
                    value=list(s.value),
                    confidence=s.confidence,
                    model_version=versions.get(s.model_version_id),
                    pred_probs=dict(zip(schema.labels, s.pred_probs, strict=False)),
                ),
                lease_expires_at=expires,
            )
        )
    return views
