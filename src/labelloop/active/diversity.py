"""Diversity-based selection over embeddings: k-center greedy, cold start, hybrid; and the
k-means clusters the cluster view shows.

The three strategies return row indices into ``embeddings`` in priority order (best first).

Example:
    >>> import numpy as np
    >>> emb = np.array([[0.0], [0.1], [5.0], [10.0]], dtype=np.float32)
    >>> kcenter_greedy(emb, labelled_mask=np.array([True, False, False, False]), n=2).tolist()
    [3, 2]
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

from labelloop.active._validate import (
    check_embeddings,
    check_n,
    check_pred_probs,
    resolve_candidates,
)
from labelloop.active.scores import _entropy, _least_confidence, _margin, top_candidates
from labelloop.errors import InvalidInput, PoolExhausted

__all__ = ["cluster_items", "cold_start", "hybrid", "kcenter_greedy"]

_ROW_CHUNK = 65_536
_CENTER_CHUNK = 256
_UNCERTAINTY = {"margin": _margin, "entropy": _entropy, "least_confidence": _least_confidence}


def _sq_norms(x: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->i", x, x, dtype=np.float64).astype(np.float32)


def _min_sq_dist_to(
    rows: np.ndarray, row_norms: np.ndarray, centers: np.ndarray, out: np.ndarray
) -> None:
    """``out = min(out, min_c ||rows - c||^2)``, chunked over rows and centers."""
    c_norms = _sq_norms(centers)
    for r0 in range(0, rows.shape[0], _ROW_CHUNK):
        block = rows[r0 : r0 + _ROW_CHUNK]
        bn = row_norms[r0 : r0 + _ROW_CHUNK]
        for c0 in range(0, centers.shape[0], _CENTER_CHUNK):
            cb = centers[c0 : c0 + _CENTER_CHUNK]
            d = bn[:, None] - 2.0 * (block @ cb.T) + c_norms[None, c0 : c0 + _CENTER_CHUNK]
            np.minimum(out[r0 : r0 + _ROW_CHUNK], d.min(axis=1), out=out[r0 : r0 + _ROW_CHUNK])


def kcenter_greedy(
    embeddings: np.ndarray,
    *,
    labelled_mask: np.ndarray | None,
    n: int,
    candidates: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Greedy k-center (core-set) selection: repeatedly take the item farthest from all chosen.

    Each pick maximises the squared Euclidean distance to its nearest already-labelled or
    already-picked item, so the batch covers the embedding space (Sener & Savarese, 2018).

    Cost: O(n_candidates * (n_labelled + n) * d) time, O(n_candidates) extra memory; distance
    updates are computed in row chunks of 65,536 so a 1,000,000 x 384 float32 pool needs no
    (n_candidates, d) copy when most items are candidates. Each of the ``n`` greedy steps is a
    full pass over the candidates, so unlike the uncertainty strategies it grows with the batch
    size (about 0.1 s per pick on 1M x 384 on 2 cores).

    Args:
        embeddings: (n_items, d) item embeddings.
        labelled_mask: (n_items,) bool, items already labelled (they count as centres);
            None or all False for a cold pool, in which case the first pick is random.
        n: batch size.
        candidates: bool mask (n_items,) or indices of selectable items; default all unlabelled.
        seed: seeds the first pick when nothing is labelled.

    Returns:
        (min(n, n_candidates),) int64 item indices in pick order.
    """
    emb = check_embeddings(embeddings)
    n = check_n(n)
    n_items = emb.shape[0]
    if labelled_mask is None:
        labelled = np.zeros(n_items, dtype=bool)
    else:
        labelled = np.asarray(labelled_mask)
        if labelled.dtype != np.bool_ or labelled.shape != (n_items,):
            raise InvalidInput(
                f"labelled_mask must be a bool array of shape ({n_items},)", field="labelled_mask"
            )
    if candidates is None:
        if labelled.all():
            raise PoolExhausted("no candidate items are left to choose from")
        cand = np.flatnonzero(~labelled)
    else:
        cand = resolve_candidates(candidates, n_items)
    if emb.dtype not in (np.float32, np.float64):
        emb = emb.astype(np.float32)
    # Work on the full array (no copy) when most items are candidates, else gather once.
    use_full = cand.size > n_items // 2
    rows = emb if use_full else emb[cand]
    row_norms = _sq_norms(rows)
    min_d = np.full(rows.shape[0], np.inf, dtype=np.float32)
    if labelled.any():
        _min_sq_dist_to(rows, row_norms, emb[labelled], min_d)
    selectable = np.zeros(rows.shape[0], dtype=bool)
    selectable[cand if use_full else slice(None)] = True
    min_d[~selectable] = -np.inf
    n_pick = min(n, cand.size)
    picks = np.empty(n_pick, dtype=np.int64)
    rng = np.random.default_rng(seed)
    for i in range(n_pick):
        if i == 0 and not labelled.any():
            pos = int(cand[rng.integers(cand.size)]) if use_full else int(rng.integers(cand.size))
        else:
            pos = int(np.argmax(min_d))
        picks[i] = pos
        _min_sq_dist_to(rows, row_norms, rows[pos : pos + 1], min_d)
        min_d[pos] = -np.inf
    return picks if use_full else cand[picks]


