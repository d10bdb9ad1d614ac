"""The annotation queue: which items an annotator gets next, with leases so nobody collides.

Besides the project's query-strategy order, the queue mixes in quality-assurance items (see
``docs/qa.md``):

- **gold items** (``Item.gold`` set) at the project's ``gold_rate``, each at most once per
  annotator, never through the normal order; nothing in a :class:`QueueItem` tells them apart;
- **overlap items**: a share ``overlap_rate`` of the items goes to ``overlap`` annotators; items
  another annotator already answered come before fresh ones, so second opinions accumulate;
- **blind items**: a share ``blind_rate`` of (item, annotator) pairs is shown without the
  suggestion (``blind=True``), to measure anchoring on the suggestion.
"""

from __future__ import annotations

import functools
import hashlib
import math
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    bindparam,
    delete,
    exists,
    func,
    insert,
    select,
    update,
)

from labelloop.errors import InvalidInput, PoolExhausted
from labelloop.services.annotation.views import VIEW_COLUMNS, views
from labelloop.services.projects import MAX_LEASE_SECONDS, project_settings
from labelloop.services.results import QueueItem
from labelloop.store import (
    Annotation,
    Item,
    Lease,
    ModelVersion,
    Project,
    Source,
    Suggestion,
    repo,
    utcnow,
)
from labelloop.store.raw import Executor
from labelloop.store.repo import ProjectRef
from labelloop.store.suggestions import QUEUED

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "MAX_BATCH",
    "handed",
    "is_handed",
    "is_overlap_item",
    "next_items",
    "release_lease",
]

MAX_BATCH = 500
# Overlap items are chosen by a Weyl sequence over item ids: (id * A) mod P, P prime and A / P
# near the golden ratio, spreads any run of consecutive ids evenly over [0, P). The same formula
# runs in SQL and in Python.
_OVERLAP_P = 10007
_OVERLAP_A = 6211
# The per-request statements are built once per shape of the project's settings (building one
# costs more than SQLite takes to run it); these values are bound when they run.
_PROJECT = bindparam("project_id", type_=Integer)
_ANNOTATOR = bindparam("annotator", type_=String)
_EXCLUDE = bindparam("exclude", type_=Integer, expanding=True)
_LIMIT = bindparam("n", type_=Integer)


def is_overlap_item(item_id: int, overlap_rate: float) -> bool:
    """Whether ``item_id`` belongs to the share of items that several annotators label."""
    return (item_id * _OVERLAP_A) % _OVERLAP_P < overlap_rate * _OVERLAP_P


def next_items(
    ws: WorkspaceContext,
    name: str,
    *,
    n: int = 10,
    annotator: str | None = None,
) -> list[QueueItem]:
    """The next ``n`` items for ``annotator``, leased to them.

    The order was set by the project's query strategy when suggestions were last refreshed (it is
    re-ranked after every retrain); items without a suggestion yet come after, in cluster cold
    start's order where it set one (services/models/coldstart.py), else oldest first. An item
    leased to another annotator is not handed out until it is answered or its lease expires,
    unless it is an overlap item (``overlap`` > 1). Items already leased to ``annotator`` come
    first, so a reload does not lose them. Gold items are mixed in at ``gold_rate`` for named
    annotators. :class:`PoolExhausted` when nothing is left.
    """
    if not 1 <= n <= MAX_BATCH:
        raise InvalidInput(f"n must be between 1 and {MAX_BATCH}, got {n}", field="n")
    with ws.raw_transaction() as tx:
        params = {"name": name, "annotator": annotator or ""}
        state = tx.execute(_project_state(), params).first()
        if state is None:
            repo.missing_project(tx, name)
        project = ProjectRef.of(state)
        settings = project_settings(project)
        now = utcnow()
        tx.execute(_DELETE_EXPIRED, {"project_id": project.id, "now": now})
        mine = _open_leases(tx, project.id, annotator, settings) if annotator else []
        chosen = mine[:n]
        rows: dict[int, Any] = {}  # what the queue's walk read of the items it chose
        if len(chosen) < n:
            chosen += _new_items(tx, project.id, n - len(chosen), annotator, chosen,
                                 settings, history=state.latest_answer or 0, rows=rows)  # fmt: skip
        if not chosen:
            raise PoolExhausted(f"project {name!r} has no unlabelled items left for this annotator")
        # held to the setting's range (a workspace from before the check may hold more)
        lease = min(max(int(settings["lease_seconds"]), 1), MAX_LEASE_SECONDS)
        expires = now + timedelta(seconds=lease)
        if annotator:
            _lease(tx, project.id, annotator, chosen, renew=set(mine), expires=expires)
        expiry = expires if annotator else None
        return views(ws, tx, project, chosen, annotator, expiry, rows=rows)


