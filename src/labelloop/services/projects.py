"""Create, list, describe and configure projects."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from labelloop.errors import Conflict, InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.results import ProjectInfo, ProjectStatus
from labelloop.store import Project, Source, repo
from labelloop.store.queries import projects as queries
from labelloop.tasks import AnswerShape, Task, get_task, list_tasks, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "DEFAULT_SETTINGS",
    "MAX_LEASE_SECONDS",
    "MAX_RETRAIN_EVERY",
    "SEMI_SUPERVISED_BELOW",
    "SEMI_SUPERVISED_MAX_ITEMS",
    "SEQUENCE_STRATEGIES",
    "ProjectSettings",
    "TaskChoice",
    "add_project",
    "check_backbone",
    "check_predictor",
    "check_settings",
    "check_strategy",
    "check_type_map",
    "create_project",
    "implemented_task",
    "label_schema",
    "list_projects",
    "project_info",
    "project_settings",
    "project_status",
    "setting_range",
    "task_choices",
    "update_project",
]

# fullmatch: `$` would let a trailing newline through
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def _no_bool(value: object) -> object:
    # JSON `true` is not a number: pydantic would read it as 1
    if isinstance(value, bool):
        raise ValueError("input should be a number, not true or false")
    return value


Count = Annotated[int, BeforeValidator(_no_bool)]
Rate = Annotated[float, BeforeValidator(_no_bool), Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Strategy = Literal[
    "margin", "least_confidence", "entropy", "random", "kcenter", "hybrid", "cold_start",
    "multilabel_uncertainty", "multilabel_entropy", "mnlp", "token_entropy",
]  # fmt: skip
#: Strategies only span projects run (sequence scores); see :func:`check_strategy`.
SEQUENCE_STRATEGIES = ("mnlp", "token_entropy", "random")

MAX_RETRAIN_EVERY = 1_000_000
MAX_LEASE_SECONDS = 30 * 24 * 3600
MAX_AUGMENT_COPIES = 16


class ProjectSettings(BaseModel):
    """Every project setting with its type, range and default: the one check of a setting,
    whether it comes from the CLI (``--set KEY=VALUE``, a string), REST (JSON) or Python.

    Strings are read as the field's type (``"0.05"``, ``"true"``, ``"25"``); a value of the
    wrong type or out of range raises :class:`~labelloop.errors.InvalidInput` naming the setting
    (see :func:`check_settings`). The bounds keep every value within what the queue, the
    database and the retrain count can hold (a lease of 10^12 seconds overflows a date).

    Example:
        >>> ProjectSettings(gold_rate="0.1").gold_rate
        0.1
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    retrain_every: Count = Field(
        default=10,
        ge=1,
        le=MAX_RETRAIN_EVERY,
        description="retrain after this many new or changed labels",
    )
    strategy: Strategy = Field(default="margin", description="the queue order (query strategy)")
    augment: Literal["none", "mixup"] = Field(
        default="none", description="training-time augmentation"
    )
    augment_copies: Count = Field(
        default=0,
        ge=0,
        le=MAX_AUGMENT_COPIES,
        description="image projects: augmented copies (flip, crop, colour) of each labelled "
        "image the head also trains on; 0 for none (docs/learning.md)",
    )
    head: Literal["logreg", "mlp"] = Field(default="logreg", description="the classifier head")
    overlap: Count = Field(default=1, ge=1, le=100, description="how many annotators see each item")
    lease_seconds: Count = Field(
        default=600,
        ge=1,
        le=MAX_LEASE_SECONDS,
        description="how long an item handed to an annotator stays theirs (at most 30 days)",
    )
    audit_rate: Rate = Field(
        default=0.05, description="share of auto-accepted labels sampled for human audit"
    )
    auto_accept_paused: bool = Field(
        default=False, description="set when the audit falls below the target precision"
    )
    gold_rate: Rate = Field(
        default=0.05, description="share of an annotator's queue drawn from gold items (docs/qa.md)"
    )
    overlap_rate: Rate = Field(
        default=1.0, description="share of items that go to `overlap` annotators (when overlap > 1)"
    )
    blind_rate: Rate = Field(
        default=0.0, description="share of (item, annotator) pairs shown without the suggestion"
    )
    auto_accept_target: Rate = Field(
        default=0.98, description="precision the audit is held to (set by the last auto-accept)"
    )
    seed: Count = Field(
        default=0,
        ge=0,
        le=2**31 - 1,
        description="seeds the query strategy (mixed with the model version at each re-rank)",
    )
    finetune: bool = Field(
        default=False, description="fine-tune the backbone itself (SetFit) once enough labels exist"
    )
    finetune_min_labels: Count = Field(
        default=64, ge=1, le=MAX_RETRAIN_EVERY, description="labels needed before fine-tuning"
    )
    finetune_max_pairs: Count = Field(
        default=2000,
        ge=1,
        le=1_000_000,
        description="contrastive pairs per fine-tuning run (CPU time scales with it)",
    )
    # learn from unlabelled items too (neighbourhood smoothing + self-training, docs/learning.md):
    # "auto": while the project has fewer than SEMI_SUPERVISED_BELOW labels and at most
    # SEMI_SUPERVISED_MAX_ITEMS items (predict compares every item with 10,000 references)
    semi_supervised: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="train on unlabelled items too: auto, on or off (docs/learning.md)",
    )
    predictor: str = Field(
        default="",
        max_length=50,
        description="your own model instead of the built-in ones: a predictor plug-in's name or "
        "label-studio-ml; empty for the built-in models (docs/plugins.md)",
    )
    predictor_url: str = Field(
        default="",
        max_length=2000,
        description="the predictor's model server, e.g. a Label Studio ML backend's base URL",
    )


