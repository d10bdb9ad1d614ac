"""Tiny generated box images and a stand-in for labelloop.learn.boxes, for service tests where
the detector and the box model are not the point.

Each image is a grey background with coloured squares: red squares are cats, blue squares are
shoes. The fake detector knows red things only (its class "Cat"), like a pre-trained detector
that lacks a project's new class; the fake box model learns which colour each label has from
the training boxes, so it finds shoes the detector never will. Both find a colour's squares as
the connected regions of that colour (scipy.ndimage.label). mAP is the real pycocotools one.
"""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

COLOURS = {"cat": (220, 30, 30), "shoe": (30, 30, 220)}
SIZE = (64, 48)  # width, height


def box_image(
    path: Path, squares: list[tuple[int, int, int, str]], *, tag: int = 0
) -> list[dict[str, Any]]:
    """Write a PNG with ``(x, y, side, label)`` squares; return their gold boxes. ``tag`` sets
    a corner pixel's grey level, so images with the same squares are different files."""
    pixels = np.full((SIZE[1], SIZE[0], 3), 128, dtype=np.uint8)
    pixels[-1, -1] = tag % 256
    boxes = []
    for x, y, side, label in squares:
        pixels[y : y + side, x : x + side] = COLOURS[label]
        boxes.append(
            {"x": float(x), "y": float(y), "w": float(side), "h": float(side), "label": label}
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return boxes


def image_set(folder: Path, n: int, *, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
    """``n`` images in ``folder`` (file name -> gold boxes): a cat, a shoe, both, or nothing."""
    rng = np.random.default_rng(seed)
    gold = {}
    for i in range(n):
        kind = i % 4
        squares = []
        if kind in (0, 2):
            squares.append((int(rng.integers(0, 20)), int(rng.integers(0, 20)), 12, "cat"))
        if kind in (1, 2):
            squares.append((int(rng.integers(34, 50)), int(rng.integers(20, 34)), 10, "shoe"))
        name = f"img{i:03d}.png"
        gold[name] = box_image(folder / name, squares, tag=i)
    return gold


def _regions(
    image: np.ndarray, colour: tuple[int, int, int], label: str, score: float
) -> list[dict[str, Any]]:
    from scipy import ndimage

    mask = np.all(np.abs(image.astype(int) - colour) < 40, axis=2)
    found, _ = ndimage.label(mask)
    out = []
    for rows, cols in ndimage.find_objects(found):
        out.append(
            {
                "x": float(cols.start),
                "y": float(rows.start),
                "w": float(cols.stop - cols.start),
                "h": float(rows.stop - rows.start),
                "label": label,
                "score": score,
            }
        )
    return out


class FakeDetector:
    """Finds red squares as "Cat" (score 0.9); knows "Footwear" but never sees one."""

    name = "mediapipe-ssd"
    classes = ("Person", "Cat", "Footwear")

    def detect(self, images, *, min_score=0.3):
        return [_regions(img, COLOURS["cat"], "Cat", 0.9) for img in images]


class FakeBoxModel:
    """Learns each label's mean colour inside its boxes; finds regions of that colour."""

    fits: ClassVar[list[int]] = []

    def __init__(self, colours: dict[str, list[float]]) -> None:
        self.colours = colours

    @classmethod
    def fit(cls, images, boxes, *, labels, seed=0, cache_dir=None, keys=None):
        assert keys is not None and len(keys) == len(images) and cache_dir is not None
        sums: dict[str, list[np.ndarray]] = {}
        for img, image_boxes in zip(images, boxes, strict=True):
            for b in image_boxes:
                x, y, w, h = (round(b[k]) for k in ("x", "y", "w", "h"))
                sums.setdefault(b["label"], []).append(
                    img[y : y + h, x : x + w].reshape(-1, 3).mean(0)
                )
        cls.fits.append(len(images))
        return cls({label: np.mean(v, axis=0).tolist() for label, v in sums.items()})

    def predict(self, images, *, keys=None, cache_dir=None, min_score=0.05):
        return [
            [b for label, c in self.colours.items() for b in _regions(img, tuple(c), label, 0.99)]
            for img in images
        ]

    def save(self, folder):
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / "colours.json").write_text(json.dumps(self.colours))

    @classmethod
    def load(cls, folder):
        return cls(json.loads((Path(folder) / "colours.json").read_text()))


def fake_learning() -> types.SimpleNamespace:
    """What services.models.boxes.box_learning returns, with the fakes above."""
    from labelloop.learn.boxes import map_detector_labels, mean_average_precision

    return types.SimpleNamespace(
        load_detector=lambda name="mediapipe-ssd", **kw: FakeDetector(),
        map_detector_labels=map_detector_labels,
        mean_average_precision=mean_average_precision,
        BoxModel=FakeBoxModel,
    )