@functools.cache
def _project_state() -> Any:
    """The project and the id of ``annotator``'s latest answer in it (which seeds the gold draw).

    The latest id, unlike a count of the answers, is one step down the (project_id, annotator,
    id) index: ``next`` costs the same after 50,000 answers as after the first.
    """
    latest = (
        select(func.max(Annotation.id))
        .where(Annotation.project_id == Project.id, Annotation.annotator == _ANNOTATOR)
        .scalar_subquery()
    )
    return select(
        Project.id,
        Project.name,
        Project.label_schema,
        Project.settings,
        latest.label("latest_answer"),
    ).where(Project.name == bindparam("name", type_=String))


def _lease(
    connection: Executor,
    project_id: int,
    annotator: str,
    item_ids: list[int],
    *,
    renew: set[int],
    expires: datetime,
) -> None:
    """Lease ``item_ids`` to ``annotator`` until ``expires``; those in ``renew`` are held already.

    The other items hold no lease of this annotator: every query that picks new items excludes
    them (and expired leases are gone), so they are inserted without looking first.
    """
    renewed = [i for i in item_ids if i in renew]
    if renewed:
        params = {"of_project": project_id, "of_annotator": annotator, "of_items": renewed}
        connection.execute(_RENEW, {**params, "expires": expires})
    fresh = [i for i in item_ids if i not in renew]
    if fresh:
        connection.execute(
            _INSERT_LEASE,
            [
                {
                    "project_id": project_id,
                    "item_id": i,
                    "annotator": annotator,
                    "skipped": False,
                    "expires_at": expires,
                }
                for i in fresh
            ],
        )