DEFAULT_SETTINGS: dict[str, Any] = ProjectSettings().model_dump()
"""Every setting's default (a copy of :class:`ProjectSettings`' defaults)."""

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
        descriptions=dict(schema.descriptions),
        allow_overlap=schema.allow_overlap,
        type_map=_effective_type_map(schema),
    )


def _effective_type_map(schema: LabelSchema) -> dict[str, str] | None:
    answer = task_for(schema).tags.answer
    if answer is AnswerShape.BOXES:  # same-named detector classes map without an entry
        return dict(schema.type_map)
    if answer is not AnswerShape.SPANS:
        return None
    from labelloop.learn.spans import default_type_map

    return default_type_map(schema.labels, schema.type_map)


def setting_range(key: str) -> str:
    """What setting ``key`` accepts, in words ("a whole number from 1 to 1000000")."""
    field = ProjectSettings.model_fields[key]
    if get_origin(field.annotation) is Literal:
        return "one of " + ", ".join(map(str, get_args(field.annotation)))
    if field.annotation is bool:
        return "true or false"
    if field.annotation is str:
        longest = next(m.max_length for m in field.metadata if hasattr(m, "max_length"))
        return f"text of at most {longest} characters"
    bounds = {
        k: v for m in field.metadata for k in ("ge", "le") if (v := getattr(m, k, None)) is not None
    }
    kind = "a whole number" if field.annotation is int else "a number"
    return f"{kind} from {bounds['ge']} to {bounds['le']}"


