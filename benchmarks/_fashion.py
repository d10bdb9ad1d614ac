"""Fashion-MNIST (Debian ``dataset-fashion-mnist``) as PNG files, shared by the image benchmarks.

Images are written once under ``.bench-cache/fashion/<split>/<index>.png`` (``index`` is the
image's index in the idx file), so every benchmark and run refers to the same bytes and the
embedding cache in ``.bench-cache/fashion/embeddings`` (keyed by file content) serves them all.
``sample(split, n)`` is the first ``n`` of one fixed class-balanced order, so a smaller sample is
a subset of a larger one.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".bench-cache" / "fashion"
SOURCE = Path("/usr/share/datasets/fashion-mnist")
LABELS = [
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
]  # fmt: skip
_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _idx(path: Path) -> np.ndarray:
    """An MNIST-style gzip idx file: a 4-byte magic whose last byte is the rank, big-endian
    dims, uint8 data."""
    raw = gzip.decompress(path.read_bytes())
    rank = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=rank, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(
        tuple(int(d) for d in dims)
    )


def arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    """``(images (n, 28, 28) uint8, labels (n,) int)`` of ``split`` ("train" or "test")."""
    images, labels = _FILES[split]
    if not (SOURCE / images).is_file():
        raise SystemExit(f"{SOURCE} is missing: apt-get install dataset-fashion-mnist")
    return _idx(SOURCE / images), _idx(SOURCE / labels).astype(np.int64)


def _order(labels: np.ndarray) -> np.ndarray:
    """A fixed class-balanced order: round-robin over classes, each class shuffled (seed 1234)."""
    rng = np.random.default_rng(1234)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(len(LABELS))]
    depth = min(len(p) for p in per_class)
    return np.stack([p[:depth] for p in per_class], axis=1).reshape(-1)


def sample(split: str, n: int) -> tuple[list[Path], np.ndarray, np.ndarray]:
    """``(paths, labels, indices)`` of the first ``n`` images of ``split`` in the fixed order,
    written as PNG files if not there yet."""
    from PIL import Image

    images, labels = arrays(split)
    chosen = _order(labels)[:n]
    folder = CACHE / split
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in chosen:
        path = folder / f"{int(i):05d}.png"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            Image.fromarray(images[i]).save(tmp, format="PNG")
            tmp.rename(path)
        paths.append(path)
    return paths, labels[chosen], chosen


def embedding_cache():
    """The benchmarks' shared embedding cache (``.bench-cache/fashion/embeddings``)."""
    from labelloop.backbones import EmbeddingCache

    return EmbeddingCache(CACHE / "embeddings")


def image_hashes(paths: list[Path]) -> list[str]:
    """The content hashes labelloop gives these files (the embedding cache's keys)."""
    from labelloop.tasks._hashing import file_digest

    return [file_digest(p) for p in paths]