def _lock_queue(connection: Executor, project_id: int) -> None:
    """Serialise handing out items of one project, so two annotators never get the same item.

    SQLite transactions already start with ``BEGIN IMMEDIATE`` (one writer at a time); on
    PostgreSQL a transaction-scoped advisory lock on the project does the same for the queue only.

    It is taken as late as it can be, right before the first read of other annotators' leases
    (:func:`_fresh`), and held to commit. Under READ COMMITTED each statement after it sees every
    lease a ``next`` committed before, and no ``next`` waiting for it has written any. The steps
    before it need no lock: deleting expired leases, reading the annotator's own leases (locked
    ``FOR UPDATE``, so another ``next`` cannot delete one as expired while it is renewed here),
    gold items and second opinions (both may go to several annotators at once). No row lock is
    taken after it that a transaction waiting for it could hold, so the two kinds of lock never
    wait on each other in a cycle.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(_LOCK_QUEUE, {"key": project_id})


_LOCK_QUEUE = select(func.pg_advisory_xact_lock(bindparam("key", type_=Integer)))


def is_handed(session: Session, item_id: int, annotator: str) -> bool:
    """Whether ``item_id`` was handed to ``annotator`` (a lease, a skip) or answered by them."""
    params = {"item_id": item_id, "annotator": annotator}
    return bool(session.connection().execute(_HANDED, params).scalar())


def release_lease(connection: Executor, item_id: int, annotator: str | None) -> None:
    if annotator:
        connection.execute(_RELEASE, {"item_id": item_id, "annotator": annotator})


def handed(item_id: Any, annotator: Any) -> Any:
    """The condition behind :func:`is_handed`, for ``item_id`` a column or a bound value."""
    leased = exists().where(Lease.item_id == item_id, Lease.annotator == annotator)
    answered = exists().where(Annotation.item_id == item_id, Annotation.annotator == annotator)
    return leased | answered


_ITEM_ID = bindparam("item_id", type_=Integer)
_HANDED = select(handed(_ITEM_ID, _ANNOTATOR))
_RELEASE = delete(Lease).where(Lease.item_id == _ITEM_ID, Lease.annotator == _ANNOTATOR)
_DELETE_EXPIRED = delete(Lease).where(
    Lease.project_id == _PROJECT, Lease.expires_at < bindparam("now", type_=DateTime(timezone=True))
)
# (an UPDATE's bound parameters may not take its columns' names)
_RENEW = (
    update(Lease)
    .where(
        Lease.project_id == bindparam("of_project", type_=Integer),
        Lease.annotator == bindparam("of_annotator", type_=String),
        Lease.item_id.in_(bindparam("of_items", type_=Integer, expanding=True)),
    )
    .values(expires_at=bindparam("expires", type_=DateTime(timezone=True)))
)
_INSERT_LEASE = insert(Lease)


def _unlabelled() -> Any:
    return ~exists().where(
        Annotation.item_id == Item.id,
        Annotation.is_current.is_(True),
        Annotation.value.is_not(None),
    )


def _answered_by(annotator: Any) -> Any:
    """The annotator has answered the item (their own rows; adjudications do not count)."""
    return exists().where(
        Annotation.item_id == Item.id,
        Annotation.annotator == annotator,
        Annotation.value.is_not(None),
        Annotation.reviewed.is_(False),
    )


def _overlap_selected(rate: float) -> Any:
    return (Item.id * _OVERLAP_A) % _OVERLAP_P < rate * _OVERLAP_P


def _adjudicated() -> Any:
    return exists().where(
        Annotation.item_id == Item.id,
        Annotation.is_current.is_(True),
        Annotation.reviewed.is_(True),
    )


def _n_answerers() -> Any:
    return (
        select(func.count(func.distinct(Annotation.annotator)))
        .where(
            Annotation.item_id == Item.id,
            Annotation.value.is_not(None),
            Annotation.reviewed.is_(False),
            Annotation.source != Source.AUTO,
        )
        .scalar_subquery()
    )


def _overlap_pending(overlap: int, overlap_rate: float) -> Any:
    """Labelled overlap items that still want another annotator's answer."""
    return (
        Item.gold.is_(None)
        & _overlap_selected(overlap_rate)
        & ~_adjudicated()
        & (_n_answerers() < overlap)
    )


def _overlap(settings: dict[str, Any]) -> tuple[int, float]:
    """The project's (overlap, overlap_rate): how many annotators, for which share of items."""
    return int(settings["overlap"]), float(settings["overlap_rate"])


def _open_for(annotator: Any, overlap: int, overlap_rate: float) -> Any:
    """Items ``annotator`` may still answer: unlabelled, gold, or overlap items wanting more."""
    ordinary = Item.gold.is_(None) & _unlabelled()
    second = Item.gold.is_not(None)
    if overlap > 1 and overlap_rate > 0:
        second = second | _overlap_pending(overlap, overlap_rate)
    return ordinary | (second & ~_answered_by(annotator))


def _open_leases(
    connection: Executor, project_id: int, annotator: str, settings: dict[str, Any]
) -> list[int]:
    query = _open_leases_query(*_overlap(settings))
    params = {"project_id": project_id, "annotator": annotator}
    return list(connection.execute(query, params).scalars())


