"""Image augmentation copies: seeded, deterministic, really altered, the backbone's shape."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.errors import InvalidInput
from labelloop.learn.image_augment import (
    ImageAugmentRecipe,
    augment_image,
    augment_images,
    copy_seed,
)


def _image(seed: int = 0, shape: tuple[int, int] = (28, 40)) -> np.ndarray:
    """A non-symmetric test picture: a gradient with a bright block in one corner."""
    rng = np.random.default_rng(seed)
    h, w = shape
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = np.linspace(0, 200, w, dtype=np.uint8)[None, :]
    img[..., 1] = np.linspace(0, 150, h, dtype=np.uint8)[:, None]
    img[: h // 3, : w // 4] = 255
    img[..., 2] = rng.integers(0, 60, (h, w), dtype=np.uint8)
    return img


def test_the_same_seed_gives_the_same_copy_whatever_else_is_in_the_batch():
    a, b = _image(0), _image(1)
    alone = augment_image(a, size=32, seed=7)
    batched = augment_images([b, a, b], size=32, seeds=[3, 7, 5])
    assert np.array_equal(alone, batched[1])
    assert np.array_equal(augment_images([a], size=32, seeds=[7])[0], alone)


def test_copies_change_pixels_and_differ_between_seeds():
    img = _image()
    copies = augment_images([img] * 4, size=28, seeds=[0, 1, 2, 3])
    plain = np.asarray(img[:, 6:34])  # a centre crop of the original, the same size
    for copy in copies:
        assert (copy != plain).mean() > 0.2
    assert len({c.tobytes() for c in copies}) == 4


def test_copies_have_the_backbone_input_shape_and_dtype():
    out = augment_images([_image(shape=(28, 28)), _image(shape=(300, 120))], size=224, seeds=[1, 2])
    assert out.shape == (2, 224, 224, 3)
    assert out.dtype == np.uint8


def test_copy_seeds_are_stable_and_depend_on_item_recipe_and_copy():
    recipe = ImageAugmentRecipe()
    seed = copy_seed("abc", recipe, 0)
    assert seed == copy_seed("abc", ImageAugmentRecipe(), 0)
    assert seed != copy_seed("abd", recipe, 0)
    assert seed != copy_seed("abc", recipe, 1)
    assert seed != copy_seed("abc", ImageAugmentRecipe(flip=0.0), 0)
    assert ImageAugmentRecipe().key != ImageAugmentRecipe(hue=0.1).key


def test_no_flip_no_jitter_full_crop_keeps_the_image():
    recipe = ImageAugmentRecipe(flip=0.0, crop_scale=(1.0, 1.0), crop_ratio=(1.0, 1.0), jitter=0.0)
    img = _image(shape=(32, 32))
    assert np.array_equal(augment_image(img, size=32, seed=3, recipe=recipe), img)


@pytest.mark.parametrize(
    ("images", "kwargs", "match"),
    [
        ([np.zeros((8, 8), np.uint8)], {"size": 8, "seeds": [0]}, "image 0 must be an"),
        ([np.zeros((8, 8, 3), np.float32)], {"size": 8, "seeds": [0]}, "image 0 must be uint8"),
        ([np.zeros((8, 8, 3), np.uint8)], {"size": 8, "seeds": []}, "one seed per image"),
        ([np.zeros((8, 8, 3), np.uint8)], {"size": 0, "seeds": [0]}, "positive integer"),
    ],
)
def test_bad_input_is_refused_by_name(images, kwargs, match):
    with pytest.raises(InvalidInput, match=match):
        augment_images(images, **kwargs)


@pytest.mark.parametrize(
    ("field", "value"),
    [("flip", 1.5), ("hue", 0.7), ("crop_scale", (0.0, 1.0)), ("crop_ratio", (2.0, 1.0))],
)
def test_a_bad_recipe_names_its_field(field, value):
    with pytest.raises(InvalidInput) as info:
        ImageAugmentRecipe(**{field: value})
    assert info.value.field == field
