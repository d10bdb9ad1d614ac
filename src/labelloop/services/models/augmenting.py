"""Augmented training copies of an image project's labelled items, embedded once and cached.

A project's ``augment_copies`` setting (``0``: off) asks for that many augmented copies of each
labelled image (:mod:`labelloop.learn.image_augment`: flip, random resized crop, colour jitter).
Each copy is embedded by the project's backbone and stored in the workspace's embedding cache
under the backbone's name plus ``+aug``, keyed by (content hash, recipe, copy index): a retrain
embeds only the copies of newly labelled images. The copies reach the head as an
:class:`~labelloop.learn.AugmentedSet`, so cross-validation keeps each copy in its source's
fold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.services.progress import Progress, stage

if TYPE_CHECKING:
    from labelloop.learn import AugmentedSet
    from labelloop.learn.image_augment import ImageAugmentRecipe
    from labelloop.services.context import WorkspaceContext

__all__ = ["AUGMENTED_SUFFIX", "augmented_copies", "augmented_keys"]

AUGMENTED_SUFFIX = "+aug"
"""Added to a backbone's name to name the cache folder of its augmented copies."""


class _CopyEncoder:
    """The cache's encoder for augmented copies: inputs are ``(path, seed)`` pairs; each file
    is decoded as the backbone sees it (``load_pixels``: its own resize and crop), augmented
    with its seed and embedded by the backbone's ``encode_pixels``. Augmenting the very image
    the backbone would see keeps the copies' only difference from the originals the
    augmentation itself (an upsampling of their own would set every copy apart)."""

    def __init__(self, encoder: Any, recipe: ImageAugmentRecipe) -> None:
        self.encoder = encoder
        self.recipe = recipe
        self.name = f"{encoder.name}{AUGMENTED_SUFFIX}"
        self.dim = int(encoder.dim)
        self.modality = encoder.modality

    def encode(
        self, inputs: Sequence[Any], *, batch_size: int = 32, progress: Any = None
    ) -> np.ndarray:
        from labelloop.learn.image_augment import augment_images

        size = int(self.encoder.image_size)
        out = np.empty((len(inputs), self.dim), dtype=np.float32)
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start : start + batch_size]
            images = [self.encoder.load_pixels(path) for path, _ in batch]
            pixels = augment_images(
                images, size=size, seeds=[seed for _, seed in batch], recipe=self.recipe
            )
            out[start : start + len(batch)] = self.encoder.encode_pixels(pixels)
            if progress is not None:
                progress(len(batch))
        return out


def augmented_keys(hashes: Sequence[str], copies: int, recipe: ImageAugmentRecipe) -> list[str]:
    """Cache keys of ``copies`` copies of each item: copy-major order, ``hash:recipe:copy``."""
    return [f"{h}:{recipe.key}:{c}" for c in range(copies) for h in hashes]


def augmented_copies(
    ws: WorkspaceContext,
    backbone: str,
    inputs: Sequence[Any],
    hashes: Sequence[str],
    labels: np.ndarray,
    *,
    copies: int,
    progress: Progress | None = None,
) -> AugmentedSet | None:
    """Embeddings of ``copies`` augmented copies of each labelled image, for the head.

    Args:
        ws: The workspace (its embedding cache keeps the copies).
        backbone: The project's backbone; only image backbones with ``load_pixels`` and
            ``encode_pixels`` methods (efficientnet-lite) augment, others train on the
            originals alone.
        inputs: The ``n`` labelled items' file paths.
        hashes: Their content hashes.
        labels: ``(n,)`` label ids (multi-label projects are not augmented).
        copies: Copies per image (the project's ``augment_copies``; 0: none).
        progress: Hears one stage, "embedding augmented copies", of ``n * copies`` rows.

    Returns:
        The :class:`~labelloop.learn.AugmentedSet` (``source`` indexes ``inputs``), or ``None``
        when nothing is augmented.
    """
    from labelloop.backbones import get_encoder
    from labelloop.learn import AugmentedSet
    from labelloop.learn.image_augment import ImageAugmentRecipe, copy_seed
    from labelloop.schema import Modality

    labels = np.asarray(labels)
    if copies <= 0 or len(inputs) == 0 or labels.ndim != 1:
        return None
    encoder = get_encoder(backbone)
    pixel_methods = hasattr(encoder, "load_pixels") and hasattr(encoder, "encode_pixels")
    if encoder.modality != Modality.IMAGE or not pixel_methods:
        return None
    recipe = ImageAugmentRecipe()
    pairs = [(inputs[i], copy_seed(hashes[i], recipe, c)) for c in range(copies)
             for i in range(len(inputs))]  # fmt: skip
    keys = augmented_keys(hashes, copies, recipe)
    advance = stage(progress, "embedding augmented copies", len(pairs))
    embeddings = ws.embedding_cache().embed(
        _CopyEncoder(encoder, recipe), pairs, keys, progress=advance
    )
    source = np.tile(np.arange(len(inputs), dtype=np.int64), copies)
    return AugmentedSet(embeddings=embeddings, labels=labels[source], source=source)
