"""What each strategy picks, on pools where the right answer is known."""

from __future__ import annotations

import numpy as np
from active_factories import make_embeddings, make_pred_probs

from labelloop.active import cold_start, get_strategy, hybrid, kcenter_greedy


def test_margin_picks_the_near_tie() -> None:
    p = make_pred_probs(50, 4, seed=1)
    p[17] = [0.45, 0.44, 0.06, 0.05]
    p[31] = [0.35, 0.33, 0.32, 0.0]
    chosen = get_strategy("margin").select(pred_probs=p, candidates=None, n=2, seed=0)
    assert set(chosen.tolist()) == {17, 31}
    assert chosen[0] == 17  # gap 0.01 beats gap 0.02


def test_least_confidence_skips_non_candidates() -> None:
    p = make_pred_probs(20, 3, seed=2)
    p[4] = [1 / 3, 1 / 3, 1 / 3]
    p[9] = [0.34, 0.33, 0.33]
    mask = np.ones(20, dtype=bool)
    mask[4] = False
    chosen = get_strategy("least_confidence").select(pred_probs=p, candidates=mask, n=1, seed=0)
    assert chosen.tolist() == [9]


def test_kcenter_picks_far_points() -> None:
    rng = np.random.default_rng(0)
    near = rng.normal(0, 0.1, size=(100, 2))
    far = np.array([[50.0, 0.0], [0.0, 50.0], [-50.0, -50.0]])
    emb = np.vstack([near, far]).astype(np.float32)
    labelled = np.zeros(len(emb), dtype=bool)
    labelled[:5] = True
    chosen = kcenter_greedy(emb, labelled_mask=labelled, n=3)
    assert set(chosen.tolist()) == {100, 101, 102}
    assert chosen[0] == 102  # farthest from the labelled cluster first


def test_kcenter_gathers_when_few_candidates_and_matches_full() -> None:
    emb = make_embeddings(300, seed=3)
    labelled = np.ones(300, dtype=bool)
    labelled[::10] = False  # 30 candidates: the gather path
    few = kcenter_greedy(emb, labelled_mask=labelled, n=5)
    brute = []
    centres = emb[labelled]
    cand = np.flatnonzero(~labelled)
    for _ in range(5):
        d = ((emb[cand][:, None, :] - centres[None]) ** 2).sum(-1).min(1)
        d[np.isin(cand, brute)] = -1
        pick = int(cand[np.argmax(d)])
        brute.append(pick)
        centres = np.vstack([centres, emb[pick]])
    assert few.tolist() == brute


def test_kcenter_cold_pool_covers_clusters() -> None:
    emb = make_embeddings(400, seed=4, n_clusters=4)
    cluster = np.arange(400) % 4
    chosen = kcenter_greedy(emb, labelled_mask=None, n=4, seed=0)
    assert len(set(cluster[chosen].tolist())) == 4


def test_cold_start_covers_clusters_with_typical_items() -> None:
    emb = make_embeddings(800, seed=5, n_clusters=5)
    cluster = np.arange(800) % 5
    chosen = cold_start(emb, n=5, seed=0)
    assert sorted(cluster[chosen].tolist()) == [0, 1, 2, 3, 4]
    # each pick is close to its cluster's mean, i.e. typical, not an outlier
    for i in chosen:
        members = emb[cluster == cluster[i]]
        dists = np.linalg.norm(members - members.mean(0), axis=1)
        assert np.linalg.norm(emb[i] - members.mean(0)) <= np.quantile(dists, 0.5)


def test_cold_start_on_sample_of_large_pool_still_covers_clusters() -> None:
    emb = make_embeddings(3000, seed=6, n_clusters=3)
    cluster = np.arange(3000) % 3
    chosen = cold_start(emb, n=3, seed=1, sample_size=100)
    assert sorted(cluster[chosen].tolist()) == [0, 1, 2]


def test_hybrid_spreads_the_batch_over_clusters() -> None:
    emb = make_embeddings(400, seed=7, n_clusters=4)
    cluster = np.arange(400) % 4
    p = np.tile([0.9, 0.1], (400, 1))
    # Cluster 0 holds the 20 most uncertain items; each other cluster has a few fairly uncertain.
    p[np.flatnonzero(cluster == 0)[:20]] = [0.5, 0.5]
    for c in (1, 2, 3):
        p[np.flatnonzero(cluster == c)[:3]] = [0.6, 0.4]
    by_margin = get_strategy("margin").select(pred_probs=p, candidates=None, n=4, seed=0)
    assert set(cluster[by_margin].tolist()) == {0}
    chosen = hybrid(p, emb, n=4, seed=0, pool_factor=10)
    assert sorted(cluster[chosen].tolist()) == [0, 1, 2, 3]
    assert cluster[chosen[0]] == 0  # most uncertain first


def test_random_is_uniform_over_candidates() -> None:
    mask = np.zeros(100, dtype=bool)
    mask[50:] = True
    counts = np.zeros(100)
    s = get_strategy("random")
    for seed in range(200):
        counts[s.select(candidates=mask, n=10, seed=seed)] += 1
    assert counts[:50].sum() == 0
    assert counts[50:].min() > 10  # every candidate gets picked sometimes (mean 40)
