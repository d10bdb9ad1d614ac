"""A reviewer's adjudication: their label becomes the item's label and closes its open flags.

One use-case, one transaction: the ``reviewed`` annotation (stored by the same code as any
submit, :func:`labelloop.services.annotation.annotating.submit_in`) and the flags it closes commit
together or not at all.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from labelloop.services.annotation.annotating import REVIEW_PREFIX, submit_in
from labelloop.services.projects import label_schema
from labelloop.services.quality import issues
from labelloop.services.results import SubmitResult
from labelloop.store import repo
from labelloop.store.queries import quality as queries
from labelloop.tasks import AnswerValue, task_for

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["resolve"]


def resolve(
    ws: WorkspaceContext,
    name: str,
    item_id: int,
    value: AnswerValue,
    *,
    reviewer: str,
    seconds: float | None = None,
) -> SubmitResult:
    """Adjudicate an item: ``value`` becomes its label as a ``reviewed`` annotation.

    The adjudication is a human label, so the next training run learns from it; later ordinary
    answers on the item stay in its history without replacing it. Open flags on the item are
    closed: ``confirmed`` when the reviewer's label differs from the label or suggestion the flag
    disputed, ``dismissed`` otherwise. One transaction: a failure leaves neither the label nor
    the closed flags.
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        current = repo.current_annotations(session, project.id, [item_id]).get(item_id)
        given = list(current.value) if current is not None and current.value else None
        result = submit_in(
            session.connection(),
            name,
            item_id,
            value,
            annotator=reviewer,
            seconds=seconds,
            request_id=f"{REVIEW_PREFIX}{uuid.uuid4().hex}",
            reviewed=True,
            media_root=ws.media_root,
        )
        for f in queries.open_flags_on(session, item_id):
            disputed = given if issues.is_detector_flag(f) else f.suggestion
            agrees = task_for(schema).agree(schema, result.value, disputed)
            f.status = "dismissed" if agrees else "confirmed"
            f.resolved_by = reviewer
        return result