def _kmeans(x: np.ndarray, n: int, *, seed: int, max_iter: int, seed_rows: int = 2000) -> KMeans:
    """Lloyd's k-means, seeded by k-means++ on at most ``max(seed_rows, 20 n)`` rows (1 thread).

    The seeding makes ``n * (2 + log n)`` passes over its rows with small matrix products; on a
    subsample and one thread it stops dominating the fit (spread over threads the small products
    spend their time synchronising: 5-10x slower on a busy 2-core machine,
    benchmarks/strategy_speed.py).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        rows = x
        if x.shape[0] > max(seed_rows, 20 * n):
            pick = np.random.default_rng(seed).choice(x.shape[0], max(seed_rows, 20 * n), False)
            rows = x[np.sort(pick)]
        centres, _ = kmeans_plusplus(rows, n, random_state=seed)
        return KMeans(n_clusters=n, init=centres, n_init=1, max_iter=max_iter).fit(x)


def cluster_items(
    embeddings: np.ndarray, *, n: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Group items into ``n`` k-means clusters (the k-means :func:`cold_start` runs).

    Args:
        embeddings: (n_items, d) item embeddings.
        n: number of clusters (at most ``n_items``).
        seed: seeds k-means.

    Returns:
        ``(clusters, sq_dist)``: (n_items,) int64 cluster of each item, numbered largest
        cluster first (ties by lowest number), and (n_items,) float32 squared distance of each
        item to its cluster's centre (small: typical of the cluster).
    """
    emb = check_embeddings(embeddings)
    n = check_n(n)
    if n > emb.shape[0]:
        raise InvalidInput(f"cannot make {n} clusters of {emb.shape[0]} items", field="n")
    x = np.asarray(emb, dtype=np.float32)
    km = _kmeans(x, n, seed=seed, max_iter=50)
    assign = np.asarray(km.labels_, dtype=np.int64)
    centres = km.cluster_centers_.astype(np.float32)
    sq_dist = ((x - centres[assign]) ** 2).sum(axis=1).astype(np.float32)
    order = np.lexsort((np.arange(n), -np.bincount(assign, minlength=n)))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank[assign], sq_dist


