"""Image augmentation for training: seeded albumentations copies of labelled images.

With a frozen backbone and a head, augmenting an image project means embedding a few altered
copies of each labelled image (flipped, cropped and resized, colour-jittered) and training the
head on the originals plus those copies. This module makes the copies (pixels in, pixels out);
the backbone embeds them and the caller passes them to :func:`labelloop.learn.fit_model` as an
:class:`~labelloop.learn.AugmentedSet`. Whether it helps is measured in
``benchmarks/image_augment.py`` (see ``docs/learning.md``).

Every copy is a pure function of (the image, the recipe, the copy's seed), and
:func:`copy_seed` derives that seed from the item's content hash, the recipe and the copy
index, so a copy is the same in every process and a cache keyed by those three stays valid.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, MissingDependency

__all__ = ["ImageAugmentRecipe", "augment_image", "augment_images", "copy_seed"]


# OpenCV's interpolation flags (cv2.INTER_LINEAR, INTER_CUBIC, INTER_AREA), which
# albumentations takes
_INTERPOLATIONS = {"linear": 1, "cubic": 2, "area": 3}


@dataclass(frozen=True)
class ImageAugmentRecipe:
    """The augmentation of one training copy: flip, random resized crop, colour jitter.

    Attributes:
        flip: Probability of a horizontal flip.
        crop_scale: Range of the crop's area as a share of the image's
            (``RandomResizedCrop``'s ``scale``).
        crop_ratio: Range of the crop's aspect ratio.
        brightness: ``ColorJitter`` brightness strength (0: none).
        contrast: ``ColorJitter`` contrast strength.
        saturation: ``ColorJitter`` saturation strength.
        hue: ``ColorJitter`` hue strength (at most 0.5).
        jitter: Probability of applying the colour jitter.
        interpolation: How the crop is resized: ``"cubic"`` (as Pillow's bicubic resize of
            the backbone's own pre-processing), ``"linear"`` or ``"area"``.

    Example:
        >>> ImageAugmentRecipe().key.startswith("fcj-")
        True
    """

    flip: float = 0.5
    crop_scale: tuple[float, float] = (0.7, 1.0)
    crop_ratio: tuple[float, float] = (0.8, 1.25)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2
    hue: float = 0.02
    jitter: float = 0.8
    interpolation: str = "cubic"

    def __post_init__(self) -> None:
        if self.interpolation not in _INTERPOLATIONS:
            raise InvalidInput(
                f"must be one of {', '.join(_INTERPOLATIONS)}, got {self.interpolation!r}",
                field="interpolation",
            )
        for name in ("flip", "jitter"):
            _in_range(name, getattr(self, name), 0.0, 1.0)
        for name in ("brightness", "contrast", "saturation"):
            _in_range(name, getattr(self, name), 0.0, 1.0)
        _in_range("hue", self.hue, 0.0, 0.5)
        low, high = self.crop_scale
        if not 0.0 < low <= high <= 1.0:
            raise InvalidInput(
                f"must be (low, high) with 0 < low <= high <= 1, got {self.crop_scale}",
                field="crop_scale",
            )
        low, high = self.crop_ratio
        if not 0.0 < low <= high:
            raise InvalidInput(
                f"must be (low, high) with 0 < low <= high, got {self.crop_ratio}",
                field="crop_ratio",
            )

    @property
    def key(self) -> str:
        """A short stable name of the recipe's values (part of the augmented-embedding key)."""
        text = json.dumps(asdict(self), sort_keys=True)
        return "fcj-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def copy_seed(content_hash: str, recipe: ImageAugmentRecipe, copy: int) -> int:
    """The seed of copy number ``copy`` of the item with ``content_hash`` under ``recipe``.

    Stable across processes and platforms (SHA-256, not Python's salted ``hash``).
    """
    digest = hashlib.sha256(f"{content_hash}\x00{recipe.key}\x00{copy}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def _compose(recipe: ImageAugmentRecipe, size: int) -> Any:
    try:
        import albumentations as A
    except ImportError as exc:  # pragma: no cover - the images extra installs it
        raise MissingDependency("albumentations (image augmentation)", extra="images") from exc
    return A.Compose(
        [
            A.HorizontalFlip(p=recipe.flip),
            A.RandomResizedCrop(
                size=(size, size),
                scale=recipe.crop_scale,
                ratio=recipe.crop_ratio,
                interpolation=_INTERPOLATIONS[recipe.interpolation],
                p=1.0,
            ),
            A.ColorJitter(
                brightness=recipe.brightness,
                contrast=recipe.contrast,
                saturation=recipe.saturation,
                hue=recipe.hue,
                p=recipe.jitter,
            ),
        ]
    )


def augment_image(
    image: np.ndarray, *, size: int, seed: int, recipe: ImageAugmentRecipe | None = None
) -> np.ndarray:
    """One augmented copy of ``image`` (``(h, w, 3)`` uint8 RGB) as ``(size, size, 3)`` uint8.

    Raises:
        InvalidInput: ``image`` is not an ``(h, w, 3)`` uint8 array, or ``size`` < 1.
    """
    return augment_images([image], size=size, seeds=[seed], recipe=recipe)[0]


def augment_images(
    images: Sequence[np.ndarray],
    *,
    size: int,
    seeds: Sequence[int],
    recipe: ImageAugmentRecipe | None = None,
) -> np.ndarray:
    """Augmented copies ``(n, size, size, 3)`` uint8 of ``n`` RGB images, one seed each.

    Args:
        images: ``n`` arrays ``(h, w, 3)`` uint8 (sizes may differ).
        size: Side of the square output (the backbone's input size).
        seeds: ``n`` seeds; the same image and seed always give the same copy, whatever else is
            in the batch (see :func:`copy_seed`).
        recipe: The augmentation (default :class:`ImageAugmentRecipe`).

    Raises:
        InvalidInput: The lengths differ, ``size`` < 1, or an image is not ``(h, w, 3)`` uint8
            (the message gives its index).

    Example:
        >>> img = np.zeros((28, 28, 3), np.uint8); img[:, :14] = 255
        >>> augment_images([img], size=32, seeds=[1]).shape
        (1, 32, 32, 3)
    """
    if len(images) != len(seeds):
        raise InvalidInput(f"need one seed per image ({len(images)}), got {len(seeds)}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidInput(f"must be a positive integer, got {size!r}", field="size")
    for i, image in enumerate(images):
        if not (isinstance(image, np.ndarray) and image.ndim == 3 and image.shape[2] == 3):
            shape = getattr(image, "shape", type(image).__name__)
            raise InvalidInput(f"image {i} must be an (h, w, 3) RGB array, got {shape}")
        if image.dtype != np.uint8:
            raise InvalidInput(f"image {i} must be uint8, got {image.dtype}")
    pipeline = _compose(recipe or ImageAugmentRecipe(), size)
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for i, (image, seed) in enumerate(zip(images, seeds, strict=True)):
        pipeline.set_random_seed(int(seed))
        out[i] = pipeline(image=np.ascontiguousarray(image))["image"]
    return out


def _in_range(name: str, value: object, low: float, high: float) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= float(value) <= high:  # type: ignore[arg-type]
        raise InvalidInput(f"must lie in [{low}, {high}], got {value!r}", field=name)
