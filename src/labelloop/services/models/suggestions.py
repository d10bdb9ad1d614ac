"""Writing a model's suggestions for the unlabelled items without blocking annotation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.projects import label_schema, project_settings
from labelloop.store import repo
from labelloop.store.queries import models as queries
from labelloop.store.suggestions import (
    delete_stale_suggestions,
    picked_item_ids,
    upsert_suggestions,
)
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "SUGGESTION_BATCH",
    "ChampionRun",
    "champion_run",
    "write_suggestion_rows",
    "write_suggestions",
]

# Suggestions are rewritten in short transactions of this many rows, so annotation requests get
# in between them: on SQLite each transaction holds the only write lock.
SUGGESTION_BATCH = 2000
# Scores of predicting.queue_priority lie in [0, 1]; the strategy's own picks sit at 2.0 and above.
_PICKED_ABOVE = 1.0


@dataclass(frozen=True)
class ChampionRun:
    """What a predict of a span or box project needs, read in one transaction: the champion,
    the unlabelled items and the query strategy that will order them."""

    project_id: int
    schema: LabelSchema
    settings: dict[str, Any]
    rows: list[Any]
    champion_id: int
    version: int
    kind: str
    artifact: str
    strategy: str

    @property
    def seed(self) -> int:
        """The queue's tie-breaking seed: the project's seed, changed with each version."""
        return int(self.settings["seed"]) * 100_003 + int(self.version)


def champion_run(
    ws: WorkspaceContext, name: str, *, strategies: Sequence[str], choices: str, what: str
) -> ChampionRun:
    """The champion and unlabelled items of project ``name``, and the task's strategy for the
    project's setting.

    Raises:
        NotFound: The project has no champion.
        InvalidInput: The project's strategy is not one of ``strategies`` (``choices`` says
            which settings are, ``what`` names the answers: spans, boxes).
    """
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no champion model yet: run train first")
        rows = list(queries.unlabelled_item_rows(session, project.id))
        settings = project_settings(project)
        run = ChampionRun(
            project.id, schema, settings, rows, champion.id, champion.version,
            str(champion.kind), champion.artifact, "",
        )  # fmt: skip
    strategy = task_for(schema).strategy_name(schema, str(settings["strategy"]))
    if strategy not in strategies:
        raise InvalidInput(
            f"strategy {settings['strategy']!r} does not apply to {what}; choose from {choices}",
            field="strategy",
        )
    return replace(run, strategy=strategy)


def write_suggestions(
    ws: WorkspaceContext,
    project_id: int,
    model_version_id: int,
    item_ids: np.ndarray,
    pred_probs: np.ndarray,
    priority: np.ndarray,
    schema: LabelSchema,
) -> None:
    """Replace the suggestions of ``item_ids`` (the unlabelled items) in short transactions.

    Retraining must never block annotation, so the rows are written in transactions of
    ``SUGGESTION_BATCH``, and a reader may see the queue between two of them. What it sees
    stays sound:

    - each row is updated in place (never deleted, then inserted again), so an unlabelled item
      always has a suggestion, and each row names the model version that made it;
    - rows go best first, so after the first commit the top of the queue is the new model's;
      that commit also rewrites the old model's strategy picks, which would otherwise stay
      above every new score until their turn came;
    - last, the suggestions of labelled items are deleted (the queue never serves those), but
      not the ones this run wrote: an item labelled meanwhile ends as if the label came after.
    """
    rows = _suggestion_rows(project_id, model_version_id, item_ids, pred_probs, priority, schema)
    write_suggestion_rows(ws, project_id, rows)


def write_suggestion_rows(
    ws: WorkspaceContext, project_id: int, rows: list[dict[str, Any]]
) -> None:
    """Replace the suggestions of the rows' items as :func:`write_suggestions` does.

    ``rows`` are ``suggestions`` rows as dicts (``item_id``, ``model_version_id``, ``value``,
    ``pred_probs``, ``confidence``, ``priority``...), one per unlabelled item: task types whose
    model speaks answers directly (spans) build them themselves.
    """
    priority = np.array([row["priority"] for row in rows], dtype=np.float64)
    index = {row["item_id"]: i for i, row in enumerate(rows)}
    order = np.argsort(-priority, kind="stable")
    for start in range(0, len(rows), SUGGESTION_BATCH):
        chosen = {int(i) for i in order[start : start + SUGGESTION_BATCH]}
        with ws.transaction() as session:
            if start == 0:
                old_picks = picked_item_ids(session, project_id, _PICKED_ABOVE)
                chosen.update(index[i] for i in old_picks if i in index)
            upsert_suggestions(session, [rows[i] for i in sorted(chosen)])
    with ws.transaction() as session:
        delete_stale_suggestions(session, project_id, set(index))


def _suggestion_rows(
    project_id: int,
    model_version_id: int,
    item_ids: np.ndarray,
    pred_probs: np.ndarray,
    priority: np.ndarray,
    schema: LabelSchema,
) -> list[dict[str, Any]]:
    """One ``suggestions`` row (as a dict) per item, in the order of ``item_ids``."""
    from labelloop.store import utcnow

    rounded = np.round(pred_probs.astype(np.float64), 5)
    decoded = task_for(schema).decode(schema, pred_probs)
    values, confidence = decoded.values, decoded.confidence
    now = utcnow()
    return [
        {
            "project_id": project_id,
            "item_id": int(item_ids[i]),
            "model_version_id": model_version_id,
            "value": values[i],
            "pred_probs": rounded[i].tolist(),
            "confidence": float(confidence[i]),
            "priority": float(priority[i]),
            "created_at": now,
        }
        for i in range(len(item_ids))
    ]