def cold_start(
    embeddings: np.ndarray,
    *,
    n: int,
    candidates: np.ndarray | None = None,
    seed: int = 0,
    sample_size: int = 10_000,
) -> np.ndarray:
    """Representative items for a pool with no labels: one typical item per k-means cluster.

    Clusters the candidates into ``n`` groups with k-means and returns, for each centroid,
    the nearest candidate, largest cluster first. To stay fast on huge pools, k-means runs on a
    seeded random sample of ``max(sample_size, 20 * n)`` candidates (cost
    O(sample * n * d * iterations), independent of the pool size) and the picks come from it.

    Args:
        embeddings: (n_items, d) item embeddings.
        n: batch size (= number of clusters).
        candidates: bool mask (n_items,) or indices of selectable items; default all.
        seed: seeds the sample and k-means.
        sample_size: candidates clustered at most (at least ``20 * n``).

    Returns:
        (min(n, n_candidates),) int64 item indices, most representative first.
    """
    emb = check_embeddings(embeddings)
    n = check_n(n)
    cand = resolve_candidates(candidates, emb.shape[0])
    rng = np.random.default_rng(seed)
    limit = max(int(sample_size), 20 * n)
    sample = np.sort(rng.choice(cand, limit, replace=False)) if cand.size > limit else cand
    x = np.asarray(emb[sample], dtype=np.float32)
    if n >= sample.size:
        # Every candidate is picked: most typical (closest to the mean) first.
        d = ((x - x.mean(axis=0)) ** 2).sum(axis=1)
        return sample[np.lexsort((sample, d))]
    km = _kmeans(x, n, seed=seed, max_iter=10)
    assign = km.labels_
    centers = km.cluster_centers_.astype(np.float32)
    d = _sq_norms(x)[:, None] - 2.0 * (x @ centers.T) + _sq_norms(centers)[None, :]
    sizes = np.bincount(assign, minlength=n)
    taken = np.zeros(sample.size, dtype=bool)
    picks: list[int] = []
    for c in np.lexsort((np.arange(n), -sizes)):
        col = np.where(taken, np.inf, d[:, c])
        pos = int(np.argmin(col))
        taken[pos] = True
        picks.append(pos)
    return sample[np.asarray(picks, dtype=np.int64)]


def hybrid(
    pred_probs: np.ndarray,
    embeddings: np.ndarray,
    *,
    n: int,
    candidates: np.ndarray | None = None,
    seed: int = 0,
    pool_factor: int = 10,
    uncertainty: str = "margin",
) -> np.ndarray:
    """Uncertainty within diversity: the most uncertain item of each cluster of top candidates.

    Takes the ``pool_factor * n`` most uncertain candidates, clusters their embeddings into ``n``
    groups with k-means and returns the most uncertain member of each cluster, most uncertain
    first. This avoids spending a batch on near-duplicates of one confusing item.
    Cost: O(n_candidates * k) for the scores plus O(pool_factor * n^2 * d * iterations) for
    k-means.

    Args:
        pred_probs: (n_items, k) class probabilities.
        embeddings: (n_items, d) item embeddings, rows aligned with ``pred_probs``.
        n: batch size.
        candidates: bool mask (n_items,) or indices of selectable items; default all.
        seed: seeds k-means.
        pool_factor: how many uncertain items per requested item are clustered (>= 1).
        uncertainty: "margin", "entropy" or "least_confidence".

    Returns:
        (min(n, n_candidates),) int64 item indices, best first.
    """
    p = check_pred_probs(pred_probs)
    emb = check_embeddings(embeddings)
    n = check_n(n)
    if p.shape[0] != emb.shape[0]:
        raise InvalidInput(
            f"pred_probs has {p.shape[0]} rows but embeddings has {emb.shape[0]}",
            field="embeddings",
        )
    if uncertainty not in _UNCERTAINTY:
        raise InvalidInput(
            f"unknown uncertainty {uncertainty!r}; choose from {sorted(_UNCERTAINTY)}",
            field="uncertainty",
        )
    if int(pool_factor) < 1:
        raise InvalidInput("pool_factor must be >= 1", field="pool_factor")
    cand = resolve_candidates(candidates, p.shape[0])
    kernel = _UNCERTAINTY[uncertainty]
    top = top_candidates(kernel, p, cand, max(n, int(pool_factor) * n))  # item indices, best first
    if top.size <= n:
        return top
    x = np.asarray(emb[top], dtype=np.float32)
    assign = _kmeans(x, n, seed=seed, max_iter=50).labels_
    # ``top`` is sorted by uncertainty, so the first member of each cluster is its most uncertain.
    _, first = np.unique(assign, return_index=True)
    best = np.sort(first)
    if best.size < n:  # k-means left clusters empty (duplicate points): top up by uncertainty
        rest = np.setdiff1d(np.arange(top.size), best)[: n - best.size]
        best = np.sort(np.concatenate([best, rest]))
    return top[best]
