"""Cluster cold start for projects no model can score yet.

A text project gets zero-shot suggestions before its first label (its backbone embeds the
label names). An image (or audio) project cannot: no image-text weights install offline, so
there is nothing to compare an image with. Its first batches come from k-means cold start
instead (:func:`labelloop.active.cold_start`): the unlabelled items are clustered by their
embeddings and the queue hands out one typical item per cluster, spread over the pool (k-center
order over the clusters' picks), so the first labels cover the pool instead of its first
files. The order is stored as ``items.cold_rank``; the queue serves items without a suggestion
in it (``annotation.queue``).
Once labels arrive, training and prediction take over as for any project.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import update

from labelloop.schema import Modality
from labelloop.services.models.embeddings import embed
from labelloop.services.models.predicting import RANKED_BY_STRATEGY
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.results import PredictResult
from labelloop.store import Item, repo
from labelloop.store.queries import models as queries
from labelloop.tasks import AnswerShape, task_for

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["COLD_START", "needs_cold_start", "rank_cold_start"]

COLD_START = "cold_start"


def needs_cold_start(ws: WorkspaceContext, name: str) -> bool:
    """Whether the project classifies images or audio and has no label and no model (no
    zero-shot model can score such items): its queue order must come from cold start."""
    from labelloop.services.models import predictors

    if predictors.uses_predictor(ws, name):  # the team's own model may score unlabelled items
        return False
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        tags = task_for(label_schema(project)).tags
        # boxes have their pre-trained detector; spans and text their zero-shot models
        if tags.modality is Modality.TEXT or tags.answer is not AnswerShape.CHOICES:
            return False
        if repo.champion(session, project.id) is not None:
            return False
        return queries.count_current_labels(session, project.id) == 0


def rank_cold_start(
    ws: WorkspaceContext, name: str, *, progress: Progress | None = None
) -> PredictResult:
    """Order the project's first batches by k-means cold start over the unlabelled items.

    One typical item per cluster (``RANKED_BY_STRATEGY`` clusters, or half as many as there
    are items in a smaller pool) gets ``cold_rank`` 1, 2, ...: the largest cluster's first, then
    in k-center order (each next pick the farthest from those before it); the others get none
    (they follow by id). Embeddings come from the cache (``progress`` hears the
    embedding stage); nothing is suggested (``PredictResult.model_version`` is 0).
    """
    from labelloop.active import cold_start

    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = queries.unlabelled_item_rows(session, project.id)
        schema, backbone, project_id = label_schema(project), project.backbone, project.id
        seed = int(project_settings(project)["seed"])
    cache = ws.embedding_cache()
    before = cache.count(backbone)
    task = task_for(schema)
    inputs = [task.encoder_input(r.data, media_root=ws.media_root) for r in rows]
    embeddings = embed(ws, backbone, inputs, [r.content_hash for r in rows], progress=progress)
    embedded = cache.count(backbone) - before
    advance = stage(progress, "ranking", len(rows))
    # at most half as many clusters as items: with one cluster per item, cold start would
    # only order the pool by closeness to its mean
    n_clusters = min(RANKED_BY_STRATEGY, max(1, len(rows) // 2))
    picks: list[int] = []
    if rows:
        picks = _spread(embeddings, cold_start(embeddings, n=n_clusters, seed=seed))
    item_ids = np.array([r.id for r in rows], dtype=np.int64)
    with ws.transaction() as session:
        session.execute(update(Item).where(Item.project_id == project_id).values(cold_rank=None))
        for rank, row in enumerate(picks, start=1):
            session.execute(
                update(Item).where(Item.id == int(item_ids[row])).values(cold_rank=rank)
            )
    if advance is not None:
        advance(len(rows))
    return PredictResult(
        model_version=0, kind=COLD_START, items=len(rows), embedded=embedded, strategy=COLD_START
    )


def _spread(embeddings: np.ndarray, picks: np.ndarray) -> list[int]:
    """The cluster picks in k-center order: the largest cluster's first, then each time the pick
    farthest from those before it, so the first batch spans the pool instead of repeating the
    kinds of item that split into several big clusters (benchmarks/README.md, "Cluster view")."""
    from labelloop.active import kcenter_greedy

    if len(picks) <= 2:
        return [int(i) for i in picks]
    first = np.zeros(len(picks), dtype=bool)
    first[0] = True
    rest = kcenter_greedy(embeddings[picks], labelled_mask=first, n=len(picks) - 1)
    return [int(picks[0]), *(int(picks[i]) for i in rest)]
