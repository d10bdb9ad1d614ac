"""Training-data augmentation: EDA-style token edits on texts and mixup in embedding space.

Both are pure functions with a seed. Mixup produces *soft* labels (rows of an ``(n, k)`` matrix that
sum to 1); every head in :mod:`labelloop.learn` accepts soft labels in ``fit``. Whether augmentation
helps is measured in ``benchmarks/few_shot.py``; see ``docs/learning.md`` for the figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn._validation import check_embeddings, check_targets

__all__ = ["eda_augment", "mixup", "random_deletion", "random_swap"]


def random_deletion(tokens: Sequence[str], p: float, rng: np.random.Generator) -> list[str]:
    """Drop each token with probability ``p``; never returns an empty list for non-empty input."""
    kept = [t for t in tokens if rng.random() >= p]
    if not kept and tokens:
        kept = [tokens[int(rng.integers(len(tokens)))]]
    return kept


def random_swap(tokens: Sequence[str], n_swaps: int, rng: np.random.Generator) -> list[str]:
    """Swap two random positions ``n_swaps`` times."""
    out = list(tokens)
    if len(out) < 2:
        return out
    for _ in range(n_swaps):
        i, j = rng.choice(len(out), size=2, replace=False)
        out[i], out[j] = out[j], out[i]
    return out


def eda_augment(
    texts: Sequence[str],
    labels: Sequence[int] | np.ndarray,
    *,
    factor: int = 1,
    p_delete: float = 0.1,
    swap_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Make ``factor`` edited copies of every text (random deletion then random swap).

    Synonym replacement and insertion of the original EDA need a thesaurus; they are left out.

    Args:
        texts: ``n`` labelled texts.
        labels: ``(n,)`` label ids (or ``(n, k)`` indicator rows), copied to the new texts.
        factor: copies per text.
        p_delete: probability of deleting each token.
        swap_fraction: swaps per copy as a fraction of the token count (at least one).
        seed: seed of the random edits.

    Returns:
        ``(new_texts, new_labels, source)``: only the ``n * factor`` *new* texts, their labels, and
        ``source`` ``(n * factor,)``, the index of the text each came from (keep copies of one text
        in the same cross-validation fold).

    Example:
        >>> new, lab, src = eda_augment(["the card never arrived at all"], [3], factor=2, seed=0)
        >>> len(new), lab.tolist(), src.tolist()
        (2, [3, 3], [0, 0])
    """
    labels_arr = np.asarray(labels)
    if labels_arr.shape[0] != len(texts):
        raise InvalidInput(f"need one label per text ({len(texts)})", field="labels")
    if factor < 0:
        raise InvalidInput("must be >= 0", field="factor")
    if not 0.0 <= p_delete < 1.0:
        raise InvalidInput("must lie in [0, 1)", field="p_delete")
    rng = np.random.default_rng(seed)
    new_texts: list[str] = []
    source: list[int] = []
    for _copy in range(factor):
        for i, text in enumerate(texts):
            tokens = str(text).split()
            tokens = random_deletion(tokens, p_delete, rng)
            tokens = random_swap(tokens, max(1, int(swap_fraction * len(tokens))), rng)
            new_texts.append(" ".join(tokens))
            source.append(i)
    src = np.asarray(source, dtype=np.int64)
    return new_texts, labels_arr[src], src


def mixup(
    embeddings: np.ndarray,
    labels: np.ndarray,
    *,
    n_labels: int,
    alpha: float = 0.4,
    factor: int = 1,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Embedding-space mixup: the originals plus ``factor * n`` convex mixes of random pairs.

    Each mix is ``lam * e_i + (1 - lam) * e_j`` with ``lam ~ Beta(alpha, alpha)`` and the soft label
    ``lam * y_i + (1 - lam) * y_j``.

    Args:
        embeddings: ``(n, d)`` embeddings.
        labels: ``(n,)`` label ids or ``(n, k)`` soft labels.
        n_labels: ``k``.
        alpha: Beta parameter (small: mixes stay near one endpoint).
        factor: mixed rows per original row.
        seed: seed of the pairing and of ``lam``.

    Returns:
        ``(embeddings (n * (1 + factor), d) float32, soft_labels (n * (1 + factor), k) float32)``;
        the first ``n`` rows are the originals.
    """
    x = check_embeddings(embeddings)
    targets, _ = check_targets(labels, x.shape[0], n_labels)
    if alpha <= 0:
        raise InvalidInput("must be positive", field="alpha")
    n = x.shape[0]
    if factor <= 0 or n < 2:
        return x, targets
    rng = np.random.default_rng(seed)
    i = np.tile(np.arange(n), factor)
    j = rng.integers(0, n, size=i.shape[0])
    lam = rng.beta(alpha, alpha, size=(i.shape[0], 1)).astype(np.float32)
    mixed_x = lam * x[i] + (1 - lam) * x[j]
    mixed_y = lam * targets[i] + (1 - lam) * targets[j]
    return (
        np.concatenate([x, mixed_x]).astype(np.float32),
        np.concatenate([targets, mixed_y]).astype(np.float32),
    )
