"""Out-of-fold predictions, choice of ``C`` by cross-validation, and classification metrics."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from labelloop.errors import InvalidInput
from labelloop.learn._softmax import log_softmax, softmax
from labelloop.learn._validation import check_embeddings, check_hard_labels
from labelloop.learn.args import TrainingArgs
from labelloop.learn.augment import mixup
from labelloop.learn.heads import LogisticHead, MLPHead
from labelloop.learn.semi import self_train

__all__ = [
    "AugmentedSet",
    "ClassMetrics",
    "Metrics",
    "can_cross_validate",
    "classification_metrics",
    "fit_head",
    "fold_ids",
    "out_of_fold_logits",
    "out_of_fold_pred_probs",
    "select_C",
]

Head = LogisticHead | MLPHead


@dataclass(frozen=True)
class AugmentedSet:
    """Extra training rows made from labelled rows (e.g. re-encoded :func:`eda_augment` texts).

    ``source[i]`` is the labelled row that row ``i`` was made from: augmented rows join a training
    fold only when their source does, so they never leak into the fold they would be scored on.
    """

    embeddings: np.ndarray
    labels: np.ndarray
    source: np.ndarray


def fold_ids(labels: np.ndarray, *, n_splits: int, seed: int) -> np.ndarray:
    """Stratified fold id ``(n,)`` in ``[0, n_splits)`` per row; a class with fewer rows than
    folds simply misses some folds (no warning, no error)."""
    rng = np.random.default_rng(seed)
    folds = np.empty(len(labels), dtype=np.int64)
    offset = 0
    for cls in np.unique(labels):
        idx = np.flatnonzero(labels == cls)
        idx = idx[rng.permutation(len(idx))]
        # continue the round-robin across classes so singletons spread over folds
        folds[idx] = (offset + np.arange(len(idx))) % n_splits
        offset = (offset + len(idx)) % n_splits
    return folds


def can_cross_validate(labels: np.ndarray) -> bool:
    """True when out-of-fold predictions mean something: 2+ classes and 4+ labels."""
    return len(labels) >= 4 and len(np.unique(labels)) >= 2


def _n_splits(labels: np.ndarray, cv_folds: int) -> int:
    counts = np.bincount(labels)
    counts = counts[counts >= 2]
    smallest = int(counts.min()) if counts.size else 2
    return int(max(2, min(cv_folds, smallest, len(labels))))


def make_head(args: TrainingArgs, *, n_labels: int, C: float) -> Head:
    """The unfitted head ``args`` describes."""
    if args.head == "mlp":
        return MLPHead(n_labels, hidden=args.hidden, seed=args.seed)
    return LogisticHead(n_labels, C=C, max_iter=args.max_iter, tol=args.tol)


def fit_head(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs,
    C: float | None = None,
    init: Head | None = None,
    augmented: AugmentedSet | None = None,
    unlabelled: np.ndarray | None = None,
) -> Head:
    """Fit the head of ``args`` on ``(n, d)`` embeddings and ``(n,)`` ids, with its augmentation
    (and self-training on ``unlabelled`` rows when ``args.semi_supervised``)."""
    C = C if C is not None else (args.C if args.C is not None else 10.0)
    x, y = _training_rows(embeddings, labels, n_labels=n_labels, args=args, augmented=augmented)
    return _fit(x, y, n_labels=n_labels, args=args, C=C, init=init, unlabelled=unlabelled)


def _fit(
    x: np.ndarray,
    targets: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs,
    C: float,
    init: Head | None,
    unlabelled: np.ndarray | None,
) -> Head:
    """One head on prepared rows; self-trained on ``unlabelled`` when ``args`` asks for it."""

    def fit(rows: np.ndarray, target: np.ndarray, start: object) -> Head:
        head = make_head(args, n_labels=n_labels, C=C)
        if isinstance(head, LogisticHead):
            return head.fit(rows, target, init=start if isinstance(start, LogisticHead) else None)
        return head.fit(rows, target)

    if unlabelled is None or not args.self_trains:
        return fit(x, targets, init)
    head = self_train(
        fit,
        x,
        targets,
        unlabelled,
        n_labels=n_labels,
        share=args.self_training_share,
        rounds=args.self_training_rounds,
        init=init,
    )
    assert isinstance(head, LogisticHead | MLPHead)
    return head


def _training_rows(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs,
    augmented: AugmentedSet | None,
    keep: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Rows to train on: the kept labelled rows, their augmented copies, and mixup of both."""
    targets = np.zeros((len(y), n_labels), dtype=np.float32)
    targets[np.arange(len(y)), y] = 1.0
    if keep is not None:
        x, targets = x[keep], targets[keep]
    if augmented is not None and len(augmented.source):
        mask = np.ones(len(augmented.source), bool) if keep is None else keep[augmented.source]
        aug_y = np.asarray(augmented.labels)
        if aug_y.ndim == 1:
            onehot = np.zeros((len(aug_y), n_labels), dtype=np.float32)
            onehot[np.arange(len(aug_y)), aug_y] = 1.0
            aug_y = onehot
        x = np.concatenate([x, np.asarray(augmented.embeddings, np.float32)[mask]])
        targets = np.concatenate([targets, aug_y[mask].astype(np.float32)])
    if args.augment == "mixup" and args.augment_factor > 0:
        x, targets = mixup(
            x,
            targets,
            n_labels=n_labels,
            alpha=args.mixup_alpha,
            factor=args.augment_factor,
            seed=args.seed,
        )
    return x, targets


