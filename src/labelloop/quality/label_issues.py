"""Label-error detection (cleanlab) and consensus labels from several annotators.

``pred_probs`` must be out-of-sample (e.g. K-fold cross-validated): a model scoring the items it
trained on memorises their labels, wrong ones included.

Example:
    >>> import numpy as np
    >>> labels = np.array([0, 0, 1, 1, 0, 1, 0, 1, 1, 0])
    >>> p = np.tile([[0.9, 0.1]], (10, 1)); p[labels == 1] = [0.1, 0.9]
    >>> p[3] = [0.95, 0.05]  # item 3 is labelled 1 but looks like 0
    >>> [(i.index, i.given, i.suggested) for i in find_label_issues(labels, p)]
    [(3, 1, 0)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from labelloop.errors import InvalidInput

__all__ = [
    "ConsensusResult",
    "LabelIssue",
    "consensus_labels",
    "find_label_issues",
    "find_multilabel_issues",
    "low_confidence_issues",
]

METHODS = ("rank_by_count", "prune_by_noise_rate", "both", "confident_learning")


@dataclass(frozen=True)
class LabelIssue:
    """A label that is probably wrong.

    Attributes:
        index: row of the item.
        given: its current label id.
        suggested: the model's most likely label id.
        score: label quality in [0, 1]; lower is more likely wrong (issues are sorted by it).
    """

    index: int
    given: int
    suggested: int
    score: float


def _check(labels: object, pred_probs: object) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred_probs, dtype=np.float64)
    y = np.asarray(labels)
    if p.ndim != 2 or p.shape[1] < 2:
        raise InvalidInput(f"pred_probs must be (n, k >= 2), got {p.shape}", field="pred_probs")
    if y.shape != (p.shape[0],):
        raise InvalidInput(f"labels must be (n,) = ({p.shape[0]},), got {y.shape}", field="labels")
    if y.size == 0:
        raise InvalidInput("no labels given", field="labels")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[1]:
        raise InvalidInput(f"labels must be integer ids in [0, {p.shape[1]})", field="labels")
    if not np.all(np.isfinite(p)) or p.min() < 0 or np.abs(p.sum(axis=1) - 1).max() > 1e-3:
        raise InvalidInput("pred_probs rows must be probabilities summing to 1", field="pred_probs")
    return y.astype(np.int64), p


def _issues(
    index: np.ndarray, y: np.ndarray, p: np.ndarray, scores: np.ndarray
) -> list[LabelIssue]:
    order = index[np.lexsort((index, scores[index]))]
    suggested = p.argmax(axis=1)
    return [LabelIssue(int(i), int(y[i]), int(suggested[i]), float(scores[i])) for i in order]


def find_label_issues(
    labels: np.ndarray, pred_probs: np.ndarray, *, method: str = "rank_by_count"
) -> list[LabelIssue]:
    """Items whose given label is probably wrong, most likely first.

    Args:
        labels: (n,) given label ids in [0, k).
        pred_probs: (n, k) out-of-sample class probabilities.
        method: "rank_by_count" (default): rank by cleanlab's self-confidence label quality score
            and flag as many items as cleanlab's confident joint estimates to be mislabelled
            (``cleanlab.count.num_label_issues``, off-diagonal); the most precise option in
            ``benchmarks/label_errors.py``. Or a cleanlab ``filter_by`` rule:
            "prune_by_noise_rate" (cleanlab's default, higher recall, lower precision), "both",
            "confident_learning".

    Returns:
        :class:`LabelIssue` list sorted by ascending quality score (most suspicious first).
    """
    from cleanlab.count import num_label_issues
    from cleanlab.filter import find_label_issues as cl_find
    from cleanlab.rank import get_label_quality_scores

    y, p = _check(labels, pred_probs)
    if method not in METHODS:
        raise InvalidInput(f"unknown method {method!r}; choose from {METHODS}", field="method")
    if np.unique(y).size < 2:
        raise InvalidInput(
            "label-error detection needs at least two classes in use", field="labels"
        )
    scores = get_label_quality_scores(y, p, method="self_confidence")
    if method == "rank_by_count":
        count = int(num_label_issues(y, p, estimation_method="off_diagonal"))
        index = np.argsort(scores, kind="stable")[:count]
    else:
        index = np.flatnonzero(cl_find(y, p, filter_by=method, n_jobs=1))
    return _issues(np.asarray(index, dtype=np.int64), y, p, scores)


def low_confidence_issues(
    labels: np.ndarray, pred_probs: np.ndarray, *, threshold: float = 0.5
) -> list[LabelIssue]:
    """Baseline: flag items whose given label has model probability below ``threshold``.

    Args:
        labels: (n,) given label ids.
        pred_probs: (n, k) out-of-sample class probabilities.
        threshold: flag when ``pred_probs[i, labels[i]] < threshold``.
    """
    y, p = _check(labels, pred_probs)
    if not 0.0 < threshold <= 1.0:
        raise InvalidInput("threshold must lie in (0, 1]", field="threshold")
    self_conf = p[np.arange(y.size), y]
    return _issues(np.flatnonzero(self_conf < threshold), y, p, self_conf)


def find_multilabel_issues(
    labels: Sequence[Sequence[int]], pred_probs: np.ndarray
) -> list[LabelIssue]:
    """Multi-label items whose label set is probably wrong (cleanlab multilabel functions).

    Args:
        labels: n lists of the label ids that apply to each item.
        pred_probs: (n, k) out-of-sample independent per-label probabilities.

    Returns:
        Issues sorted most suspicious first; ``given``/``suggested`` are -1 (a set, not one id).
    """
    from cleanlab.multilabel_classification.filter import find_label_issues as ml_find
    from cleanlab.multilabel_classification.rank import get_label_quality_scores as ml_scores

    p = np.asarray(pred_probs, dtype=np.float64)
    if p.ndim != 2 or len(labels) != p.shape[0]:
        raise InvalidInput("labels and pred_probs (n, k) must have n rows each", field="labels")
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise InvalidInput("pred_probs must lie in [0, 1]", field="pred_probs")
    lab = [sorted({int(j) for j in row}) for row in labels]
    if any(j < 0 or j >= p.shape[1] for row in lab for j in row):
        raise InvalidInput(f"label ids must lie in [0, {p.shape[1]})", field="labels")
    scores = ml_scores(lab, p)
    index = np.flatnonzero(ml_find(lab, p, n_jobs=1))
    order = index[np.lexsort((index, scores[index]))]
    return [LabelIssue(int(i), -1, -1, float(scores[i])) for i in order]


@dataclass(frozen=True)
class ConsensusResult:
    """Consensus of several annotators.

    Attributes:
        labels: (n_items,) consensus label ids.
        quality: (n_items,) confidence in each consensus label, in [0, 1].
        annotator_accuracy: (n_annotators,) each annotator's estimated accuracy (NaN if unseen).
        method: "dawid_skene", "majority" or "crowdlab".
    """

    labels: np.ndarray
    quality: np.ndarray
    annotator_accuracy: np.ndarray
    method: str


def consensus_labels(
    labels_multiannotator: np.ndarray,
    *,
    n_classes: int | None = None,
    pred_probs: np.ndarray | None = None,
    method: str = "dawid_skene",
    max_iter: int = 50,
) -> ConsensusResult:
    """One label per item from several annotators, weighting annotators by estimated quality.

    Args:
        labels_multiannotator: (n_items, n_annotators) label ids, NaN where an annotator did not
            label the item; every item needs at least one label.
        n_classes: number of classes k (default: largest id + 1, or pred_probs' width).
        pred_probs: optional (n_items, k) out-of-sample model probabilities; with
            method="crowdlab" cleanlab's CROWDLAB combines them with the annotators.
        method: "dawid_skene" (EM over per-annotator confusion matrices, Dawid & Skene 1979,
            started from the majority vote), "majority" (plain vote, ties to the lower id) or
            "crowdlab" (needs ``pred_probs``).
        max_iter: EM iterations for Dawid-Skene.
    """
    a = np.asarray(labels_multiannotator, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] == 0:
        raise InvalidInput("labels_multiannotator must be (n_items, n_annotators)", field="labels")
    seen = ~np.isnan(a)
    if not seen.any(axis=1).all():
        raise InvalidInput("every item needs at least one annotator label", field="labels")
    vals = a[seen]
    if np.any(vals < 0) or np.any(vals != np.round(vals)):
        raise InvalidInput("labels must be non-negative integer ids", field="labels")
    k = int(n_classes or (pred_probs.shape[1] if pred_probs is not None else vals.max() + 1))
    if vals.max() >= k:
        raise InvalidInput(f"label ids must lie in [0, {k})", field="labels")
    if method not in ("dawid_skene", "majority", "crowdlab"):
        raise InvalidInput(f"unknown consensus method {method!r}", field="method")
    onehot = np.zeros((*a.shape, k))
    ii, jj = np.nonzero(seen)
    onehot[ii, jj, a[ii, jj].astype(int)] = 1.0
    votes = onehot.sum(axis=1)
    if method == "crowdlab":
        return _crowdlab(a, pred_probs, k)
    post = votes / votes.sum(axis=1, keepdims=True)
    if method == "dawid_skene":
        post = _dawid_skene(onehot, seen, post, max_iter)
    cons = post.argmax(axis=1)
    agree = (onehot * post[:, None, :]).sum(axis=2)  # P(annotator label is the truth)
    with np.errstate(invalid="ignore"):
        acc = np.where(seen.sum(0) > 0, (agree * seen).sum(0) / seen.sum(0), np.nan)
    return ConsensusResult(cons, post.max(axis=1), acc, method)


def _dawid_skene(
    onehot: np.ndarray, seen: np.ndarray, post: np.ndarray, max_iter: int
) -> np.ndarray:
    """EM for (prior, per-annotator confusion) -> posterior over true classes (n, k)."""
    for _ in range(max_iter):
        prior = post.mean(axis=0) + 1e-6
        # confusion[j, true, given], smoothed so unseen cells are not impossible
        conf = np.einsum("it,ijg->jtg", post, onehot) + 0.01
        conf /= conf.sum(axis=2, keepdims=True)
        log_like = np.einsum("ijg,jtg->it", onehot, np.log(conf)) + np.log(prior)
        new = np.exp(log_like - log_like.max(axis=1, keepdims=True))
        new /= new.sum(axis=1, keepdims=True)
        if np.abs(new - post).max() < 1e-6:
            return new
        post = new
    return post


def _crowdlab(a: np.ndarray, pred_probs: np.ndarray | None, k: int) -> ConsensusResult:
    if pred_probs is None:
        raise InvalidInput("method='crowdlab' needs pred_probs", field="pred_probs")
    import pandas as pd
    from cleanlab.multiannotator import get_label_quality_multiannotator

    p = np.asarray(pred_probs, dtype=np.float64)
    if p.shape != (a.shape[0], k):
        raise InvalidInput(f"pred_probs must be ({a.shape[0]}, {k})", field="pred_probs")
    df = pd.DataFrame(a)
    res = get_label_quality_multiannotator(df, p, verbose=False)
    lq = res["label_quality"]
    stats = res["annotator_stats"].reindex(range(a.shape[1]))
    return ConsensusResult(
        lq["consensus_label"].to_numpy(dtype=np.int64),
        lq["consensus_quality_score"].to_numpy(dtype=np.float64),
        stats["agreement_with_consensus"].to_numpy(dtype=np.float64),
        "crowdlab",
    )
