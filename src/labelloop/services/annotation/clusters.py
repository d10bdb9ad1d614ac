"""The cluster view: the project's items grouped by k-means over their cached embeddings, so a
person can label a whole group at once ("these 30 are all sneakers") and deselect the odd ones.

Every item of the project is clustered (labelled or not), so labelling does not move the
groups; a cluster's members are listed unlabelled first, most typical (nearest its centre)
first, so the odd ones gather at the end. The clustering is saved under
``artifacts/clusters/<project_id>/`` keyed by the project's items, backbone, k and seed, and
computed again only when one of them changes. Embeddings come from the workspace's cache
(items never embedded are embedded once, and stay cached).
"""

from __future__ import annotations

import hashlib
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, Field
from sqlalchemy import select

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema, Modality
from labelloop.services.models.embeddings import embed
from labelloop.services.projects import label_schema, project_settings
from labelloop.store import Annotation, Item, Suggestion, repo
from labelloop.tasks import task_for

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "MAX_CLUSTERS",
    "ClusterList",
    "ClusterMember",
    "ClusterMembers",
    "ClusterSummary",
    "cluster_members",
    "default_k",
    "list_clusters",
]

MAX_CLUSTERS = 100
ITEMS_PER_CLUSTER = 30  # the default k aims at groups of about this many items
KEEP_CLUSTERINGS = 8
_SNIPPET = 200
_SAMPLES = 6


class ClusterSummary(BaseModel):
    """One cluster: its size, how many of its items are unlabelled, the labels its labelled
    items have (label -> count) and a few of its most typical items (ids)."""

    cluster: int
    size: int
    unlabelled: int
    labels: dict[str, int]
    sample_item_ids: list[int]


class ClusterList(BaseModel):
    """The project's clusters, largest first."""

    k: int
    backbone: str
    media: bool = Field(description="the items are images (show thumbnails), not text")
    items: int
    clusters: list[ClusterSummary]


class ClusterMember(BaseModel):
    item_id: int
    external_id: str | None
    snippet: str | None = Field(description="the start of a text item's text (None for media)")
    label: list[Any] | None = Field(description="the item's current label, if it has one")
    suggested: list[Any] | None = Field(description="the model's suggestion, if any")
    confidence: float | None


class ClusterMembers(BaseModel):
    """One cluster's items: unlabelled first, then labelled; each most typical first."""

    k: int
    cluster: int
    size: int
    media: bool
    items: list[ClusterMember]


@dataclass(frozen=True)
class _Clustering:
    item_ids: np.ndarray  # (n,) int64, in item-id order
    clusters: np.ndarray  # (n,) int64 cluster of each item, 0 = largest
    sq_dist: np.ndarray  # (n,) distance to the cluster's centre


def default_k(n_items: int) -> int:
    """Clusters of about :data:`ITEMS_PER_CLUSTER` items, between 2 and 50 of them."""
    return max(1, min(n_items, min(50, max(2, math.ceil(n_items / ITEMS_PER_CLUSTER)))))


def list_clusters(ws: WorkspaceContext, name: str, *, k: int | None = None) -> ClusterList:
    """The project's items in ``k`` clusters (default :func:`default_k`), largest first.

    Raises:
        InvalidInput: ``k`` is not between 1 and :data:`MAX_CLUSTERS`, or the project has
            fewer items than ``k``, or none.
    """
    with ws.transaction() as session:
        project = _project(session, name)
        rows = _item_rows(session, project.id)
        labels = _current_labels(session, project.id)
    clustering = _clustering(ws, project, rows, k)
    summaries = []
    for c in range(int(clustering.clusters.max()) + 1 if len(rows) else 0):
        members = _ordered(clustering, c, labels)
        counts: dict[str, int] = {}
        for item_id in members:
            for label in labels.get(item_id) or []:
                key = label if isinstance(label, str) else str(label)
                counts[key] = counts.get(key, 0) + 1
        unlabelled = sum(1 for i in members if not labels.get(i))
        summaries.append(
            ClusterSummary(
                cluster=c,
                size=len(members),
                unlabelled=unlabelled,
                labels=counts,
                sample_item_ids=members[:_SAMPLES],
            )
        )
    return ClusterList(
        k=_k(k, len(rows)),
        backbone=project.backbone,
        media=project.media,
        items=len(rows),
        clusters=summaries,
    )


def cluster_members(
    ws: WorkspaceContext, name: str, cluster: int, *, k: int | None = None, limit: int = 200
) -> ClusterMembers:
    """One cluster's items (at most ``limit``): unlabelled first, each most typical first.

    Raises:
        NotFound: There is no cluster ``cluster`` among ``k``.
        InvalidInput: As :func:`list_clusters`.
    """
    with ws.transaction() as session:
        project = _project(session, name)
        rows = _item_rows(session, project.id)
        labels = _current_labels(session, project.id)
    clustering = _clustering(ws, project, rows, k)
    with ws.transaction() as session:
        if not 0 <= cluster <= int(clustering.clusters.max()):
            raise NotFound(f"no cluster {cluster} among the {_k(k, len(rows))} clusters")
        members = _ordered(clustering, cluster, labels)
        shown = members[:limit]
        suggestions = _suggestions(session, shown)
    by_id = {r.id: r for r in rows}
    items = []
    for item_id in shown:
        row = by_id[item_id]
        value, confidence = suggestions.get(item_id, (None, None))
        text = None if project.media else _snippet(row.data)
        items.append(ClusterMember(item_id=item_id, external_id=row.external_id, snippet=text,
                                   label=labels.get(item_id), suggested=value,
                                   confidence=confidence))  # fmt: skip
    return ClusterMembers(
        k=_k(k, len(rows)), cluster=cluster, size=len(members), media=project.media, items=items
    )


