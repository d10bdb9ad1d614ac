"""The reviewer's list: items worth a second look, with every answer side by side.

Candidates come from *review sources*, each a function ``(session, project_id, limit) -> item
ids``, one per :class:`~labelloop.services.quality.results.ReviewReason` in the fixed mapping
:data:`REVIEW_SOURCES`: disagreement between annotators, rejected suggestions, an audit sample of
auto-accepted labels, label-issue candidates of the detector and annotators' flags. Another
source is one entry there (and one reason). Gold items never enter the list.

A reviewer resolves an item (:func:`labelloop.services.quality.adjudication.resolve`) by accepting
one answer or giving another label; the resolution is an ordinary annotation whose ``request_id``
starts with ``review-``, which takes the item off the list.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from labelloop.errors import InvalidInput, NotFound
from labelloop.services.annotation.annotating import REVIEW_PREFIX
from labelloop.services.annotation.views import item_tokens, keyed_probs
from labelloop.services.data.media import resolve_media
from labelloop.services.projects import label_schema
from labelloop.services.quality import autoaccept as _autoaccept
from labelloop.services.quality import issues
from labelloop.services.quality.results import ReviewReason
from labelloop.services.results import SuggestionView
from labelloop.store import Item, Project, repo
from labelloop.store.queries import models as model_queries
from labelloop.store.queries import quality as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "REVIEW_SOURCES",
    "Answer",
    "ReviewCandidate",
    "item_detail",
    "list_suggestions",
    "media_file",
    "review_candidates",
]

ReviewSource = Callable[["Session", int, int], list[int]]


class Answer(BaseModel):
    annotator: str | None
    value: list[Any] | None = Field(description="label names, or spans {start, end, label}")
    source: str
    current: bool
    reviewed: bool
    created_at: datetime


class ReviewCandidate(BaseModel):
    item_id: int
    external_id: str | None
    data: dict[str, Any]
    reasons: list[ReviewReason]
    answers: list[Answer]
    suggestion: SuggestionView | None
    current: list[Any] | None
    tokens: list[tuple[int, int]] | None = Field(
        default=None,
        description="spans projects: each token's (start, end) character offsets in data.text",
    )


def _disagreement(session: Session, project_id: int, limit: int) -> list[int]:
    ids = queries.multi_annotator_item_ids(
        session, project_id, limit * 4, review_prefix=REVIEW_PREFIX
    )
    if not ids:
        return []
    latest: dict[int, dict[str | None, tuple[str, ...]]] = defaultdict(dict)
    for item_id, who, value in queries.human_answer_rows(session, ids):
        latest[item_id][who] = tuple(value)
    project = session.get(Project, project_id)
    assert project is not None
    schema = label_schema(project)
    task = task_for(schema)

    def disputed(answers: list[tuple[str, ...]]) -> bool:
        return any(not task.agree(schema, answers[0], other) for other in answers[1:])

    return [i for i in ids if disputed(list(latest[i].values()))][:limit]


def _rejected(session: Session, project_id: int, limit: int) -> list[int]:
    return queries.rejected_item_ids(session, project_id, limit, review_prefix=REVIEW_PREFIX)


# Every source of the review queue, in the order an item's reasons are listed; read-only.
REVIEW_SOURCES: Mapping[ReviewReason, ReviewSource] = MappingProxyType(
    {
        ReviewReason.DISAGREEMENT: _disagreement,
        ReviewReason.REJECTED_SUGGESTION: _rejected,
        # the same deterministic sample the auto-accept audit reports on
        ReviewReason.AUDIT_AUTO: _autoaccept.audit_review_source,
        ReviewReason.LABEL_ISSUE: issues.label_issue_review_source,
        ReviewReason.FLAG: issues.flag_review_source,
        ReviewReason.AUDIT: _autoaccept.audit_review_source,
    }
)


def review_candidates(
    ws: WorkspaceContext, name: str, *, sources: list[str] | None = None, limit: int = 50
) -> list[ReviewCandidate]:
    """Items for a reviewer, each with its reasons and every answer (oldest first).

    Reasons (``sources`` picks some; default all): ``disagreement`` (annotators differ),
    ``rejected_suggestion``, ``audit_auto``/``audit`` (auto-accepted labels drawn for audit),
    ``label_issue`` (the detector), ``flag`` (an annotator reported the suggestion). Gold items
    are left out: they have a known answer. The server's and the CLI's review list are this.
    """
    if not 1 <= limit <= 500:
        raise InvalidInput("limit must be between 1 and 500", field="limit")
    known = [str(r) for r in REVIEW_SOURCES]
    unknown = [s for s in sources or () if s not in known]
    if unknown:
        raise InvalidInput(
            f"unknown review source(s) {', '.join(unknown)}; known: {', '.join(known)}",
            field="sources",
        )
    chosen = [ReviewReason(s) for s in sources] if sources else list(REVIEW_SOURCES)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        gold = queries.gold_items(session, project.id)
        reasons: dict[int, list[ReviewReason]] = {}
        for source in chosen:
            for item_id in REVIEW_SOURCES[source](session, project.id, limit):
                if item_id not in gold:
                    reasons.setdefault(item_id, []).append(source)
        ids = list(reasons)[:limit]
        return _candidates(session, project, ids, reasons)


def _candidates(
    session: Session, project: Project, ids: list[int], reasons: dict[int, list[ReviewReason]]
) -> list[ReviewCandidate]:
    if not ids:
        return []
    project_id, schema = project.id, label_schema(project)
    items = queries.items_by_id(session, ids)
    answers: dict[int, list[Answer]] = defaultdict(list)
    for a in queries.answered_annotations(session, ids):
        answers[a.item_id].append(
            Answer(
                annotator=a.annotator,
                value=a.value,
                source=a.source,
                current=a.is_current,
                reviewed=(a.request_id or "").startswith(REVIEW_PREFIX),
                created_at=a.created_at,
            )
        )
    suggestions = repo.suggestions_for(session, project_id, ids)
    versions = model_queries.version_numbers(session, project_id)
    out = []
    for i in ids:
        s = suggestions.get(i)
        current = next((a.value for a in answers[i] if a.current), None)
        out.append(
            ReviewCandidate(
                item_id=i,
                external_id=items[i].external_id,
                data=items[i].data,
                reasons=reasons[i],
                answers=answers[i],
                suggestion=None
                if s is None
                else SuggestionView(
                    value=list(s.value),
                    confidence=s.confidence,
                    model_version=versions.get(s.model_version_id),
                    pred_probs=keyed_probs(schema, s.value, s.pred_probs),
                ),
                current=current,
                tokens=item_tokens(schema, items[i].data),
            )
        )
    return out


def media_file(ws: WorkspaceContext, name: str, item_id: int, *, roots: list[Path]) -> Path:
    """The media file of an item, refusing any path that resolves outside ``roots``.

    :class:`NotFound` when the item has no media, or its file is missing or outside the allowed
    folders (symlinks and ``..`` are resolved before the check).
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise NotFound(f"no item {item_id} in project {name!r}")
        raw = item.media_path
    return resolve_media(raw, item_id, roots=roots)


def item_detail(ws: WorkspaceContext, name: str, item_id: int) -> ReviewCandidate:
    """One item with its suggestion and every answer (no review reasons)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise NotFound(f"no item {item_id} in project {name!r}")
        return _candidates(session, project, [item_id], {item_id: []})[0]


class SuggestionRow(BaseModel):
    item_id: int
    value: list[Any] = Field(description="label names, or spans {start, end, label}")
    confidence: float
    priority: float
    model_version: int | None


def list_suggestions(
    ws: WorkspaceContext, name: str, *, offset: int = 0, limit: int = 50
) -> list[SuggestionRow]:
    """The project's suggestions in queue order (highest priority first)."""
    if not 1 <= limit <= 500 or offset < 0:
        raise InvalidInput("limit must be 1-500 and offset >= 0", field="limit")
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = queries.queued_suggestions(session, project.id, offset, limit)
        return [
            SuggestionRow(
                item_id=s.item_id,
                value=list(s.value),
                confidence=s.confidence,
                priority=s.priority,
                model_version=v,
            )
            for s, v in rows
        ]
