"""Query strategies behind one interface, and the registry that names them.

A strategy is a thin adapter over a pure function in :mod:`labelloop.active.scores` or
:mod:`labelloop.active.diversity`. Adding one is a subclass and one registry line.

Example:
    >>> import numpy as np
    >>> strategy = get_strategy("margin")
    >>> p = np.array([[0.5, 0.5], [0.9, 0.1], [0.6, 0.4]])
    >>> strategy.select(pred_probs=p, candidates=np.array([True, True, True]), n=2, seed=0).tolist()
    [0, 2]
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import ClassVar

import numpy as np

from labelloop.active._validate import (
    check_embeddings,
    check_n,
    check_pred_probs,
    resolve_candidates,
)
from labelloop.active.diversity import cold_start, hybrid, kcenter_greedy
from labelloop.active.scores import (
    _entropy,
    _least_confidence,
    _margin,
    _multilabel_entropy,
    _multilabel_uncertainty,
    top_candidates,
)
from labelloop.errors import InvalidInput

__all__ = [
    "ColdStart",
    "EntropySampling",
    "HybridSampling",
    "KCenterGreedy",
    "LeastConfidence",
    "MarginSampling",
    "MultilabelEntropy",
    "MultilabelUncertainty",
    "QueryStrategy",
    "RandomSampling",
    "get_strategy",
    "list_strategies",
]


class QueryStrategy(abc.ABC):
    """Chooses which unlabelled items a human should label next.

    Attributes:
        name: registry name.
        needs: inputs ``select`` requires, a subset of ``{"pred_probs", "embeddings"}``.

    ``select`` returns distinct indices (into the rows of ``pred_probs``/``embeddings``) of
    candidate items in priority order, best first: all candidates when ``n`` exceeds their number.
    It raises :class:`~labelloop.errors.PoolExhausted` when there is no candidate and
    :class:`~labelloop.errors.InvalidInput` for a missing input or a bad shape. The same inputs
    and ``seed`` always give the same answer.
    """

    name: ClassVar[str] = ""
    needs: ClassVar[frozenset[str]] = frozenset()

    def select(
        self,
        *,
        pred_probs: np.ndarray | None = None,
        embeddings: np.ndarray | None = None,
        candidates: np.ndarray | None,
        n: int,
        seed: int = 0,
    ) -> np.ndarray:
        """Return up to ``n`` candidate indices (int64), best first.

        Args:
            pred_probs: (n_items, k) model probabilities, when the strategy needs them.
            embeddings: (n_items, d) item embeddings, when the strategy needs them.
            candidates: (n_items,) bool mask or 1-D integer indices of the selectable
                (unlabelled) items; None means every item.
            n: batch size, >= 1.
            seed: random seed; equal seeds give equal batches.
        """
        n = check_n(n)
        p = e = None
        if "pred_probs" in self.needs:
            if pred_probs is None:
                raise InvalidInput(f"strategy {self.name!r} needs pred_probs", field="pred_probs")
            p = check_pred_probs(pred_probs, multi_label=self._multi_label)
        if "embeddings" in self.needs:
            if embeddings is None:
                raise InvalidInput(f"strategy {self.name!r} needs embeddings", field="embeddings")
            e = check_embeddings(embeddings)
        if p is not None and e is not None and p.shape[0] != e.shape[0]:
            raise InvalidInput(
                f"pred_probs has {p.shape[0]} rows but embeddings has {e.shape[0]}",
                field="embeddings",
            )
        n_items = _n_items(p if p is not None else pred_probs, e if e is not None else embeddings)
        if n_items is None:
            if candidates is None:
                raise InvalidInput(
                    f"strategy {self.name!r} needs candidates when no array is given",
                    field="candidates",
                )
            arr = np.asarray(candidates)
            if arr.dtype == np.bool_:
                n_items = arr.shape[0] if arr.ndim == 1 else 0
            else:
                ok = arr.size and arr.ndim == 1 and np.issubdtype(arr.dtype, np.integer)
                n_items = int(arr.max()) + 1 if ok else 0
        cand = resolve_candidates(candidates, n_items)
        return self._select(p, e, cand, n, seed)

    _multi_label: ClassVar[bool] = False

    @abc.abstractmethod
    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        """Pick up to ``n`` of ``candidates``, best first (inputs already validated)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _n_items(pred_probs: object, embeddings: object) -> int | None:
    """Number of items implied by whichever array was given (first axis)."""
    for value, field in ((pred_probs, "pred_probs"), (embeddings, "embeddings")):
        if value is not None:
            shape = np.shape(value)  # type: ignore[call-overload]
            if len(shape) != 2:
                raise InvalidInput(f"{field} must be a 2-D array, got shape {shape}", field=field)
            return int(shape[0])
    return None


