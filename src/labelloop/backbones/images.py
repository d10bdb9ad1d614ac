"""Reading image files the way every image model and widget sees them: upright and RGB.

Browsers show a JPEG turned by its EXIF orientation, so labelloop does the same everywhere: box
coordinates, thumbnails and encoders all refer to the upright image. Pillow only (torchvision's
PyPI wheels need CUDA torch).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from labelloop.errors import InvalidInput

if TYPE_CHECKING:
    from PIL import Image as PILImage

__all__ = ["image_size", "load_rgb", "open_upright"]


@contextmanager
def _reading(path: str | Path) -> Iterator[None]:
    """Turn Pillow's ways of failing on a file into one :class:`InvalidInput` naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        yield
    except FileNotFoundError as exc:
        raise InvalidInput("image file not found", file=str(path)) from exc
    except UnidentifiedImageError as exc:
        raise InvalidInput("not an image file labelloop can read", file=str(path)) from exc
    except Image.DecompressionBombError as exc:
        raise InvalidInput(f"image is too large to decode ({exc})", file=str(path)) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        # Pillow reports truncated and corrupt data as OSError (SyntaxError for some formats).
        raise InvalidInput(f"image is corrupt or truncated ({exc})", file=str(path)) from exc


def open_upright(path: str | Path, *, draft: int | None = None) -> PILImage.Image:
    """The image at ``path``, decoded, turned by its EXIF orientation and converted to RGB.

    Args:
        path: An image file.
        draft: For JPEGs, decode at the smallest power-of-two scale whose sides stay >= this
            many pixels (much faster when the caller shrinks the image anyway).

    Raises:
        InvalidInput: The file is missing, unreadable, truncated or not an image Pillow decodes
            (the message names the file).
    """
    from PIL import Image, ImageOps

    with _reading(path), Image.open(path) as img:
        if draft is not None:
            img.draft("RGB", (draft, draft))
        img.load()
        return ImageOps.exif_transpose(img).convert("RGB")


def load_rgb(path: str | Path) -> np.ndarray:
    """The upright image at ``path`` as an ``(h, w, 3)`` uint8 RGB array, full size.

    Example:
        >>> load_rgb("photos/cat.jpg").shape  # doctest: +SKIP
        (480, 640, 3)
    """
    return np.asarray(open_upright(path), dtype=np.uint8)


def image_size(path: str | Path) -> tuple[int, int]:
    """``(width, height)`` of the upright image at ``path``, read from its header only.

    Raises:
        InvalidInput: As :func:`open_upright`.
    """
    from PIL import Image, ImageOps

    with _reading(path), Image.open(path) as img:
        width, height = img.size
        orientation = img.getexif().get(ImageOps.ExifTags.Base.Orientation, 1)
    # orientations 5-8 turn the image by 90 degrees, swapping its sides
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)
