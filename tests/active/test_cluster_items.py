"""active.cluster_items: the k-means clusters the cluster view shows, numbered largest first,
with each item's squared distance to its centre."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.active import cluster_items
from labelloop.errors import InvalidInput


def _blobs(sizes: list[int], *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.eye(len(sizes), 8, dtype=np.float32) * 10
    truth = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[truth] + rng.normal(0, 0.1, (len(truth), 8)).astype(np.float32)
    order = rng.permutation(len(truth))
    return x[order], truth[order]


def test_clusters_follow_the_groups_largest_first():
    x, truth = _blobs([4, 9, 6])
    clusters, sq_dist = cluster_items(x, n=3, seed=0)
    # one cluster per group, numbered by size: the 9-item group is cluster 0
    for group, expected in [(1, 0), (2, 1), (0, 2)]:
        assert set(clusters[truth == group].tolist()) == {expected}
    assert sq_dist.shape == (19,) and (sq_dist >= 0).all() and sq_dist.max() < 1.0


def test_the_odd_item_is_farthest_from_its_centre():
    x, _ = _blobs([10])
    x = np.vstack([x, x[:1] + 3.0])  # one item off to the side of the group
    clusters, sq_dist = cluster_items(x, n=1, seed=0)
    assert (clusters == 0).all() and int(np.argmax(sq_dist)) == len(x) - 1


def test_same_seed_same_clusters_and_bad_n_refused():
    x, _ = _blobs([5, 5, 5], seed=3)
    a, _ = cluster_items(x, n=3, seed=7)
    b, _ = cluster_items(x, n=3, seed=7)
    assert (a == b).all()
    with pytest.raises(InvalidInput, match="cannot make 20 clusters of 15 items"):
        cluster_items(x, n=20)
