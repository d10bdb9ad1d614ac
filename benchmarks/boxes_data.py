"""Box benchmark data: composites with exact boxes, and the hand-boxed gold photos.

Composites: Fashion-MNIST items (Debian ``dataset-fashion-mnist``) pasted onto crops of real
photos that ship with scikit-image, 1-4 items per image at random positions and sizes, each
tinted a random colour and blended through its own intensity as a soft mask; the box is the
tight box of the pasted mask. The classes (sneaker, bag, trouser) are ones MediaPipe's SSD does
not know. Training composites use Fashion-MNIST's train split and one set of background photos,
test composites its test split and *other* photos, so no item and no background is shared.
"""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

FASHION = Path("/usr/share/datasets/fashion-mnist")
GOLD = Path(__file__).parent / "data" / "boxes_gold.json"  # drawn in the canvas
GOLD_EXTRA = Path(__file__).parent / "data" / "boxes_gold_extra.json"  # recorded on a grid
CLASSES = {"trouser": 1, "sneaker": 7, "bag": 8}
TRAIN_BACKGROUNDS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "immunohistochemistry",
    "brick",
    "camera",
    "page",
)
TEST_BACKGROUNDS = (
    "hubble_deep_field",
    "retina",
    "gravel",
    "coins",
    "colorwheel",
    "grass",
    "moon",
    "text",
)
SIZE = (320, 240)  # width, height of a composite


def _idx(path: Path) -> np.ndarray:
    raw = gzip.decompress(path.read_bytes())
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_items(split: str) -> dict[str, np.ndarray]:
    """Fashion-MNIST 28x28 images of the benchmark's classes: ``{label: (n, 28, 28)}``."""
    prefix = "train" if split == "train" else "t10k"
    if not (FASHION / f"{prefix}-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"{FASHION} is missing: apt-get install dataset-fashion-mnist")
    images = _idx(FASHION / f"{prefix}-images-idx3-ubyte.gz")
    labels = _idx(FASHION / f"{prefix}-labels-idx1-ubyte.gz")
    return {name: images[labels == k] for name, k in CLASSES.items()}


def backgrounds(names: tuple[str, ...]) -> list[np.ndarray]:
    """scikit-image photos as RGB uint8 arrays (grey ones stacked to three channels)."""
    from skimage import data

    out = []
    for name in names:
        image = np.asarray(getattr(data, name)())
        if image.ndim == 2:
            image = np.stack([image] * 3, axis=-1)
        out.append(np.ascontiguousarray(image[:, :, :3]).astype(np.uint8))
    return out


def _crop(photo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    from PIL import Image

    height, width = photo.shape[:2]
    frac = rng.uniform(0.5, 1.0)
    ch, cw = int(height * frac), int(min(width, height * frac * SIZE[0] / SIZE[1]))
    y, x = int(rng.integers(0, height - ch + 1)), int(rng.integers(0, width - cw + 1))
    crop = Image.fromarray(photo[y : y + ch, x : x + cw]).resize(SIZE, Image.Resampling.BILINEAR)
    return np.asarray(crop, dtype=np.float32)


def _overlaps(box: tuple[int, int, int, int], placed: list[tuple[int, int, int, int]]) -> bool:
    x, y, w, h = box
    return any(
        x < px + pw and px < x + w and y < py + ph and py < y + h for px, py, pw, ph in placed
    )


def _paste(
    canvas: np.ndarray, item: np.ndarray, side: int, at: tuple[int, int], rng: np.random.Generator
) -> tuple[int, int, int, int] | None:
    from PIL import Image

    big = (
        np.asarray(
            Image.fromarray(item).resize((side, side), Image.Resampling.BILINEAR), dtype=np.float32
        )
        / 255.0
    )
    alpha = np.clip(big * 4.0, 0.0, 1.0)[..., None]
    tint = rng.uniform(0.35, 1.0, size=3) * 255.0
    x, y = at
    region = canvas[y : y + side, x : x + side]
    region[:] = alpha * (big[..., None] * 0.6 + 0.4) * tint + (1 - alpha) * region
    ys, xs = np.nonzero(alpha[..., 0] > 0.5)
    if not len(xs):
        return None
    return (
        x + int(xs.min()),
        y + int(ys.min()),
        int(xs.max() - xs.min() + 1),
        int(ys.max() - ys.min() + 1),
    )


def composites(n: int, *, split: str, seed: int) -> tuple[list[np.ndarray], list[list[dict]]]:
    """``n`` composite images (``SIZE``) and their exact boxes."""
    rng = np.random.default_rng(seed)
    items = fashion_items(split)
    photos = backgrounds(TRAIN_BACKGROUNDS if split == "train" else TEST_BACKGROUNDS)
    images, boxes = [], []
    for _ in range(n):
        canvas = _crop(photos[int(rng.integers(len(photos)))], rng)
        placed: list[tuple[int, int, int, int]] = []
        image_boxes = []
        for _ in range(int(rng.integers(1, 5))):
            label = str(rng.choice(list(CLASSES)))
            side = int(rng.integers(40, 121))
            at = (int(rng.integers(0, SIZE[0] - side)), int(rng.integers(0, SIZE[1] - side)))
            if _overlaps((*at, side, side), placed):
                continue
            pool = items[label]
            box = _paste(canvas, pool[int(rng.integers(len(pool)))], side, at, rng)
            if box is None:
                continue
            placed.append((*at, side, side))
            image_boxes.append(
                {
                    "x": float(box[0]),
                    "y": float(box[1]),
                    "w": float(box[2]),
                    "h": float(box[3]),
                    "label": label,
                }
            )
        images.append(np.clip(canvas, 0, 255).astype(np.uint8))
        boxes.append(image_boxes)
    return images, boxes


WHEEL = "ultralytics-8.3.0-py3-none-any.whl"


def _wheel(cache: Path) -> Path:
    """The ultralytics wheel (for its two sample photos), fetched once with pip into ``cache``."""
    path = cache / WHEEL
    if not path.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "-q",
                "-d",
                str(cache),
                "ultralytics==8.3.0",
            ],
            check=True,
        )
    return path