class _ScoreStrategy(QueryStrategy):
    """Top-n by a score function of ``pred_probs`` (higher = more informative)."""

    needs = frozenset({"pred_probs"})

    @abc.abstractmethod
    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        """Informativeness of each row, ``(n,)``, higher first."""

    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        assert pred_probs is not None
        return top_candidates(self._score, pred_probs, candidates, n)


class LeastConfidence(_ScoreStrategy):
    """Items whose most likely class has the lowest probability."""

    name = "least_confidence"

    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        return _least_confidence(pred_probs)


class MarginSampling(_ScoreStrategy):
    """Items whose two most likely classes are closest ("breaking ties")."""

    name = "margin"

    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        return _margin(pred_probs)


class EntropySampling(_ScoreStrategy):
    """Items with the most spread-out predicted distribution."""

    name = "entropy"

    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        return _entropy(pred_probs)


class MultilabelEntropy(_ScoreStrategy):
    """Multi-label: highest mean binary entropy over the labels."""

    name = "multilabel_entropy"
    _multi_label = True

    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        return _multilabel_entropy(pred_probs)


class MultilabelUncertainty(_ScoreStrategy):
    """Multi-label: some label's probability closest to the decision threshold."""

    name = "multilabel_uncertainty"
    _multi_label = True

    def __init__(self, *, threshold: float = 0.5) -> None:
        if not 0.0 < float(threshold) < 1.0:
            raise InvalidInput(f"threshold must lie in (0, 1), got {threshold}", field="threshold")
        self.threshold = float(threshold)

    def _score(self, pred_probs: np.ndarray) -> np.ndarray:
        return _multilabel_uncertainty(pred_probs, self.threshold)


class RandomSampling(QueryStrategy):
    """Uniformly random items: the baseline every other strategy must beat."""

    name = "random"

    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        rng = np.random.default_rng(seed)
        k = min(n, candidates.size)
        return candidates[rng.choice(candidates.size, k, replace=False)].astype(np.int64)


class KCenterGreedy(QueryStrategy):
    """Diversity: greedy k-center; items that are not candidates count as already labelled.

    Cost O(n_candidates * (n_labelled + n) * d): it grows with the batch size.
    """

    name = "kcenter"
    needs = frozenset({"embeddings"})

    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        assert embeddings is not None
        labelled = np.ones(embeddings.shape[0], dtype=bool)
        labelled[candidates] = False
        return kcenter_greedy(
            embeddings, labelled_mask=labelled, n=n, candidates=candidates, seed=seed
        )


class ColdStart(QueryStrategy):
    """Zero labels: the most typical item of each of ``n`` k-means clusters."""

    name = "cold_start"
    needs = frozenset({"embeddings"})

    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        assert embeddings is not None
        return cold_start(embeddings, n=n, candidates=candidates, seed=seed)


class HybridSampling(QueryStrategy):
    """Uncertainty within diversity clusters (see :func:`~labelloop.active.diversity.hybrid`)."""

    name = "hybrid"
    needs = frozenset({"pred_probs", "embeddings"})

    def __init__(self, *, pool_factor: int = 10, uncertainty: str = "margin") -> None:
        self.pool_factor = pool_factor
        self.uncertainty = uncertainty

    def _select(
        self,
        pred_probs: np.ndarray | None,
        embeddings: np.ndarray | None,
        candidates: np.ndarray,
        n: int,
        seed: int,
    ) -> np.ndarray:
        assert pred_probs is not None and embeddings is not None
        return hybrid(
            pred_probs,
            embeddings,
            n=n,
            candidates=candidates,
            seed=seed,
            pool_factor=self.pool_factor,
            uncertainty=self.uncertainty,
        )


_REGISTRY: dict[str, Callable[..., QueryStrategy]] = {
    cls.name: cls
    for cls in (
        RandomSampling,
        LeastConfidence,
        MarginSampling,
        EntropySampling,
        KCenterGreedy,
        ColdStart,
        HybridSampling,
        MultilabelEntropy,
        MultilabelUncertainty,
    )
}


def list_strategies() -> list[str]:
    """Names accepted by :func:`get_strategy`, sorted."""
    return sorted(_REGISTRY)


def get_strategy(name: str, **params: object) -> QueryStrategy:
    """Build the strategy registered under ``name`` with optional keyword ``params``.

    Raises:
        InvalidInput: unknown name or parameter.
    """
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise InvalidInput(
            f"unknown strategy {name!r}; choose from {', '.join(list_strategies())}",
            field="strategy",
        ) from None
    try:
        return factory(**params)
    except TypeError as exc:
        raise InvalidInput(
            f"bad parameters for strategy {name!r}: {exc}", field="strategy"
        ) from None
