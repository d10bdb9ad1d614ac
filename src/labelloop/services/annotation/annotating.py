"""Submit, skip and undo annotations: each call one transaction, safe to repeat."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Integer, Row, Select, String, bindparam, func, select
from sqlalchemy.orm import aliased

from labelloop.errors import InvalidInput, NotFound, PermissionDenied
from labelloop.schema import LabelSchema
from labelloop.services.annotation.queue import handed, release_lease
from labelloop.services.annotation.views import is_blind
from labelloop.services.projects import MAX_RETRAIN_EVERY, label_schema, project_settings
from labelloop.services.results import SubmitResult
from labelloop.store import (
    HUMAN_SOURCES,
    Annotation,
    Item,
    Lease,
    ModelKind,
    ModelVersion,
    Project,
    Source,
    Suggestion,
    repo,
    utcnow,
)
from labelloop.store.repo import ProjectRef
from labelloop.store.suggestions import set_item_queued, set_queued
from labelloop.tasks import AnswerValue, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext
    from labelloop.store.raw import Executor

__all__ = ["changes_since_training", "check_value", "skip", "submit", "submit_in", "undo"]

MAX_SECONDS = 24 * 3600.0
_BEFORE_ANY_MODEL = datetime.min.replace(tzinfo=UTC)
# A request id with this prefix marks a reviewer's adjudication (services.review uses it too).
REVIEW_PREFIX = "review-"


def check_value(
    schema: LabelSchema,
    value: Any,
    *,
    data: Mapping[str, Any] | None = None,
    media_root: Path | None = None,
) -> list[Any]:
    """Validate an answer with the project's task; returns it normalised (labels in schema
    order, whatever order they were clicked in; spans snapped to the tokens of ``data``; boxes
    inside the image that ``data`` names, relative to ``media_root``)."""
    return task_for(schema).check_answer(schema, value, data=data, media_root=media_root)


_ITEM_DATA = select(Item.data).where(Item.id == bindparam("item_id", type_=Integer))


_ITEM = select(Item.id, Item.project_id, Item.gold).where(
    Item.id == bindparam("item_id", type_=Integer)
)
_CURRENT = select(
    Annotation.id,
    Annotation.value,
    Annotation.source,
    Annotation.model_version_id,
    Annotation.annotator,
).where(Annotation.item_id == bindparam("item_id", type_=Integer), Annotation.is_current.is_(True))


@functools.cache
def _submit_state() -> Select[Any]:
    """Everything submit reads, in one round trip: the project, the item, whether the queue
    handed it to the annotator, an earlier answer with the same request id, the item's
    suggestion (with its model version's number), its current label, and the answers since
    training (up to ``up_to``). A row per project named ``name`` (none if there is none); the
    item's columns are NULL if it is not in the project."""
    item_id = bindparam("item_id", type_=Integer)
    annotator = bindparam("annotator", type_=String)
    current = aliased(Annotation)
    earlier = aliased(Annotation)
    return (
        select(
            Project.id,
            Project.name,
            Project.label_schema,
            Project.settings,
            Item.id.label("item_id"),
            Item.gold,
            handed(Item.id, annotator).label("handed"),
            Suggestion.value.label("suggested"),
            Suggestion.model_version_id.label("suggested_by"),
            Suggestion.priority.label("priority"),
            ModelVersion.version.label("suggested_version"),
            _changes_since_training(Project.id, limited=True).scalar_subquery().label("changes"),
            current.value.label("current_value"),
            current.reviewed.label("current_reviewed"),
            earlier.id.label("earlier_id"),
            earlier.item_id.label("earlier_item_id"),
            earlier.value.label("earlier_value"),
            earlier.source.label("earlier_source"),
            earlier.model_version_id.label("earlier_model_version_id"),
        )
        .select_from(Project)
        .outerjoin(Item, (Item.id == item_id) & (Item.project_id == Project.id))
        .outerjoin(Suggestion, Suggestion.item_id == Item.id)
        .outerjoin(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
        .outerjoin(current, (current.item_id == Item.id) & current.is_current.is_(True))
        .outerjoin(
            earlier,
            (earlier.project_id == Project.id)
            & (earlier.request_id == bindparam("request_id", type_=String)),
        )
        .where(Project.name == bindparam("name", type_=String))
    )


class _Answer(NamedTuple):
    id: int
    item_id: int
    value: list[str] | None
    source: str
    model_version_id: int | None


def _item(session: Session, project: ProjectRef, item_id: int) -> Row[Any]:
    item = session.connection().execute(_ITEM, {"item_id": item_id}).one_or_none()
    if item is None or item.project_id != project.id:
        raise NotFound(f"no item {item_id} in project {project.name!r}")
    return item


def _current(session: Session, item_id: int) -> Row[Any] | None:
    """The item's current annotation (its label, or a retraction), if it has any."""
    return session.connection().execute(_CURRENT, {"item_id": item_id}).one_or_none()


def submit(
    ws: WorkspaceContext,
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
    """Store a label for an item.

    The source is ``model_accepted`` when the label equals the model's suggestion (the annotator
    only confirmed it) and ``human`` otherwise (always ``human`` for an item shown blind); either
    way the suggestion's model version is kept as provenance. A correction appends a row: earlier
    answers stay in the history. Repeating a call with the same ``request_id`` stores nothing new
    and returns the first result.

    Quality assurance (docs/qa.md): ``reviewed=True`` (or a ``request_id`` starting with
    ``review-``) marks a reviewer's adjudication. An answer on a gold item, or on an item whose
    current label is an adjudication, is kept as that annotator's answer in the history but does
    not become the item's label. ``Annotation.blind`` records whether the queue hid the
    suggestion from this annotator.

    ``handed_only=True`` (the server sets it for annotators) refuses an item that the queue did
    not hand to ``annotator`` and that they never answered (:class:`PermissionDenied`); it is
    checked in the same transaction as the write.

    This is the busiest write of the web app: one read, then the writes, all prebuilt Core
    statements (each round trip to PostgreSQL costs more than what it does). The write that
    supersedes the current label always runs, though the read may have seen none: on PostgreSQL
    another transaction may commit one in between.
    """
    with ws.raw_transaction() as tx:
        return submit_in(
            tx, name, item_id, value, annotator=annotator, seconds=seconds,
            request_id=request_id, reviewed=reviewed, handed_only=handed_only,
            media_root=ws.media_root,
        )  # fmt: skip


def submit_in(
    tx: Executor,
    name: str,
    item_id: int,
    value: AnswerValue,
    *,
    annotator: str | None,
    seconds: float | None = None,
    request_id: str | None = None,
    reviewed: bool = False,
    handed_only: bool = False,
    media_root: Path | None = None,
) -> SubmitResult:
    """:func:`submit` inside the caller's transaction: ``tx`` is the submit's
    :class:`~labelloop.store.raw.RawTransaction` or, for a use-case that writes more in the same
    transaction (a reviewer's adjudication), ``session.connection()``. Nothing is committed.
    ``media_root`` (the workspace's) resolves the item's image for answers checked against it
    (boxes)."""
    if seconds is not None and not 0 <= seconds <= MAX_SECONDS:
        raise InvalidInput(f"seconds must be between 0 and {MAX_SECONDS:.0f}", field="seconds")
    if request_id is not None and (not 0 < len(request_id) <= 100 or "\x00" in request_id):
        raise InvalidInput(
            "request_id must be 1-100 characters, without NUL (\\x00)", field="request_id"
        )
    params = {"name": name, "item_id": item_id, "annotator": annotator or "",
              "request_id": request_id, "up_to": _retrain_every_seen.get(name, 1)}  # fmt: skip
    state = tx.execute(_submit_state(), params).first()
    if state is None:
        repo.missing_project(tx, name)
    project = ProjectRef.of(state)
    if state.item_id is None:
        raise NotFound(f"no item {item_id} in project {name!r}")
    if handed_only and not state.handed:
        raise PermissionDenied("annotators answer only the items their queue hands them")
    schema = label_schema(project)
    data = None
    if task_for(schema).tags.token_level:  # the answer points into the item: check it there
        data = tx.execute(_ITEM_DATA, {"item_id": item_id}).scalar()
    labels = check_value(schema, value, data=data, media_root=media_root)
    if state.earlier_id is not None:
        earlier = _Answer(state.earlier_id, state.earlier_item_id, state.earlier_value,
                          state.earlier_source, state.earlier_model_version_id)  # fmt: skip
        return _result(tx, project, earlier, duplicate=True)
    reviewed = reviewed or (request_id or "").startswith(REVIEW_PREFIX)
    settings = project_settings(project)
    blind = not reviewed and is_blind(project.id, item_id, annotator,
                                      float(settings["blind_rate"]))  # fmt: skip
    suggested = state.suggested is not None
    accepted = not blind and suggested and list(state.suggested) == labels
    source = Source.MODEL_ACCEPTED if accepted else Source.HUMAN
    model_version_id = state.suggested_by if suggested else None
    # gold answers and answers after an adjudication do not replace the item's label
    current = state.gold is None and (
        reviewed or state.current_value is None or not state.current_reviewed
    )
    annotation_id = repo.add_annotation(
        tx,
        project_id=project.id,
        item_id=item_id,
        value=labels,
        source=source,
        annotator=annotator,
        model_version_id=model_version_id,
        seconds=seconds,
        request_id=request_id,
        blind=blind,
        reviewed=reviewed,
        current=current,
    )
    if current and suggested and state.priority >= 0:
        set_item_queued(tx, item_id, False)
    release_lease(tx, item_id, annotator)
    answer = _Answer(annotation_id, item_id, labels, source, model_version_id)
    every = _retrain_every(settings)
    if every != params["up_to"]:  # the first submit in this process, or the setting changed
        _retrain_every_seen[name] = every
        return _result(tx, project, answer)
    # the answer just stored is one more change since training (it is human, and newer
    # than any model), so the count read before it, up to `every`, is enough
    changes = min((state.changes or 0) + 1, every)
    version = state.suggested_version if suggested else None
    return _result_of(answer, version, changes, every)


def skip(ws: WorkspaceContext, name: str, item_id: int, *, annotator: str) -> None:
    """Hand the item back: others may get it; this annotator does not see it again for a day."""
    with ws.transaction() as session:
        project = repo.get_project_ref(session, name)
        item = _item(session, project, item_id)
        release_lease(session.connection(), item.id, annotator)
        session.add(
            Lease(
                project_id=project.id,
                item_id=item.id,
                annotator=annotator,
                skipped=True,
                expires_at=utcnow() + timedelta(days=1),
            )
        )


def undo(
    ws: WorkspaceContext, name: str, item_id: int, *, annotator: str | None, admin: bool = False
) -> SubmitResult:
    """Retract the item's current label (kept in history); the item returns to the queue.

    An annotator may undo only their own label; ``admin=True`` undoes anyone's.
    """
    with ws.transaction() as session:
        project = repo.get_project_ref(session, name)
        item = _item(session, project, item_id)
        current = _current(session, item.id)
        if current is None or current.value is None:
            raise InvalidInput(f"item {item_id} has no label to undo", field="item_id")
        if not admin and current.annotator != annotator:
            raise PermissionDenied("only the annotator who gave a label (or an admin) can undo it")
        retraction = repo.add_annotation(
            session,
            project_id=project.id,
            item_id=item.id,
            value=None,
            source=current.source,
            annotator=annotator,
            model_version_id=current.model_version_id,
        )
        set_queued(session, item.id, True)
        answer = _Answer(retraction, item.id, None, current.source, current.model_version_id)
        return _result(session.connection(), project, answer)


def changes_since_training(session: Session, project_id: int, *, up_to: int | None = None) -> int:
    """Human answers (new, changed or undone labels) since the newest trained model version.

    ``up_to`` stops counting there: enough to tell whether a retrain is due, at a cost that does
    not grow with the answers given while no model trains.
    """
    query = _changes_since_training(_PROJECT_ID, limited=up_to is not None)
    return session.scalar(query, {"project_id": project_id, "up_to": up_to}) or 0


_PROJECT_ID = bindparam("project_id", type_=Integer)
# project name -> its retrain_every as the last submit read it: submit counts the answers since
# training up to this many in its first read, and checks the guess against the settings it reads.
# Only values from _retrain_every go in, so the guess is always one the database can bind.
_retrain_every_seen: dict[str, int] = {}


def _retrain_every(settings: Mapping[str, Any]) -> int:
    """The project's ``retrain_every``, held to its range: settings are checked when set, but a
    workspace written before the check may hold any number, which must not reach the cache
    above (a value the database cannot bind would fail every later submit)."""
    return min(max(int(settings["retrain_every"]), 1), MAX_RETRAIN_EVERY)


@functools.cache
def _changes_since_training(project_id: Any, *, limited: bool) -> Select[Any]:
    """The count behind :func:`changes_since_training`, built once per ``project_id`` (a bound
    parameter, or a column of an enclosing query); binds ``up_to`` when ``limited``."""
    last = (
        select(func.max(ModelVersion.created_at))
        .where(
            ModelVersion.project_id == project_id,
            ModelVersion.kind.in_((ModelKind.HEAD, ModelKind.FINETUNED)),
        )
        .scalar_subquery()
    )
    # one range over the (project_id, created_at, source) index, which holds every column the
    # count needs: no table rows are read, and no scan of all answers when a model exists
    answers = select(Annotation.id).where(
        Annotation.project_id == project_id,
        Annotation.created_at > func.coalesce(last, _BEFORE_ANY_MODEL),
        Annotation.source.in_(HUMAN_SOURCES),
    )
    if limited:
        answers = answers.limit(bindparam("up_to", type_=Integer))
    return select(func.count()).select_from(answers.subquery())


@functools.cache
def _result_query() -> Select[Any]:
    """One round trip for the suggestion's model version and the changes since training."""
    version = (
        select(ModelVersion.version)
        .where(ModelVersion.id == bindparam("model_version_id", type_=Integer))
        .scalar_subquery()
    )
    return select(version, _changes_since_training(_PROJECT_ID, limited=True).scalar_subquery())


def _result(
    connection: Executor,
    project: ProjectRef,
    annotation: _Answer | Row[Any],
    *,
    duplicate: bool = False,
) -> SubmitResult:
    every = _retrain_every(project_settings(project))
    params = {
        "project_id": project.id,
        "up_to": every,
        "model_version_id": annotation.model_version_id,
    }
    model_version, changes = connection.execute(_result_query(), params).one()
    return _result_of(annotation, model_version, changes or 0, every, duplicate=duplicate)


def _result_of(
    annotation: _Answer | Row[Any],
    model_version: int | None,
    changes: int,
    every: int,
    *,
    duplicate: bool = False,
) -> SubmitResult:
    return SubmitResult(
        annotation_id=annotation.id,
        item_id=annotation.item_id,
        value=annotation.value,
        source=annotation.source,
        model_version=model_version,
        duplicate=duplicate,
        changes_since_training=changes,
        retrain_due=changes >= every,
    )