def _photo(entry: dict, cache: Path) -> np.ndarray:
    from PIL import Image
    from skimage import data

    if entry.get("source", "skimage") == "skimage":
        pixels = np.asarray(getattr(data, entry["name"])())
        if pixels.ndim == 2:
            pixels = np.stack([pixels] * 3, axis=-1)
        return np.ascontiguousarray(pixels[:, :, :3]).astype(np.uint8)
    with zipfile.ZipFile(_wheel(cache)) as wheel:
        raw = wheel.read(f"ultralytics/assets/{entry['name']}")
    return np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"))


def gold_photos(
    cache: Path, *, extra: bool = False
) -> tuple[list[str], list[np.ndarray], list[list[dict]], list[str]]:
    """The hand-boxed real photos: names, RGB arrays, boxes and the set's labels.

    ``boxes_gold.json`` (drawn in labelloop's canvas by ``draw_gold_boxes.py``); with ``extra``
    also ``boxes_gold_extra.json`` (two ultralytics sample photos, boxes recorded on a grid).
    """
    specs = [json.loads(GOLD.read_text(encoding="utf-8"))]
    if extra:
        specs.append(json.loads(GOLD_EXTRA.read_text(encoding="utf-8")))
    entries = [entry for spec in specs for entry in spec["images"]]
    labels = list(dict.fromkeys(label for spec in specs for label in spec["labels"]))
    images = [_photo(entry, cache) for entry in entries]
    boxes = [[{**b, **{k: float(b[k]) for k in "xywh"}} for b in e["boxes"]] for e in entries]
    return [e["name"] for e in entries], images, boxes, labels
