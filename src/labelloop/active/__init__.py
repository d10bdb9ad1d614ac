"""Active learning: which unlabelled items a human should label next.

Pure score and selection functions over ``pred_probs`` (n, k) and ``embeddings`` (n, d), and thin
:class:`QueryStrategy` classes behind one ``select`` interface with a name registry. Arrays in,
arrays out: nothing here touches storage, HTTP or the terminal.

Example:
    >>> import numpy as np
    >>> from labelloop.active import get_strategy
    >>> p = np.array([[0.9, 0.1], [0.55, 0.45], [0.7, 0.3]])
    >>> get_strategy("entropy").select(pred_probs=p, candidates=None, n=2, seed=0).tolist()
    [1, 2]
"""

from labelloop.active.diversity import cluster_items, cold_start, hybrid, kcenter_greedy
from labelloop.active.scores import (
    entropy,
    least_confidence,
    margin,
    multilabel_entropy,
    multilabel_uncertainty,
)
from labelloop.active.strategies import QueryStrategy, get_strategy, list_strategies

__all__ = [
    "QueryStrategy",
    "cluster_items",
    "cold_start",
    "entropy",
    "get_strategy",
    "hybrid",
    "kcenter_greedy",
    "least_confidence",
    "list_strategies",
    "margin",
    "multilabel_entropy",
    "multilabel_uncertainty",
]
