"""Training an image project with augmented copies (the ``augment_copies`` setting): the head
trains on the originals plus seeded copies, the copies are embedded once and cached, and a bad
setting is refused by name. The backbone is a test double that reads real decoded pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.backbones import BackboneInfo, register_backbone
from labelloop.backbones._registry import unregister_backbone
from labelloop.backbones.images import load_rgb
from labelloop.errors import InvalidInput
from labelloop.schema import Modality
from labelloop.services.data.importing import ImportOptions
from labelloop.services.models.augmenting import AUGMENTED_SUFFIX

BACKBONE = "test-image-pixels"
SIZE = 16


class PixelEncoder:
    """Embeds an image as its 4x4 grey thumbnail plus channel means (19-d); counts the files and
    the pixel arrays it embeds, so a test sees what the cache saved."""

    name = BACKBONE
    modality = Modality.IMAGE
    dim = 19
    image_size = SIZE
    files_encoded = 0
    pixels_encoded = 0

    def encode(self, inputs, *, batch_size=64, progress=None):
        type(self).files_encoded += len(inputs)
        pixels = np.stack([self.load_pixels(p) for p in inputs])
        if progress is not None:
            progress(len(inputs))
        return self._features(pixels)

    def load_pixels(self, path):
        return np.asarray(Image.fromarray(load_rgb(path)).resize((SIZE, SIZE)))

    def encode_pixels(self, pixels, *, batch_size=32):
        type(self).pixels_encoded += len(pixels)
        return self._features(pixels)

    def _features(self, pixels: np.ndarray) -> np.ndarray:
        x = pixels.astype(np.float32) / 255.0
        grey = x.mean(axis=3).reshape(len(x), 4, SIZE // 4, 4, SIZE // 4).mean(axis=(2, 4))
        out = np.concatenate([grey.reshape(len(x), 16), x.mean(axis=(1, 2))], axis=1) + 1e-3
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture
def pixel_backbone():
    PixelEncoder.files_encoded = PixelEncoder.pixels_encoded = 0
    info = BackboneInfo(BACKBONE, Modality.IMAGE, PixelEncoder.dim, description="tests only")
    register_backbone(info, PixelEncoder, replace=True)
    yield BACKBONE
    unregister_backbone(BACKBONE)


def _folder(root: Path, n: int = 6) -> Path:
    """``dark/`` and ``light/`` PNGs (24x24) with random texture, ``n`` of each."""
    rng = np.random.default_rng(0)
    for label, base in {"dark": 40, "light": 200}.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            noise = rng.integers(-40, 40, (24, 24, 3))
            img = np.clip(base + noise, 0, 255).astype(np.uint8)
            Image.fromarray(img).save(root / label / f"{i}.png")
    return root


def _project(ws, tmp_path: Path, copies: int) -> None:
    ws.create_project(
        "img",
        labels="dark,light",
        task="image-classification",
        backbone=BACKBONE,
        settings={"augment_copies": copies, "semi_supervised": "off"},
    )
    ws.import_file("img", _folder(tmp_path / "pics"), ImportOptions(labels_from_subfolders=True))


def test_training_embeds_the_copies_once_and_a_retrain_embeds_none(
    sqlite_workspace, pixel_backbone, tmp_path
):
    ws = sqlite_workspace
    _project(ws, tmp_path, copies=3)
    result = ws.train("img")
    assert result.n_labels == 12
    assert PixelEncoder.pixels_encoded == 12 * 3
    assert ws.embedding_cache().count(BACKBONE + AUGMENTED_SUFFIX) == 36
    ws.train("img")
    assert PixelEncoder.pixels_encoded == 36  # every copy came from the cache
    assert PixelEncoder.files_encoded == 12
    # more copies: only the new copy indices are embedded
    ws.update_project("img", settings={"augment_copies": 4})
    ws.train("img")
    assert PixelEncoder.pixels_encoded == 48


def test_no_copies_are_made_when_the_setting_is_zero(sqlite_workspace, pixel_backbone, tmp_path):
    _project(sqlite_workspace, tmp_path, copies=0)
    sqlite_workspace.train("img")
    assert PixelEncoder.pixels_encoded == 0
    assert sqlite_workspace.embedding_cache().count(BACKBONE + AUGMENTED_SUFFIX) == 0


@pytest.mark.parametrize("value", [-1, 17, 2.5, True, "many"])
def test_a_bad_augment_copies_is_refused_by_name(sqlite_workspace, value):
    sqlite_workspace.create_project("p", labels="A,B")
    with pytest.raises(InvalidInput, match="augment_copies must be ") as refused:
        sqlite_workspace.update_project("p", settings={"augment_copies": value})
    assert refused.value.field == "augment_copies"
