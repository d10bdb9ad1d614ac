"""Create, list, describe and configure projects."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from labelloop.errors import Conflict, InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.results import ProjectInfo, ProjectStatus
from labelloop.store import Project, Source, repo
from labelloop.store.queries import projects as queries
from labelloop.tasks import Task, get_task, list_tasks, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "DEFAULT_SETTINGS",
    "SEMI_SUPERVISED_BELOW",
    "SEMI_SUPERVISED_MAX_ITEMS",
    "add_project",
    "check_backbone",
    "create_project",
    "implemented_task",
    "label_schema",
    "list_projects",
    "project_info",
    "project_settings",
    "project_status",
    "update_project",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

DEFAULT_SETTINGS: dict[str, Any] = {
    "retrain_every": 10,  # retrain after this many new or changed labels
    "strategy": "margin",
    "augment": "none",
    "head": "logreg",
    "overlap": 1,  # how many annotators see each item
    "lease_seconds": 600,
    "audit_rate": 0.05,  # share of auto-accepted labels sampled for human audit
    "auto_accept_paused": False,  # set when the audit falls below the target precision
    "gold_rate": 0.05,  # share of an annotator's queue drawn from gold items (docs/qa.md)
    "overlap_rate": 1.0,  # share of items that go to `overlap` annotators (when overlap > 1)
    "blind_rate": 0.0,  # share of (item, annotator) pairs shown without the suggestion
    "auto_accept_target": 0.98,  # precision the audit is held to (set by the last auto-accept)
    "seed": 0,  # seeds the query strategy (mixed with the model version at each re-rank)
    "finetune": False,  # fine-tune the backbone itself (SetFit) once enough labels exist
    "finetune_min_labels": 64,
    "finetune_max_pairs": 2000,  # contrastive pairs per fine-tuning run (CPU time scales with it)
    # learn from unlabelled items too (neighbourhood smoothing + self-training, docs/learning.md):
    # "auto": while the project has fewer than SEMI_SUPERVISED_BELOW labels and at most
    # SEMI_SUPERVISED_MAX_ITEMS items (predict compares every item with 10,000 references); or
    # "on" / "off"
    "semi_supervised": "auto",
}

SEMI_SUPERVISED_BELOW = 2000
"""With ``semi_supervised="auto"``: labels below which training learns from unlabelled items."""

SEMI_SUPERVISED_MAX_ITEMS = 100_000
"""With ``semi_supervised="auto"``: most items a project may have for it to be on."""


def label_schema(project: Project | repo.ProjectRef) -> LabelSchema:
    return LabelSchema.model_validate(project.label_schema)


def project_settings(project: Project | repo.ProjectRef) -> dict[str, Any]:
    """The project's settings, with :data:`DEFAULT_SETTINGS` for those it never set."""
    return {**DEFAULT_SETTINGS, **(project.settings or {})}


def _info(project: Project) -> ProjectInfo:
    schema = label_schema(project)
    return ProjectInfo(
        id=project.id,
        name=project.name,
        task=project.task,
        labels=list(schema.labels),
        multi_label=schema.multi_label,
        backbone=project.backbone,
        settings=project_settings(project),
        created_at=project.created_at,
        widget=task_for(schema).widget,
        allow_overlap=schema.allow_overlap,
    )


def _check_settings(settings: dict[str, Any]) -> dict[str, Any]:
    unknown = set(settings) - set(DEFAULT_SETTINGS)
    if unknown:
        raise InvalidInput(
            f"unknown setting(s) {', '.join(sorted(unknown))}; known: "
            f"{', '.join(sorted(DEFAULT_SETTINGS))}",
            field="settings",
        )
    for key, value in settings.items():
        kind = type(DEFAULT_SETTINGS[key])
        if kind is bool:
            if isinstance(value, str):
                if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise InvalidInput(f"{key} must be true or false, got {value!r}", field=key)
                value = value.lower() in ("true", "1", "yes")
            settings[key] = bool(value)
        elif kind is float:
            try:
                value = float(value)
            except (TypeError, ValueError):
                raise InvalidInput(f"{key} must be a number, got {value!r}", field=key) from None
            if not 0.0 <= value <= 1.0:
                raise InvalidInput(f"{key} must be between 0 and 1, got {value}", field=key)
            settings[key] = value
        elif kind is str:
            settings[key] = _check_choice(key, str(value))
        elif kind is int:
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise InvalidInput(
                    f"{key} must be a whole number, got {value!r}", field=key
                ) from None
            least = 0 if key == "seed" else 1
            if value < least:
                raise InvalidInput(f"{key} must be at least {least}, got {value}", field=key)
            settings[key] = value
    return settings


_CHOICES = {
    "strategy": (
        "margin", "least_confidence", "entropy", "random", "kcenter", "hybrid", "cold_start",
        "multilabel_uncertainty", "multilabel_entropy",
    ),
    "augment": ("none", "mixup"),
    "head": ("logreg", "mlp"),
    "semi_supervised": ("auto", "on", "off"),
}  # fmt: skip


def _check_choice(key: str, value: str) -> str:
    choices = _CHOICES.get(key)
    if choices is not None and value not in choices:
        raise InvalidInput(f"{key} must be one of {', '.join(choices)}; got {value!r}", field=key)
    return value


