"""Synthetic box data for the box learning tests: coloured squares on noisy backgrounds."""

from __future__ import annotations

import numpy as np

COLOURS = {"red": (220, 30, 30), "blue": (30, 60, 220)}


def square_images(
    n: int, *, seed: int, size: tuple[int, int] = (160, 128), per_image: int = 2
) -> tuple[list[np.ndarray], list[list[dict]]]:
    """``n`` images ``(h, w, 3)`` with up to ``per_image`` red or blue squares and their boxes.

    Squares do not overlap; side 24-44 px; background grey noise. Image sides are
    ``size = (width, height)`` so letterboxing of non-square images is exercised.
    """
    rng = np.random.default_rng(seed)
    width, height = size
    images, boxes = [], []
    for _ in range(n):
        image = rng.integers(90, 150, size=(height, width, 3), dtype=np.uint8)
        placed: list[dict] = []
        for _ in range(int(rng.integers(1, per_image + 1))):
            for _attempt in range(20):
                side = int(rng.integers(24, 45))
                x, y = int(rng.integers(0, width - side)), int(rng.integers(0, height - side))
                if all(_apart(x, y, side, b) for b in placed):
                    break
            else:
                continue
            label = str(rng.choice(list(COLOURS)))
            image[y : y + side, x : x + side] = COLOURS[label]
            placed.append(
                {"x": float(x), "y": float(y), "w": float(side), "h": float(side), "label": label}
            )
        images.append(image)
        boxes.append(placed)
    return images, boxes


def _apart(x: int, y: int, side: int, box: dict) -> bool:
    return (
        x + side + 4 <= box["x"]
        or box["x"] + box["w"] + 4 <= x
        or y + side + 4 <= box["y"]
        or box["y"] + box["h"] + 4 <= y
    )
