"""Predict: the champion's suggestion for every unlabelled item, and the queue order.

Reads the champion (never trains one: :func:`labelloop.services.loop.predict` does that when a
project has none yet), scores each unlabelled item and ranks the queue with the project's
active-learning strategy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.models.embeddings import embed
from labelloop.services.models.loading import load_model
from labelloop.services.models.suggestions import write_suggestions
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import PredictResult
from labelloop.store import ModelKind, Project, repo
from labelloop.store.queries import models as queries
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["predict", "queue_priority"]

# How many top items the project's strategy orders itself (diversity strategies cost more per
# item); the rest of the queue follows by margin uncertainty.
RANKED_BY_STRATEGY = 100


def predict(
    ws: WorkspaceContext,
    name: str,
    *,
    progress: Progress | None = None,
) -> PredictResult:
    """Refresh the suggestion of every unlabelled item from the champion, and re-rank the queue.

    Embeddings come from the cache: items embedded before are not encoded again. ``progress``
    hears two stages: embedding the unlabelled items, then suggesting (scoring, ranking and
    writing the suggestions).

    Raises:
        NotFound: The project has no champion yet (:func:`labelloop.services.loop.predict`
            trains a zero-shot one first).
    """
    from labelloop.services.models import boxes, spans

    if spans.answers_spans(ws, name):
        return spans.predict(ws, name, progress=progress)
    if boxes.answers_boxes(ws, name):
        return boxes.predict(ws, name, progress=progress)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no champion model yet: run train first")
        rows = queries.unlabelled_item_rows(session, project.id)
        champion_id, champion_version, champion_kind = champion.id, champion.version, champion.kind
        artifact, backbone, project_id = champion.artifact, champion.backbone, project.id
        strategy = _strategy_name(project)
        project_seed = project_settings(project)["seed"]
        n_labelled = queries.count_current_labels(session, project.id)
    if champion_kind == ModelKind.PREDICTOR:  # a team's own model reads items, not embeddings
        from labelloop.services.models import predictors

        return predictors.predict(ws, name, progress=progress)
    if backbone != project.backbone and champion_kind == ModelKind.HEAD:
        raise InvalidInput(
            f"the champion was trained on backbone {backbone!r} but the project now uses "
            f"{project.backbone!r}: run train first",
            field="backbone",
        )
    item_ids = np.array([r.id for r in rows], dtype=np.int64)
    hashes = [r.content_hash for r in rows]
    cache = ws.embedding_cache()
    before = cache.count(backbone)
    task = task_for(schema)
    inputs = [task.encoder_input(r.data, media_root=ws.media_root) for r in rows]
    embeddings = embed(ws, backbone, inputs, hashes, progress=progress)
    embedded = cache.count(backbone) - before
    advance = stage(progress, "suggesting", len(rows))
    model = load_model(ws.path / artifact)
    pred_probs = model.predict_proba(embeddings) if len(rows) else np.zeros((0, schema.n_labels))
    seed = int(project_seed) * 100_003 + int(champion_version)  # a fresh draw at every re-rank
    priority = queue_priority(
        pred_probs, embeddings, strategy, schema, cold=not n_labelled, seed=seed
    )
    write_suggestions(ws, project_id, champion_id, item_ids, pred_probs, priority, schema)
    if advance is not None:
        advance(len(rows))
    return PredictResult(
        model_version=champion_version,
        kind=champion_kind,
        items=len(rows),
        embedded=embedded,
        strategy=strategy,
    )


def _strategy_name(project: Project) -> str:
    return str(project_settings(project)["strategy"])


def queue_priority(
    pred_probs: np.ndarray,
    embeddings: np.ndarray,
    strategy: str,
    schema: LabelSchema,
    *,
    cold: bool,
    seed: int,
) -> np.ndarray:
    """Queue priority of each row (higher first): the strategy's own order for the top rows."""
    from labelloop.active import get_strategy

    n = len(pred_probs)
    if n == 0:
        return np.zeros(0)
    task = task_for(schema)
    priority = np.asarray(task.uncertainty(schema, pred_probs), dtype=np.float64)
    name = task.strategy_name(schema, "cold_start" if cold else strategy)
    chosen = get_strategy(name).select(
        pred_probs=pred_probs,
        embeddings=embeddings,
        candidates=None,
        n=min(n, RANKED_BY_STRATEGY),
        seed=seed,
    )
    # the strategy's picks go first, in its order, above every score in [0, 1]
    priority[chosen] = 2.0 + (len(chosen) - np.arange(len(chosen))) / len(chosen)
    return priority
