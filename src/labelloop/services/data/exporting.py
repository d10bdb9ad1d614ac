"""Export a project's items, labels, provenance and suggestions to a file."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelloop.errors import InvalidInput
from labelloop.services.data.formats import (
    EXPORT_FORMATS,
    FOLDER_EXPORT_FORMATS,
    ExportRecord,
    export_format_for,
    write_records,
)
from labelloop.services.projects import label_schema
from labelloop.services.results import ExportResult, iso8601
from labelloop.store import HUMAN_SOURCES, Annotation, Source, repo
from labelloop.store.queries import exporting as queries
from labelloop.store.queries import models as model_queries
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = ["ONLY", "export_project"]

# Which current labels an export keeps: typed by people; typed or confirmed by people; or every item
# (unlabelled ones included, with their suggestion).
ONLY: dict[str, tuple[Source, ...] | None] = {
    "human": (Source.HUMAN,),
    "accepted": HUMAN_SOURCES,
    "all": None,
}
PAGE = 2000


def export_project(
    ws: WorkspaceContext,
    name: str,
    out: Path,
    *,
    format: str | None = None,
    only: str = "all",
    label_studio_users: Mapping[str, str | int] | None = None,
) -> ExportResult:
    """Write project ``name`` to ``out`` in ``format`` (default: the one ``out``'s extension
    names, :func:`~labelloop.services.data.formats.export_format_for`); every label carries its
    provenance. ``label_studio_users`` maps annotators to Label Studio users (e-mail or user
    id) for a ``labelstudio`` export (:func:`~labelloop.services.data.formats.write_records`).
    """
    if format is None:
        format = export_format_for(out)
    if format not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {format!r}; choose one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    if only not in ONLY:
        raise InvalidInput(
            f"unknown --only {only!r}; choose one of {', '.join(ONLY)}", field="only"
        )
    if out.exists() and out.is_dir() and format not in FOLDER_EXPORT_FORMATS:
        raise InvalidInput("is a folder; give a file name", file=str(out))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        answer = task_for(schema).tags.answer
        # a span (box) suggestion holds one marginal per span (box), a label suggestion one
        # per label
        labels = None if answer in (AnswerShape.SPANS, AnswerShape.BOXES) else schema.labels
        records = _records(session, project.id, ONLY[only], labels)
        rows = write_records(
            records,
            out,
            format=format,
            schema=schema,
            label_studio_users=label_studio_users,
            media_root=ws.media_root,
        )
    return ExportResult(project=name, out=str(out), format=format, rows=rows, only=only)


def _records(
    session: Session,
    project_id: int,
    sources: tuple[str, ...] | None,
    labels: tuple[str, ...] | None,
) -> Iterator[ExportRecord]:
    versions = model_queries.version_numbers(session, project_id)
    last_id = 0
    while True:
        items = queries.items_after(session, project_id, last_id, PAGE)
        if not items:
            return
        last_id = items[-1].id
        ids = [item.id for item in items]
        history = queries.history(session, ids)
        suggestions = queries.suggestions(session, ids)
        for item in items:
            rows = history.get(item.id, [])
            current = next((a for a in reversed(rows) if a.is_current), None)
            if current is not None and current.value is None:
                current = None
            if sources is not None and (current is None or current.source not in sources):
                continue
            suggestion = suggestions.get(item.id)
            yield ExportRecord(
                external_id=item.external_id,
                item_id=item.id,
                data=item.data,
                content_hash=item.content_hash,
                label=tuple(current.value or ()) if current is not None else None,
                provenance=_provenance(current, versions) if current is not None else None,
                history=tuple({"value": a.value, **_provenance(a, versions)} for a in rows),
                suggestion=None
                if suggestion is None
                else {
                    "value": suggestion.value,
                    "pred_probs": list(suggestion.pred_probs)
                    if labels is None
                    else dict(zip(labels, suggestion.pred_probs, strict=False)),
                    "confidence": suggestion.confidence,
                    "model_version": versions.get(suggestion.model_version_id),
                },
            )


def _provenance(annotation: Annotation, versions: dict[int, int]) -> dict[str, Any]:
    return {
        "source": annotation.source,
        "annotator": annotation.annotator,
        "model_version": versions.get(annotation.model_version_id)
        if annotation.model_version_id is not None
        else None,
        "seconds": annotation.seconds,
        "created_at": iso8601(annotation.created_at),
        "confidence": annotation.confidence,
        "threshold": annotation.threshold,
    }