def implemented_task(task: str) -> Task:
    """The registered task type ``task`` that has an installed backbone of its modality.

    Raises:
        InvalidInput: The task type is unknown or not implemented yet (``spans``), or no backbone
            of its modality is installed; the message names the task types that work here.
    """
    from labelloop.backbones import installed_backbones

    modalities = {b.modality for b in installed_backbones()}
    usable = [t.name for t in list_tasks() if t.tags.modality in modalities]
    try:
        found = get_task(task)
    except InvalidInput:
        found = None
    if found is None or found.name not in usable:
        why = (
            f"needs {_a(found.tags.modality.value)} backbone and none is installed"
            if found is not None
            else "is not implemented"
        )
        raise InvalidInput(
            f"task type {task!r} {why}; implemented task types: {', '.join(usable)}",
            field="task",
        )
    return found


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def check_backbone(task: str, backbone: str | None) -> str:
    """``backbone`` (or the default for the task's modality), refused unless it is registered and
    embeds what the task's items hold (no text backbone for an image project)."""
    from labelloop.backbones import DEFAULT_BACKBONE, installed_backbones, list_backbones

    modality = get_task(task).tags.modality
    if backbone is None:
        same = [b.name for b in installed_backbones() if b.modality == modality]
        backbone = DEFAULT_BACKBONE if modality == Modality.TEXT or not same else same[0]
    infos = {b.name: b for b in list_backbones()}
    if backbone not in infos:
        raise InvalidInput(
            f"unknown backbone {backbone!r}; known: {', '.join(sorted(infos))}", field="backbone"
        )
    if infos[backbone].modality != modality:
        fits = sorted(b.name for b in infos.values() if b.modality == modality)
        raise InvalidInput(
            f"backbone {backbone!r} embeds {infos[backbone].modality.value}, but "
            f"{_a(task)} project needs {_a(modality.value)} backbone"
            + (f" ({', '.join(fits)})" if fits else ""),
            field="backbone",
        )
    return backbone


def create_project(
    ws: WorkspaceContext,
    name: str,
    *,
    labels: str | list[str],
    task: str = "text-classification",
    multi_label: bool = False,
    backbone: str | None = None,
    descriptions: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> ProjectInfo:
    """Create a project with a label schema; :class:`Conflict` if the name is taken.

    The task type must be implemented (:func:`implemented_task`) and the backbone of its modality
    (default: the default text backbone, or the first installed one of the modality).
    """
    with ws.transaction() as session:
        return add_project(
            session, name, labels=labels, task=task, multi_label=multi_label, backbone=backbone,
            descriptions=descriptions, settings=settings,
        )  # fmt: skip


def add_project(
    session: Session,
    name: str,
    *,
    labels: str | list[str],
    task: str = "text-classification",
    multi_label: bool = False,
    backbone: str | None = None,
    descriptions: dict[str, str] | None = None,
    settings: dict[str, Any] | None = None,
) -> ProjectInfo:
    """:func:`create_project` in the caller's transaction, for a use-case that writes more in it
    (:func:`labelloop.services.users.create_project_with_admin`); commits nothing."""
    if not _NAME.match(name):
        raise InvalidInput(
            f"project name {name!r} must be 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit",
            field="name",
        )
    implemented_task(task)
    schema = LabelSchema.parse(task, labels, multi_label=multi_label, descriptions=descriptions)
    backbone = check_backbone(schema.task, backbone)
    if queries.project_id_named(session, name) is not None:
        raise Conflict(f"a project named {name!r} already exists")
    project = Project(
        name=name,
        task=schema.task.value,
        label_schema=schema.model_dump(mode="json"),
        backbone=backbone,
        settings=_check_settings(dict(settings or {})),
    )
    session.add(project)
    session.flush()
    return _info(project)


def list_projects(ws: WorkspaceContext) -> list[ProjectInfo]:
    with ws.transaction() as session:
        return [_info(p) for p in repo.list_projects(session)]


def project_info(ws: WorkspaceContext, name: str) -> ProjectInfo:
    with ws.transaction() as session:
        return _info(repo.get_project(session, name))


def update_project(
    ws: WorkspaceContext,
    name: str,
    *,
    backbone: str | None = None,
    settings: dict[str, Any] | None = None,
    descriptions: dict[str, str] | None = None,
) -> ProjectInfo:
    """Change a project's backbone (of the task's modality), settings or label descriptions."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        if backbone is not None:
            project.backbone = check_backbone(label_schema(project).task, backbone)
        if settings:
            project.settings = {**(project.settings or {}), **_check_settings(dict(settings))}
        if descriptions is not None:
            schema = label_schema(project)
            updated = LabelSchema.parse(
                schema.task,
                list(schema.labels),
                multi_label=schema.multi_label,
                descriptions={**schema.descriptions, **descriptions},
            )
            project.label_schema = updated.model_dump(mode="json")
        session.flush()
        return _info(project)


def project_status(ws: WorkspaceContext, name: str) -> ProjectStatus:
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        by_source: dict[str, int] = dict.fromkeys(Source, 0)
        by_source.update(repo.source_counts(session, project.id))
        counts = dict.fromkeys(schema.labels, 0)
        counts.update(repo.label_counts(session, project.id))
        champion = repo.champion(session, project.id)
        n_suggestions = queries.count_suggestions(session, project.id)
        return ProjectStatus(
            project=project.name,
            task=project.task,
            backbone=project.backbone,
            items=repo.count_items(session, project.id),
            labelled=sum(by_source.values()),
            by_source=by_source,
            label_counts=counts,
            champion=champion.version if champion else None,
            suggestions=n_suggestions,
        )