def check_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` (some of a project's settings) checked and converted by
    :class:`ProjectSettings`; only the keys given are returned.

    Raises:
        InvalidInput: An unknown setting, or a value of the wrong type or out of range; the
            message and ``field`` name the setting.
    """
    unknown = set(settings) - set(ProjectSettings.model_fields)
    if unknown:
        raise InvalidInput(
            f"unknown setting(s) {', '.join(sorted(map(str, unknown)))}; known: "
            f"{', '.join(sorted(ProjectSettings.model_fields))}",
            field="settings",
        )
    try:
        checked = ProjectSettings.model_validate(dict(settings))
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0])
        raise InvalidInput(
            f"{key} must be {setting_range(key)}, got {first.get('input')!r:.60}", field=key
        ) from None
    return {key: getattr(checked, key) for key in settings}


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


class TaskChoice(BaseModel):
    """A task type a project can be created with (the web app's form lists them)."""

    name: str
    modality: str = Field(description="what an item is: text, image or audio")
    answer: str = Field(description="what an answer is: choices (labels) or spans")
    multi_label: bool = Field(description="whether its projects may be multi-label")


def task_choices() -> list[TaskChoice]:
    """The registered task types that have an installed backbone of their modality (those
    :func:`implemented_task` accepts), in registry order."""
    from labelloop.backbones import installed_backbones

    modalities = {b.modality for b in installed_backbones()}
    return [
        TaskChoice(
            name=t.name,
            modality=t.tags.modality.value,
            answer=t.tags.answer.value,
            multi_label=t.tags.multi_label,
        )
        for t in list_tasks()
        if t.tags.modality in modalities
    ]


def _a(word: str) -> str:
    return f"{'an' if word[0] in 'aeiou' else 'a'} {word}"


def check_backbone(task: str, backbone: str | None) -> str:
    """``backbone`` (or the default for the task's modality), refused unless it is registered and
    embeds what the task's items hold (no text backbone for an image project).

    The default is ``minilm-l6`` for text; for images ``efficientnet-lite0`` when installed;
    otherwise the first installed backbone of the modality."""
    from labelloop.backbones import (
        DEFAULT_BACKBONE,
        DEFAULT_IMAGE_BACKBONE,
        installed_backbones,
        list_backbones,
    )

    modality = get_task(task).tags.modality
    if backbone is None:
        same = [b.name for b in installed_backbones() if b.modality == modality]
        if modality == Modality.TEXT or not same:
            backbone = DEFAULT_BACKBONE
        elif modality == Modality.IMAGE and DEFAULT_IMAGE_BACKBONE in same:
            backbone = DEFAULT_IMAGE_BACKBONE
        else:
            backbone = same[0]
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
    allow_overlap: bool = False,
    type_map: dict[str, str] | None = None,
) -> ProjectInfo:
    """Create a project with a label schema; :class:`Conflict` if the name is taken.

    The task type must be implemented (:func:`implemented_task`) and the backbone of its modality
    (default: the default text backbone, or the first installed one of the modality). Span
    projects may allow overlapping spans and map a pre-trained model's entity types onto their
    labels (``type_map``, :func:`check_type_map`).
    """
    with ws.transaction() as session:
        return add_project(
            session, name, labels=labels, task=task, multi_label=multi_label, backbone=backbone,
            descriptions=descriptions, settings=settings, allow_overlap=allow_overlap,
            type_map=type_map,
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
    allow_overlap: bool = False,
    type_map: dict[str, str] | None = None,
) -> ProjectInfo:
    """:func:`create_project` in the caller's transaction, for a use-case that writes more in it
    (:func:`labelloop.services.users.create_project_with_admin`); commits nothing."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput(
            f"project name {name!r} must be 1-100 letters, digits, '_', '-' or '.', "
            "starting with a letter or digit",
            field="name",
        )
    implemented_task(task)
    schema = LabelSchema.parse(
        task, labels, multi_label=multi_label, descriptions=descriptions,
        allow_overlap=allow_overlap, type_map=check_type_map(task, type_map),
    )  # fmt: skip
    if allow_overlap and task_for(schema).tags.answer is not AnswerShape.SPANS:
        raise InvalidInput("allow_overlap applies to span projects only", field="allow_overlap")
    backbone = check_backbone(schema.task, backbone)
    if queries.project_id_named(session, name) is not None:
        raise Conflict(f"a project named {name!r} already exists")
    project = Project(
        name=name,
        task=schema.task.value,
        label_schema=schema.model_dump(mode="json"),
        backbone=backbone,
        settings=check_predictor(schema, check_strategy(schema, check_settings(settings or {}))),
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
    allow_overlap: bool | None = None,
    type_map: dict[str, str] | None = None,
) -> ProjectInfo:
    """Change a project's backbone (of the task's modality), settings, label descriptions, or,
    for a span project, whether spans may overlap and its type map (``type_map`` entries are
    merged into the map; ``""`` drops a type). Answers already stored are kept as they are."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        if backbone is not None:
            project.backbone = check_backbone(schema.task, backbone)
        if settings:
            checked = check_strategy(schema, check_settings(settings))
            check_predictor(schema, {**(project.settings or {}), **checked})
            project.settings = {**(project.settings or {}), **checked}
        if descriptions is not None or allow_overlap is not None or type_map is not None:
            spans_only = {"allow_overlap": allow_overlap, "type_map": type_map}
            answer = task_for(schema).tags.answer
            for field, given in spans_only.items():
                boxes_too = field == "type_map" and answer is AnswerShape.BOXES
                if given is not None and answer is not AnswerShape.SPANS and not boxes_too:
                    raise InvalidInput(f"{field} applies to span projects only", field=field)
            updated = LabelSchema.parse(
                schema.task,
                list(schema.labels),
                multi_label=schema.multi_label,
                descriptions={**schema.descriptions, **(descriptions or {})},
                allow_overlap=schema.allow_overlap if allow_overlap is None else allow_overlap,
                type_map={**schema.type_map, **check_type_map(schema.task, type_map)},
            )
            project.label_schema = updated.model_dump(mode="json")
        session.flush()
        return _info(project)


def check_type_map(task: str, type_map: Mapping[str, str] | None) -> dict[str, str]:
    """``type_map`` checked: for spans, keys must be the pre-trained recogniser's entity types
    (the OntoNotes types of spaCy's ``en_core_web_sm``); for image boxes they are the detector's
    classes, checked when the detector is loaded to train
    (:func:`labelloop.learn.boxes.map_detector_labels`). The labels are checked by the schema.

    Raises:
        InvalidInput: A key is not an OntoNotes type.
    """
    if not type_map:
        return {}
    if get_task(task).tags.answer is AnswerShape.BOXES:
        return {str(k): str(v) for k, v in type_map.items()}
    from labelloop.learn.spans import ONTONOTES_TYPES

    unknown = sorted(set(type_map) - set(ONTONOTES_TYPES))
    if unknown:
        raise InvalidInput(
            f"type_map names unknown entity types {unknown}; the pre-trained model's types are "
            f"{', '.join(ONTONOTES_TYPES)}",
            field="type_map",
        )
    return {str(k): str(v) for k, v in type_map.items()}


def check_predictor(schema: LabelSchema, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` unchanged when its ``predictor`` (if any) is registered, reads the project's
    modality, answers a classification task and has the ``predictor_url`` it needs (an http(s)
    URL).

    Raises:
        InvalidInput: Any of these fails; ``field`` is ``predictor`` or ``predictor_url``.
        PluginError: The named predictor is an installed plug-in that does not load.
    """
    name, url = settings.get("predictor") or "", settings.get("predictor_url") or ""
    if url and not url.startswith(("http://", "https://")):
        raise InvalidInput(
            f"must be an http:// or https:// URL, got {url!r:.60}", field="predictor_url"
        )
    if not name:
        return settings
    from labelloop.predictors import predictor_info

    try:
        info = predictor_info(name)
    except InvalidInput as exc:
        raise InvalidInput(exc.reason, field="predictor") from None
    task = task_for(schema)
    if task.tags.answer is AnswerShape.SPANS:
        raise InvalidInput(
            "predictors answer classification projects, not spans", field="predictor"
        )
    if task.tags.modality not in info.modalities:
        reads = ", ".join(m.value for m in info.modalities)
        raise InvalidInput(
            f"predictor {name!r} reads {reads}, not {task.tags.modality.value}", field="predictor"
        )
    if info.needs_url and not url:
        raise InvalidInput(
            f"predictor {name!r} needs predictor_url (its model server's base URL)",
            field="predictor_url",
        )
    return settings


def check_strategy(schema: LabelSchema, settings: dict[str, Any]) -> dict[str, Any]:
    """``settings`` unchanged when its ``strategy`` (if any) is one the project's task runs:
    span projects run :data:`SEQUENCE_STRATEGIES` (``margin`` and ``least_confidence`` are MNLP,
    ``entropy`` is token entropy); classification projects do not run ``mnlp`` or
    ``token_entropy``.

    Raises:
        InvalidInput: The strategy does not apply to the project's task.
    """
    name = settings.get("strategy")
    if name is None:
        return settings
    task = task_for(schema)
    if task.tags.answer is AnswerShape.BOXES:
        ok = task.strategy_name(schema, name) in ("box_uncertainty", "random")
        allowed = "margin, least_confidence, hybrid, entropy (box_uncertainty), cold_start, random"
    elif task.tags.answer is AnswerShape.SPANS:
        ok = task.strategy_name(schema, name) in SEQUENCE_STRATEGIES
        allowed = (
            "margin, least_confidence, hybrid, entropy, cold_start, mnlp, token_entropy, random"
        )
    else:
        ok = name not in SEQUENCE_STRATEGIES or name == "random"
        allowed = "any but mnlp and token_entropy (span strategies)"
    if not ok:
        raise InvalidInput(
            f"strategy {name!r} does not apply to a {schema.task.value} project; use {allowed}",
            field="strategy",
        )
    return settings


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
