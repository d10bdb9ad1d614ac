"""Label many items in one request (a grid screen, a cluster): all answers or none.

Each answer goes through the same path as a single submit (:func:`annotating.submit_in`): the
source is ``model_accepted`` when the label is the suggestion and ``human`` when it corrects
it, a repeated ``request_id`` stores nothing new, and annotators answer only items handed to
them. The whole batch is one transaction: the first bad answer refuses every answer, with an
error naming the item.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from labelloop.errors import InvalidInput, LabelloopError
from labelloop.services.annotation.annotating import submit_in
from labelloop.services.results import SubmitResult
from labelloop.tasks import AnswerValue

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["MAX_BULK", "BulkAnswer", "BulkResult", "submit_many"]

MAX_BULK = 500


class BulkAnswer(BaseModel):
    """One answer of a batch: the item, its label(s), and optionally the seconds spent on it
    and a client-chosen request id (sending the batch again stores nothing twice)."""

    item_id: int
    value: AnswerValue
    seconds: float | None = None
    request_id: str | None = None


class BulkResult(BaseModel):
    """Every answer's result, in the order given; ``retrain_due`` as the last one says."""

    results: list[SubmitResult]
    accepted: int = Field(description="answers that kept the model's suggestion")
    corrected: int = Field(description="answers that differ from the suggestion (or had none)")
    retrain_due: bool


def submit_many(
    ws: WorkspaceContext,
    name: str,
    answers: list[BulkAnswer],
    *,
    annotator: str | None,
    handed_only: bool = False,
) -> BulkResult:
    """Store ``answers`` in one transaction, each as :func:`annotating.submit` would.

    Raises:
        InvalidInput: The batch is empty, too long, names an item twice, or one answer is not
            a valid answer (the message names the item and its place in the batch); nothing is
            stored.
        NotFound: An item is not in the project (named); nothing is stored.
        PermissionDenied: ``handed_only`` and an item was not handed to ``annotator``.
    """
    _check_batch(answers)
    results: list[SubmitResult] = []
    with ws.raw_transaction() as tx:
        for place, answer in enumerate(answers):
            try:
                result = submit_in(
                    tx, name, answer.item_id, answer.value, annotator=annotator,
                    seconds=answer.seconds, request_id=answer.request_id,
                    handed_only=handed_only, media_root=ws.media_root,
                )  # fmt: skip
            except LabelloopError as exc:
                raise _naming(exc, answer.item_id, place, len(answers)) from exc
            results.append(result)
    accepted = sum(r.source == "model_accepted" for r in results)
    return BulkResult(
        results=results,
        accepted=accepted,
        corrected=len(results) - accepted,
        retrain_due=results[-1].retrain_due,
    )


def _check_batch(answers: list[BulkAnswer]) -> None:
    if not 1 <= len(answers) <= MAX_BULK:
        raise InvalidInput(
            f"a batch holds 1 to {MAX_BULK} answers, got {len(answers)}", field="answers"
        )
    seen: dict[int, int] = {}
    for place, answer in enumerate(answers):
        if answer.item_id in seen:
            raise InvalidInput(
                f"item {answer.item_id} is answered twice (answers {seen[answer.item_id] + 1} "
                f"and {place + 1}); nothing was stored",
                field=f"answers[{place}].item_id",
            )
        seen[answer.item_id] = place


def _naming(exc: LabelloopError, item_id: int, place: int, total: int) -> LabelloopError:
    """The same kind of error, saying which answer of the batch it came from."""
    where = f"item {item_id} (answer {place + 1} of {total})"
    if isinstance(exc, InvalidInput):
        field = f"answers[{place}].{exc.field}" if exc.field else f"answers[{place}].value"
        return InvalidInput(f"{where}: {exc.reason}; nothing was stored", field=field)
    error = type(exc)(f"{where}: {exc}; nothing was stored")
    return error
