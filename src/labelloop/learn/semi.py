"""Learning from the unlabelled pool as well: neighbourhood smoothing and self-training.

An annotation project always has far more unlabelled items than labels, and their embeddings are
already cached. Two cheap transductive steps use them:

* :class:`NeighbourSmoother` replaces each embedding by a mix of itself and the mean of its ``k``
  nearest neighbours among a reference sample of the project's items. Items of one class form
  dense regions; averaging over the neighbourhood pulls an item towards its region's centre and
  away from the noise of its own wording, so a head needs fewer labels to separate the regions.
* :func:`self_train` fits the head on the labels, then adds the unlabelled items it is most sure
  about (an equal share per predicted class, growing over a few rounds) as pseudo-labels and fits
  again, warm-started.

Both are chosen per project (``TrainingArgs.semi_supervised``); their effect is measured in
``benchmarks/few_shot.py``, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn._validation import check_embeddings, normalize_rows

__all__ = ["NeighbourSmoother", "sample_rows", "self_train"]

_CHUNK = 2048  # query rows per similarity block: 2048 x 10,000 float32 = 80 MB


class NeighbourSmoother:
    """``x -> normalise((1 - weight) * x + weight * mean(k nearest reference rows of x))``.

    The reference rows are kept (float16, L2-normalised) so a saved model smooths new items the
    same way it smoothed its training rows. Similarity is the dot product of normalised rows.

    Args:
        neighbours: ``k``.
        weight: share of the neighbourhood mean in the result, in ``[0, 1]``.

    Example:
        >>> ref = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], dtype=np.float32)
        >>> s = NeighbourSmoother(neighbours=2, weight=0.5).fit(ref)
        >>> s.transform(np.array([[0.8, 0.6]], dtype=np.float32)).round(2).tolist()
        [[0.95, 0.32]]
    """

    reference_: np.ndarray

    def __init__(self, *, neighbours: int = 10, weight: float = 0.5) -> None:
        if not isinstance(neighbours, int) or neighbours < 1:
            raise InvalidInput(
                f"must be a positive integer, got {neighbours!r}", field="neighbours"
            )
        if not 0.0 <= weight <= 1.0:
            raise InvalidInput(f"must lie in [0, 1], got {weight!r}", field="weight")
        self.neighbours = neighbours
        self.weight = weight

    def fit(self, reference: np.ndarray) -> NeighbourSmoother:
        """Keep ``reference`` ``(m, d)`` (e.g. a sample of the project's item embeddings)."""
        ref = check_embeddings(reference)
        if ref.shape[0] == 0:
            raise InvalidInput("needs at least one reference row", field="reference")
        self.reference_ = normalize_rows(ref).astype(np.float16)
        return self

    @property
    def dim(self) -> int:
        return int(self.reference_.shape[1])

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        """Smoothed, L2-normalised float32 ``(n, d)``."""
        if not hasattr(self, "reference_"):
            raise InvalidInput("the smoother must be fitted first", field="smoother")
        import torch  # topk is ~10x faster than numpy's argpartition here

        x = normalize_rows(check_embeddings(embeddings, dim=self.dim))
        ref = torch.from_numpy(self.reference_.astype(np.float32))
        k = min(self.neighbours, ref.shape[0])
        out = np.empty_like(x)
        with torch.no_grad():
            for start in range(0, x.shape[0], _CHUNK):
                block = torch.from_numpy(x[start : start + _CHUNK])
                nearest = torch.topk(block @ ref.T, k, dim=1).indices
                mean = ref[nearest].mean(dim=1)
                out[start : start + _CHUNK] = (
                    (1.0 - self.weight) * block + self.weight * mean
                ).numpy()
        return normalize_rows(out).astype(np.float32)


def sample_rows(n: int, limit: int, *, seed: int) -> np.ndarray:
    """Sorted indices of at most ``limit`` of ``n`` rows, drawn without replacement."""
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=limit, replace=False))


Fit = Callable[[np.ndarray, np.ndarray, object], object]
"""``fit(x, targets, init) -> head``: fits a head that has ``predict_proba``."""


def self_train(
    fit: Fit,
    x: np.ndarray,
    targets: np.ndarray,
    unlabelled: np.ndarray,
    *,
    n_labels: int,
    share: float = 1.0,
    rounds: int = 3,
    init: object = None,
) -> object:
    """Fit on labelled rows, then ``rounds`` times add confident pseudo-labels and fit again.

    In round ``r`` (1-based) each class receives up to ``share * r / rounds * len(unlabelled) / k``
    pseudo-labels: the unlabelled rows predicted as that class with the highest probability. Taking
    an equal share per class keeps a confident majority class from swallowing the pool.

    Args:
        fit: ``fit(x, targets, init) -> head`` (``targets`` are ids ``(n,)`` or soft ``(n, k)``).
        x: ``(n, d)`` labelled rows; ``targets`` their ids or soft targets.
        unlabelled: ``(m, d)`` unlabelled rows (already transformed like ``x``).
        n_labels: ``k``.
        share: share of the unlabelled rows pseudo-labelled by the last round, in ``(0, 1]``.
        rounds: refits after the first fit.
        init: warm start of the first fit.

    Returns:
        The last head.
    """
    head = fit(x, targets, init)
    if len(unlabelled) == 0 or rounds < 1:
        return head
    soft = np.asarray(targets).ndim == 2
    for r in range(1, rounds + 1):
        probs = head.predict_proba(unlabelled)  # type: ignore[attr-defined]
        pred = probs.argmax(axis=1)
        conf = probs[np.arange(len(pred)), pred]
        per_class = int(share * r / rounds * len(unlabelled) / n_labels)
        chosen = []
        for cls in range(n_labels):
            rows = np.flatnonzero(pred == cls)
            chosen.append(rows[np.argsort(-conf[rows], kind="stable")[:per_class]])
        pick = np.concatenate(chosen)
        if soft:
            pseudo = np.zeros((len(pick), n_labels), dtype=np.float32)
            pseudo[np.arange(len(pick)), pred[pick]] = 1.0
            new_targets = np.concatenate([np.asarray(targets, np.float32), pseudo])
        else:
            new_targets = np.concatenate([np.asarray(targets), pred[pick]])
        head = fit(np.concatenate([x, unlabelled[pick]]), new_targets, head)
    return head
