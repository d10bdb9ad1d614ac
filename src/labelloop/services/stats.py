"""Dashboard numbers: progress, learning curve, suggestion acceptance, annotators, champion.

Everything here is read-only and computed from the annotation history (which is append-only), so
the numbers include corrected and undone answers as they happened.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from labelloop.quality.box_agreement import box_f1
from labelloop.quality.span_agreement import span_f1
from labelloop.services.projects import label_schema, project_status
from labelloop.services.quality.boxes import is_boxes
from labelloop.services.quality.spans import is_spans
from labelloop.services.results import ProjectStatus
from labelloop.store import ModelStatus, ModelVersion, Source, as_utc, repo
from labelloop.store.queries import models as model_queries
from labelloop.store.queries import stats as queries

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "AcceptanceBucket",
    "AnnotatorStats",
    "ChampionDetail",
    "CurvePoint",
    "Dashboard",
    "champion_version",
    "dashboard",
    "dashboard_version",
]


class CurvePoint(BaseModel):
    version: int
    status: str
    kind: str
    n_labels: int
    accuracy: float | None
    macro_f1: float | None
    created_at: datetime
    map50: float | None = Field(
        default=None, description="box projects: the version's cross-validated mAP@0.5"
    )


class AcceptanceBucket(BaseModel):
    bucket: str = Field(description="model version ('v3') or the start of a time bucket (ISO)")
    accepted: int
    answered: int = Field(description="human answers given while a suggestion was shown")
    rate: float | None


#: The agreement measure of classification projects: the share of identical answers.
_EXACT = "exact answers"


class AnnotatorStats(BaseModel):
    annotator: str
    answers: int
    seconds: float = Field(description="time recorded on answers (sum of `seconds`)")
    items_per_hour: float | None
    median_seconds: float | None
    agreement: float | None = Field(
        default=None,
        description="share of answers equal to another annotator's on the same item; span "
        "projects: span F1 (exact spans) against the others' answers on the same items",
    )
    compared: int = 0
    gold_accuracy: float | None = None


class ChampionDetail(BaseModel):
    version: int
    labels: list[str]
    accuracy: float | None
    macro_f1: float | None
    n: int | None = None
    per_class: list[dict[str, Any]] = Field(default_factory=list)
    confusion: list[list[int]] = Field(default_factory=list)


class Dashboard(BaseModel):
    status: ProjectStatus
    learning_curve: list[CurvePoint]
    acceptance_by_version: list[AcceptanceBucket]
    acceptance_by_time: list[AcceptanceBucket]
    annotators: list[AnnotatorStats]
    agreement: float | None = Field(
        description="share of annotator pairs that agree, over items answered by two or more; "
        "span projects: span F1 (exact spans, micro over every pair's spans); box projects: box "
        "F1 at IoU 0.5 (same label, one-to-one matching), micro over every pair's boxes"
    )
    agreement_measure: str = Field(
        default="exact answers",
        description="'exact answers', 'span F1' for span projects, 'box F1' for box projects",
    )
    champion: ChampionDetail | None
    curve_measure: str = Field(
        default="accuracy",
        description="what the learning curve plots: 'accuracy' (and macro-F1), or 'mAP@0.5' for "
        "box projects (each version's cross-validated mAP@0.5, `learning_curve[].map50`)",
    )


def dashboard(ws: WorkspaceContext, name: str, *, max_time_buckets: int = 24) -> Dashboard:
    """All the numbers the project dashboard shows, in one read."""
    status = project_status(ws, name)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        versions = list(model_queries.versions(session, project.id))
        answers = queries.human_answers(session, project.id)
        schema = label_schema(project)
        labels = list(schema.labels)
        measure = "span F1" if is_spans(schema) else "box F1" if is_boxes(schema) else _EXACT
    number = {v.id: v.version for v in versions}
    curve = [
        CurvePoint(
            version=v.version,
            status=v.status,
            kind=v.kind,
            n_labels=len(v.label_ids or []),
            accuracy=(v.metrics or {}).get("accuracy"),
            macro_f1=(v.metrics or {}).get("macro_f1"),
            created_at=v.created_at,
            map50=(v.metrics or {}).get("map50"),
        )
        for v in versions
    ]
    champion = next((v for v in versions if v.status == ModelStatus.CHAMPION), None)
    return Dashboard(
        status=status,
        learning_curve=curve,
        acceptance_by_version=_acceptance_by_version(answers, number),
        acceptance_by_time=_acceptance_by_time(answers, max_time_buckets),
        annotators=_annotators(answers, measure=measure),
        agreement=_overall_agreement(answers, measure=measure),
        agreement_measure=measure,
        champion=_champion(champion, labels),
        curve_measure="mAP@0.5" if measure == "box F1" else "accuracy",
    )


def _rate(accepted: int, answered: int) -> float | None:
    return accepted / answered if answered else None


def _acceptance_by_version(answers: list[Any], number: dict[int, int]) -> list[AcceptanceBucket]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for a in answers:
        if a.model_version_id is not None and a.model_version_id in number:
            c = counts[number[a.model_version_id]]
            c[0] += a.source == Source.MODEL_ACCEPTED
            c[1] += 1
    return [
        AcceptanceBucket(bucket=f"v{v}", accepted=c[0], answered=c[1], rate=_rate(*c))
        for v, c in sorted(counts.items())
    ]


def _acceptance_by_time(answers: list[Any], max_buckets: int) -> list[AcceptanceBucket]:
    shown = [a for a in answers if a.model_version_id is not None]
    if not shown:
        return []
    times = [as_utc(a.created_at).timestamp() for a in shown]
    start, end = min(times), max(times)
    # round bucket width up to a readable unit: a minute, ten minutes, an hour, a day
    width = 60.0
    for unit in (60.0, 600.0, 3600.0, 86400.0, 7 * 86400.0):
        width = unit
        if (end - start) / unit < max_buckets:
            break
    origin = start - start % width
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for a, t in zip(shown, times, strict=True):
        c = counts[int((t - origin) // width)]
        c[0] += a.source == Source.MODEL_ACCEPTED
        c[1] += 1
    return [
        AcceptanceBucket(
            bucket=datetime.fromtimestamp(origin + b * width, UTC).isoformat(timespec="minutes"),
            accepted=c[0],
            answered=c[1],
            rate=_rate(*c),
        )
        for b, c in sorted(counts.items())
    ]


def _latest_per_annotator(answers: list[Any]) -> dict[int, dict[str, tuple[str, ...]]]:
    by_item: dict[int, dict[str, tuple[str, ...]]] = defaultdict(dict)
    for a in answers:  # ordered by id: a later answer replaces the earlier one
        by_item[a.item_id][a.annotator or ""] = tuple(a.value)
    return by_item


def _pairs(answers: list[Any]) -> dict[str, list[tuple[Any, Any]]]:
    """Per annotator, (their answer, another annotator's answer) on every item both answered."""
    pairs: dict[str, list[tuple[Any, Any]]] = defaultdict(list)
    for item in _latest_per_annotator(answers).values():
        for who, value in item.items():
            pairs[who or "(unknown)"] += [(value, v) for w, v in item.items() if w != who]
    return pairs


def _agreement(pairs: list[tuple[Any, Any]], *, measure: str) -> float | None:
    """Share of equal answers, or for spans (boxes) the micro span F1 (box F1 at IoU 0.5) of one
    side against the other (symmetric, so the order within a pair does not matter)."""
    if not pairs:
        return None
    if measure == "span F1":
        return span_f1([a for a, _ in pairs], [b for _, b in pairs]).f1
    if measure == "box F1":
        return box_f1([a for a, _ in pairs], [b for _, b in pairs]).f1
    return sum(a == b for a, b in pairs) / len(pairs)


def _annotators(answers: list[Any], *, measure: str = _EXACT) -> list[AnnotatorStats]:
    per: dict[str, list[Any]] = defaultdict(list)
    for a in answers:
        per[a.annotator or "(unknown)"].append(a)
    pairs = _pairs(answers)
    out = []
    for who, rows in sorted(per.items()):
        secs = sorted(float(r.seconds) for r in rows if r.seconds is not None)
        total = sum(secs)
        out.append(
            AnnotatorStats(
                annotator=who,
                answers=len(rows),
                seconds=round(total, 3),
                items_per_hour=len(secs) / (total / 3600.0) if total > 0 else None,
                median_seconds=secs[len(secs) // 2] if secs else None,
                agreement=_agreement(pairs.get(who, []), measure=measure),
                compared=len(pairs.get(who, [])),
            )
        )
    return out


def _overall_agreement(answers: list[Any], *, measure: str = _EXACT) -> float | None:
    pairs = [
        (values[i], values[j])
        for item in _latest_per_annotator(answers).values()
        for values in [list(item.values())]
        for i in range(len(values))
        for j in range(i + 1, len(values))
    ]
    return _agreement(pairs, measure=measure)


def _champion(version: ModelVersion | None, labels: list[str]) -> ChampionDetail | None:
    if version is None:
        return None
    metrics = version.metrics or {}
    detail = metrics.get("detail") or {}
    return ChampionDetail(
        version=version.version,
        labels=labels,
        accuracy=metrics.get("accuracy"),
        macro_f1=metrics.get("macro_f1"),
        n=detail.get("n"),
        per_class=list(detail.get("per_class") or []),
        confusion=[list(row) for row in detail.get("confusion") or []],
    )


def champion_version(ws: WorkspaceContext, name: str) -> int | None:
    """The champion's version number (a cheap query, for the UI's poll)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        return model_queries.champion_number(session, project.id)


def dashboard_version(ws: WorkspaceContext, name: str) -> tuple[Any, ...]:
    """What the project's dashboard was computed from, as a cache key: it changes with every
    answer, import, model version, promotion, suggestion refresh, flag, gold item and setting
    (one cheap read; :func:`dashboard` reads every answer)."""
    with ws.transaction() as session:
        project = repo.get_project_ref(session, name)
        return (project.id, *queries.change_marks(session, project.id))