@functools.cache
def _open_leases_query(overlap: int, overlap_rate: float) -> Any:
    return (
        select(Lease.item_id)
        .join(Item, Item.id == Lease.item_id)
        .where(
            Lease.project_id == _PROJECT,
            Lease.annotator == _ANNOTATOR,
            Lease.skipped.is_(False),
            _open_for(_ANNOTATOR, overlap, overlap_rate),
        )
        .order_by(Lease.id)
        .with_for_update(of=Lease)
    )


def _rng(project_id: int, annotator: str, history: int) -> random.Random:
    """A generator seeded by the annotator's history (the id of their latest answer, which
    changes with every answer): reproducible, yet unknown to them."""
    seed = hashlib.sha256(f"gold:{project_id}:{annotator}:{history}".encode()).digest()
    return random.Random(int.from_bytes(seed[:8], "big"))


def _new_items(
    connection: Executor,
    project_id: int,
    n: int,
    annotator: str | None,
    exclude: list[int],
    settings: dict[str, Any],
    *,
    history: int,
    rows: dict[int, Any],
) -> list[int]:
    """New items for ``annotator``: gold, second opinions, then the queue's order. ``history``
    (see :func:`_rng`) seeds the gold draw; ``rows`` collects what the walk read."""
    gold: list[int] = []
    rng: random.Random | None = None
    rate = float(settings["gold_rate"])
    if annotator and rate > 0:
        rng = _rng(project_id, annotator, history)
        # stratified rounding: E[n_gold] = n * rate exactly, off by less than one per batch
        n_gold = min(n, math.floor(n * rate + rng.random()))
        if n_gold:
            gold = _gold(connection, project_id, n_gold, annotator, exclude, rng)
    chosen = list(exclude)
    picked: list[int] = []
    overlap, overlap_rate = _overlap(settings)
    if annotator and overlap > 1 and overlap_rate > 0:
        picked += _second_opinions(connection, project_id, n - len(gold), annotator, chosen,
                                   settings)  # fmt: skip
    if len(picked) < n - len(gold):
        picked += _fresh(connection, project_id, n - len(gold) - len(picked), annotator,
                         chosen + picked, settings, rows)  # fmt: skip
    if not gold:
        return picked
    # gold items take random places in the batch, so their position gives nothing away
    assert rng is not None
    out = list(picked)
    for item_id in gold:
        out.insert(rng.randint(0, len(out)), item_id)
    return out


def _gold(
    connection: Executor,
    project_id: int,
    n: int,
    annotator: str,
    exclude: list[int],
    rng: random.Random,
) -> list[int]:
    params = {"project_id": project_id, "annotator": annotator, "exclude": exclude}
    candidates = list(connection.execute(_gold_query(), params).scalars())
    return rng.sample(candidates, min(n, len(candidates)))


@functools.cache
def _gold_query() -> Any:
    """Gold items ``annotator`` has neither answered nor been handed."""
    return (
        select(Item.id)
        .where(
            Item.project_id == _PROJECT,
            Item.gold.is_not(None),
            ~_answered_by(_ANNOTATOR),
            ~exists().where(Lease.item_id == Item.id, Lease.annotator == _ANNOTATOR),
            Item.id.not_in(_EXCLUDE),
        )
        .order_by(Item.id)
    )


def _second_opinions(
    connection: Executor,
    project_id: int,
    n: int,
    annotator: str,
    exclude: list[int],
    settings: dict[str, Any],
) -> list[int]:
    if n <= 0:
        return []
    params = {"project_id": project_id, "annotator": annotator, "exclude": exclude, "n": n}
    return list(connection.execute(_second_opinions_query(*_overlap(settings)), params).scalars())