def out_of_fold_logits(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs,
    C: float | None = None,
    init: Head | None = None,
    augmented: AugmentedSet | None = None,
    unlabelled: np.ndarray | None = None,
) -> np.ndarray:
    """Logits ``(n, k)`` of each labelled row from a head that never saw it (stratified folds).

    With self-training, a fold's held-out rows join ``unlabelled``: the head may use them as
    unlabelled data, never their labels.
    """
    x = check_embeddings(embeddings)
    y = check_hard_labels(labels, x.shape[0], n_labels)
    folds = fold_ids(y, n_splits=_n_splits(y, args.cv_folds), seed=args.seed)
    out = np.zeros((len(y), n_labels), dtype=np.float32)
    for f in np.unique(folds):
        train = folds != f
        tx, ty = _training_rows(x, y, n_labels=n_labels, args=args, augmented=augmented, keep=train)
        pool = None if unlabelled is None else np.concatenate([unlabelled, x[~train]])
        head = _fit(
            tx,
            ty,
            n_labels=n_labels,
            args=args,
            C=C if C is not None else (args.C or 10.0),
            init=init,
            unlabelled=pool,
        )
        out[~train] = head.decision_function(x[~train])
    return out


def out_of_fold_pred_probs(
    embeddings: np.ndarray, labels: np.ndarray, *, n_labels: int, args: TrainingArgs
) -> np.ndarray:
    """Uncalibrated out-of-fold probabilities ``(n, k)`` (rows sum to 1).

    Folds are stratified; their number is ``args.cv_folds`` or fewer when the rarest class with
    two or more labels has fewer labels than that. A class with a single label is predicted from
    folds that lack it, so it gets ~0 probability there: an honest estimate for a class that rare.
    """
    C = args.C if args.C is not None else 10.0
    return softmax(out_of_fold_logits(embeddings, labels, n_labels=n_labels, args=args, C=C))


def select_C(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_labels: int,
    args: TrainingArgs,
    augmented: AugmentedSet | None = None,
) -> tuple[float, np.ndarray]:
    """Pick ``C`` from ``args.C_grid`` by out-of-fold accuracy (ties: lower log-loss).

    Each fold walks the grid from strong to weak regularisation, warm-starting every fit from the
    previous one, so the whole path costs little more than one cold fit per fold.

    Returns:
        ``(C, out-of-fold logits (n, k) at that C)``.
    """
    x = check_embeddings(embeddings)
    y = check_hard_labels(labels, x.shape[0], n_labels)
    grid = sorted(args.C_grid)
    folds = fold_ids(y, n_splits=_n_splits(y, args.cv_folds), seed=args.seed)
    oof = np.zeros((len(grid), len(y), n_labels), dtype=np.float32)
    for f in np.unique(folds):
        train = folds != f
        tx, ty = _training_rows(x, y, n_labels=n_labels, args=args, augmented=augmented, keep=train)
        prev: LogisticHead | None = None
        for g, C in enumerate(grid):
            prev = LogisticHead(n_labels, C=C, max_iter=args.max_iter, tol=args.tol).fit(
                tx, ty, init=prev
            )
            oof[g, ~train] = prev.decision_function(x[~train])
    rows = np.arange(len(y))
    scores = [
        ((o.argmax(axis=1) == y).mean(), -np.maximum(log_softmax(o)[rows, y], -30).mean())
        for o in oof
    ]
    best = max(range(len(grid)), key=lambda g: (scores[g][0], -scores[g][1]))
    return float(grid[best]), oof[best]


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall and F1 of one label; ``support`` is its number of true rows."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """Classification quality on ``n`` rows (cross-validated when it comes from ``fit_model``).

    ``confusion[i][j]`` counts rows of true label ``i`` predicted as ``j``; ``macro_f1`` averages
    the
    labels that occur in the truth or the predictions (scikit-learn's default).
    """

    n: int
    accuracy: float
    macro_f1: float
    per_class: tuple[ClassMetrics, ...]
    confusion: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return dataclasses.asdict(self)


def classification_metrics(
    labels: np.ndarray, pred_probs: np.ndarray, *, label_names: Sequence[str]
) -> Metrics:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        labels: ``(n,)`` true label ids.
        pred_probs: ``(n, k)`` probabilities (the prediction is the argmax).
        label_names: ``k`` label names.
    """
    p = np.asarray(pred_probs)
    if p.ndim != 2 or p.shape[1] != len(label_names):
        raise InvalidInput(f"must be (n, {len(label_names)}), got {p.shape}", field="pred_probs")
    k = p.shape[1]
    y = check_hard_labels(labels, p.shape[0], k)
    if not len(y):
        zeros = np.zeros(k)
        return _metrics(label_names, 0, 0.0, zeros, zeros, zeros, np.zeros((k, k), np.int64))
    pred = p.argmax(axis=1)
    ids = np.arange(k)
    confusion = confusion_matrix(y, pred, labels=ids)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, pred, labels=ids, zero_division=0.0
    )
    return _metrics(
        label_names, len(y), float(accuracy_score(y, pred)), precision, recall, f1, confusion
    )


def _metrics(
    label_names: Sequence[str],
    n: int,
    accuracy: float,
    precision: np.ndarray,
    recall: np.ndarray,
    f1: np.ndarray,
    confusion: np.ndarray,
) -> Metrics:
    """``macro_f1`` averages the labels that occur in the truth or the predictions."""
    k = len(label_names)
    support = confusion.sum(axis=1)
    present = (support > 0) | (confusion.sum(axis=0) > 0)
    return Metrics(
        n=n,
        accuracy=accuracy,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=tuple(
            ClassMetrics(
                str(label_names[j]),
                float(precision[j]),
                float(recall[j]),
                float(f1[j]),
                int(support[j]),
            )
            for j in range(k)
        ),
        confusion=tuple(tuple(int(v) for v in row) for row in confusion),
    )