def _k(k: int | None, n_items: int) -> int:
    if n_items == 0:
        raise InvalidInput("the project has no items to cluster: import some first", field="k")
    if k is None:
        return default_k(n_items)
    if not 1 <= k <= MAX_CLUSTERS:
        raise InvalidInput(f"k must be between 1 and {MAX_CLUSTERS}, got {k}", field="k")
    if k > n_items:
        raise InvalidInput(f"cannot make {k} clusters of {n_items} items", field="k")
    return k


@dataclass(frozen=True)
class _Project:
    id: int
    backbone: str
    schema: LabelSchema
    seed: int
    media: bool  # items are images or audio, not text


def _project(session: Session, name: str) -> _Project:
    project = repo.get_project(session, name)
    schema = label_schema(project)
    media = task_for(schema).tags.modality is not Modality.TEXT
    seed = int(project_settings(project)["seed"])
    return _Project(project.id, project.backbone, schema, seed, media)


def _item_rows(session: Session, project_id: int) -> list[Any]:
    query = (
        select(Item.id, Item.external_id, Item.data, Item.content_hash)
        .where(Item.project_id == project_id)
        .order_by(Item.id)
    )
    return list(session.execute(query).all())


def _current_labels(session: Session, project_id: int) -> dict[int, list[Any]]:
    query = select(Annotation.item_id, Annotation.value).where(
        Annotation.project_id == project_id,
        Annotation.is_current.is_(True),
        Annotation.value.is_not(None),
    )
    return {item_id: list(value) for item_id, value in session.execute(query)}


def _suggestions(session: Session, item_ids: list[int]) -> dict[int, tuple[list[Any], float]]:
    if not item_ids:
        return {}
    query = select(Suggestion.item_id, Suggestion.value, Suggestion.confidence).where(
        Suggestion.item_id.in_(item_ids)
    )
    return {i: (list(v), float(c)) for i, v, c in session.execute(query)}


def _ordered(clustering: _Clustering, cluster: int, labels: dict[int, list[Any]]) -> list[int]:
    """The cluster's item ids: unlabelled before labelled, each nearest the centre first."""
    rows = np.flatnonzero(clustering.clusters == cluster)
    ids = clustering.item_ids[rows]
    labelled = np.array([bool(labels.get(int(i))) for i in ids], dtype=bool)
    order = np.lexsort((ids, clustering.sq_dist[rows], labelled))
    return [int(i) for i in ids[order]]


def _snippet(data: dict[str, Any]) -> str:
    text = data.get("text")
    text = text if isinstance(text, str) else str(data)
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _clustering(
    ws: WorkspaceContext, project: _Project, rows: list[Any], k: int | None
) -> _Clustering:
    """The saved clustering of these items, or a new one (embedding what is not cached)."""
    from labelloop.active import cluster_items

    n_clusters = _k(k, len(rows))
    item_ids = np.array([r.id for r in rows], dtype=np.int64)
    path = _saved(ws, project, item_ids, n_clusters)
    if path.is_file():
        with np.load(path) as saved:
            return _Clustering(item_ids, saved["clusters"], saved["sq_dist"])
    task = task_for(project.schema)
    inputs = [task.encoder_input(r.data, media_root=ws.media_root) for r in rows]
    embeddings = embed(ws, project.backbone, inputs, [r.content_hash for r in rows])
    clusters, sq_dist = cluster_items(embeddings, n=n_clusters, seed=project.seed)
    ws.artifacts.write_dir_atomically(
        path.parent,
        lambda tmp: np.savez(tmp / "clusters.npz", clusters=clusters, sq_dist=sq_dist),
    )
    _prune(path.parent.parent)
    return _Clustering(item_ids, clusters, sq_dist)


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP_CLUSTERINGS` newest clusterings of a project (each import or new
    ``k`` makes one); older ones are of item sets or settings no longer shown."""
    saved = sorted(
        (d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".tmp-")),
        key=lambda d: d.stat().st_mtime_ns,
        reverse=True,
    )
    for old in saved[KEEP_CLUSTERINGS:]:
        shutil.rmtree(old, ignore_errors=True)


def _saved(ws: WorkspaceContext, project: _Project, item_ids: np.ndarray, k: int) -> Path:
    """The file of a clustering of exactly these items with this backbone, k and seed."""
    digest = hashlib.sha256(item_ids.tobytes())
    digest.update(f"{project.backbone}\x00{k}\x00{project.seed}".encode())
    return ws.artifacts.clusters(project.id) / digest.hexdigest()[:24] / "clusters.npz"