@functools.cache
def _second_opinions_query(overlap: int, overlap_rate: float) -> Any:
    """Labelled overlap items that want another answer, and not from ``annotator``."""
    return (
        select(Item.id)
        .where(
            Item.project_id == _PROJECT,
            ~_unlabelled(),
            _overlap_pending(overlap, overlap_rate),
            ~_answered_by(_ANNOTATOR),
            ~exists().where(Lease.item_id == Item.id, Lease.annotator == _ANNOTATOR),
            Item.id.not_in(_EXCLUDE),
        )
        .order_by(Item.id)
        .limit(_LIMIT)
    )


def _fresh(
    connection: Executor,
    project_id: int,
    n: int,
    annotator: str | None,
    exclude: list[int],
    settings: dict,
    rows: dict[int, Any],
) -> list[int]:
    """Open items in the queue's order; the walk reads what the annotator will see of them into
    ``rows``, so :func:`_views` need not read it again."""
    if n <= 0:
        return []
    _lock_queue(connection, project_id)
    ranked_query, unranked_query = _fresh_queries(*_overlap(settings), named=bool(annotator))
    params = {"project_id": project_id, "annotator": annotator or "", "exclude": exclude, "n": n}
    found = list(connection.execute(ranked_query, params))
    rows.update((row.id, row) for row in found)
    ranked = [row.id for row in found]
    if len(ranked) < n:
        params["n"] = n - len(ranked)
        ranked += list(connection.execute(unranked_query, params).scalars())
    return ranked


@functools.cache
def _fresh_queries(overlap: int, overlap_rate: float, *, named: bool) -> tuple[Any, Any]:
    """Open items in queue order, then those without a queued suggestion: cold start's order
    first (``Item.cold_rank``), then oldest first."""
    blocked = []
    others_lease = exists().where(
        Lease.item_id == Item.id,
        Lease.skipped.is_(False),
        Lease.annotator != _ANNOTATOR,
    )
    if overlap <= 1:
        blocked.append(others_lease)  # someone else holds it
    elif overlap_rate < 1.0:
        # only overlap items may be held by several annotators at once
        blocked.append(others_lease & ~_overlap_selected(overlap_rate))
    if named:
        # this annotator skipped it (or holds it already: those leases were served first)
        blocked.append(exists().where(Lease.item_id == Item.id, Lease.annotator == _ANNOTATOR))
    checks = [_unlabelled(), *[~b for b in blocked]]
    conditions = [
        Item.project_id == _PROJECT,
        Item.gold.is_(None),
        *checks,
        Item.id.not_in(_EXCLUDE),
    ]
    # Walk the (project_id, priority) index from the top and stop after n open items: the
    # tie-break on the suggestion's row id keeps the order the index already has, so no sort of
    # the whole pool is needed whatever its size. Labelled items' suggestions lie below 0
    # (store.suggestions.QUEUED), out of the walk's range. The walk meets few rows, so each check
    # runs per row: written as `(NOT EXISTS ...) IS TRUE`, PostgreSQL keeps it so, where it would
    # turn each NOT EXISTS into an anti-join and plan the order of five joins on every call
    # (2.6 ms of planning against 0.7, for a 0.2-0.35 ms walk).
    ranked = (
        select(*VIEW_COLUMNS)
        .select_from(Suggestion)
        .join(Item, Item.id == Suggestion.item_id)
        .outerjoin(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
        .where(
            Suggestion.project_id == _PROJECT,
            QUEUED,
            Item.project_id == _PROJECT,
            Item.gold.is_(None),
            *[check.is_(True) for check in checks],
            Item.id.not_in(_EXCLUDE),
        )
        .order_by(Suggestion.priority.desc(), Suggestion.id.desc())
        .limit(_LIMIT)
    )
    # no suggestion, or one out of the queue that an unlabelled item should not have: in the
    # cluster cold start's order where it set one (a project no model scores yet), else by id
    unranked = (
        select(Item.id)
        .where(*conditions, ~exists().where(Suggestion.item_id == Item.id, QUEUED))
        .order_by(Item.cold_rank.asc().nulls_last(), Item.id)
        .limit(_LIMIT)
    )
    return ranked, unranked
