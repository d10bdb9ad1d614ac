"""backbones/images.py: every model and widget sees the upright image, and bad files are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from labelloop.backbones.images import image_size, load_rgb, open_upright
from labelloop.errors import InvalidInput


def _rotated_jpeg(path: Path) -> Path:
    """A 40x20 (w x h) JPEG whose EXIF says "turn 90 degrees clockwise" (orientation 6)."""
    pixels = np.zeros((20, 40, 3), dtype=np.uint8)
    pixels[:, :20] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(pixels).save(path, exif=exif, quality=95)
    return path


def test_exif_orientation_swaps_the_sides_everywhere(tmp_path: Path) -> None:
    path = _rotated_jpeg(tmp_path / "turned.jpg")

    assert image_size(path) == (20, 40)
    assert load_rgb(path).shape == (40, 20, 3)
    # turned clockwise, the red left half ends up on top
    top, bottom = load_rgb(path)[:20].mean(axis=(0, 1)), load_rgb(path)[20:].mean(axis=(0, 1))
    assert top[0] > 200 > bottom[0]


def test_modes_become_rgb(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    Image.new("L", (7, 5), 128).save(path)

    assert open_upright(path).mode == "RGB"
    assert image_size(path) == (7, 5)


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "not found"), (b"plain text", "not an image"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "")],
)
def test_bad_files_are_named(tmp_path: Path, content: bytes | None, message: str) -> None:
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)

    with pytest.raises(InvalidInput, match=message) as info:
        load_rgb(path)
    assert "bad.png" in str(info.value)
