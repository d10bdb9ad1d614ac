"""Gold scoring, label-error detection and consensus on data with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.errors import InvalidInput
from labelloop.quality import (
    consensus_labels,
    find_label_issues,
    find_multilabel_issues,
    gold_accuracy,
    low_confidence_issues,
)


def test_gold_accuracy_counts_and_wilson_interval() -> None:
    gold = {i: i % 2 for i in range(10)}
    answers = [("good", i, i % 2) for i in range(10)]
    answers += [("poor", i, 0) for i in range(10)] + [("poor", 99, 1)]  # 99 is not gold
    scores = gold_accuracy(answers, gold)
    assert scores["good"].n == 10 and scores["good"].accuracy == 1.0
    assert scores["good"].upper == 1.0 and 0.6 < scores["good"].lower < 0.8
    assert scores["poor"].n == 10 and scores["poor"].n_correct == 5
    assert scores["poor"].lower < 0.5 < scores["poor"].upper


def make_noisy(n: int = 600, k: int = 3, rate: float = 0.1, seed: int = 0):
    """Confident out-of-sample probs for the true labels, and labels with flips."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(k, size=n)
    p = rng.dirichlet(np.ones(k) * 0.3, size=n) * 0.2
    p[np.arange(n), truth] += 0.8
    labels = truth.copy()
    flipped = rng.choice(n, int(rate * n), replace=False)
    labels[flipped] = (labels[flipped] + rng.integers(1, k, flipped.size)) % k
    return labels, p, set(flipped.tolist())


@pytest.mark.parametrize("method", ["rank_by_count", "prune_by_noise_rate", "both"])
def test_find_label_issues_recovers_flips(method: str) -> None:
    labels, p, flipped = make_noisy()
    issues = find_label_issues(labels, p, method=method)
    found = {i.index for i in issues}
    assert len(found & flipped) / len(flipped) > 0.85
    assert len(found & flipped) / len(found) > 0.8
    scores = [i.score for i in issues]
    assert scores == sorted(scores)
    assert all(i.given == labels[i.index] and i.suggested == p[i.index].argmax() for i in issues)


def test_low_confidence_baseline() -> None:
    labels, p, _ = make_noisy()
    issues = low_confidence_issues(labels, p, threshold=0.5)
    assert {i.index for i in issues} == set(np.flatnonzero(p[np.arange(600), labels] < 0.5))


def test_label_issue_input_errors() -> None:
    labels, p, _ = make_noisy(n=30)
    with pytest.raises(InvalidInput):
        find_label_issues(labels[:-1], p)
    with pytest.raises(InvalidInput):
        find_label_issues(labels + 5, p)
    with pytest.raises(InvalidInput):
        find_label_issues(labels, p, method="vibes")


def test_multilabel_issues_flag_a_dropped_label() -> None:
    rng = np.random.default_rng(0)
    n, k = 300, 4
    truth = rng.random((n, k)) < 0.3
    p = np.where(truth, 0.95, 0.03)
    labels = [list(np.flatnonzero(row)) for row in truth]
    bad = [5, 50, 150]
    for i in bad:
        labels[i] = [j for j in range(k) if j not in labels[i]]  # complement: clearly wrong
    issues = find_multilabel_issues(labels, p)
    assert set(bad) <= {i.index for i in issues}


def test_dawid_skene_outvotes_a_spammer() -> None:
    rng = np.random.default_rng(0)
    n, k = 300, 3
    truth = rng.integers(k, size=n)
    good = [np.where(rng.random(n) < 0.9, truth, rng.integers(k, size=n)) for _ in range(2)]
    spammers = [rng.integers(k, size=n) for _ in range(3)]
    votes = np.column_stack(good + spammers).astype(float)
    ds = consensus_labels(votes, method="dawid_skene")
    mv = consensus_labels(votes, method="majority")
    assert (ds.labels == truth).mean() > (mv.labels == truth).mean()
    assert (ds.labels == truth).mean() > 0.85
    assert ds.annotator_accuracy[:2].min() > ds.annotator_accuracy[2:].max()


def test_consensus_handles_missing_and_crowdlab() -> None:
    rng = np.random.default_rng(1)
    n, k = 120, 3
    truth = rng.integers(k, size=n)
    votes = np.column_stack(
        [np.where(rng.random(n) < 0.85, truth, (truth + 1) % k) for _ in range(3)]
    ).astype(float)
    votes[rng.random((n, 3)) < 0.3] = np.nan
    votes[np.isnan(votes).all(axis=1), 0] = truth[np.isnan(votes).all(axis=1)]
    p = np.full((n, k), 0.1)
    p[np.arange(n), truth] = 0.8
    res = consensus_labels(votes, pred_probs=p, method="crowdlab")
    assert res.labels.shape == (n,) and (res.labels == truth).mean() > 0.9
    with pytest.raises(InvalidInput):
        consensus_labels(np.full((2, 2), np.nan))
