"""Image import throughput, and what decoding every image at import (to find corrupt and
truncated files before anything is written) costs of it.

Usage::

    nice .venv/bin/python benchmarks/image_import.py [--small 2000] [--photos 200] [--repeats 3]

Two folders of class subfolders: ``--small`` Fashion-MNIST PNGs (28x28, Debian
``dataset-fashion-mnist``) and ``--photos`` camera-size JPEGs (1600x1200, scikit-image's
``astronaut`` and ``coffee`` photos resized and jittered so no two files are the same). Each is
imported with ``Workspace.import_file(..., labels_from_subfolders=True)`` into a fresh SQLite
workspace ``--repeats`` times; in the same process the check alone (``open_upright(path,
draft=1)`` over every file: what the import adds per image) and the hashing alone (sha256 of
the bytes, what the import did before) are timed. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import labelloop
from labelloop.backbones.images import open_upright
from labelloop.services.data.importing import ImportOptions


def fashion_folder(root: Path, n: int) -> list[Path]:
    from _fashion import LABELS, sample

    paths, labels, _ = sample("train", n)
    out = []
    for path, label in zip(paths, labels, strict=True):
        target = root / LABELS[int(label)] / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
        out.append(target)
    return out


def photo_folder(root: Path, n: int) -> list[Path]:
    from PIL import Image
    from skimage import data

    rng = np.random.default_rng(0)
    sources = {"astronaut": data.astronaut(), "coffee": data.coffee()}
    out = []
    for i in range(n):
        label = list(sources)[i % 2]
        pixels = sources[label].astype(np.int16) + rng.integers(-8, 9, size=3, dtype=np.int16)
        img = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).resize((1600, 1200))
        target = root / label / f"{i:05d}.jpg"
        target.parent.mkdir(parents=True, exist_ok=True)
        img.save(target, quality=90)
        out.append(target)
    return out


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(folder: Path, files: list[Path], repeats: int) -> dict[str, object]:
    imports, checks, hashes = [], [], []
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            ws = labelloop.open_workspace(Path(tmp) / "ws")
            ws.create_project("p", labels=sorted({f.parent.name for f in files}),
                              task="image-classification")  # fmt: skip
            opts = ImportOptions(labels_from_subfolders=True)
            imports.append(timed(lambda ws=ws, opts=opts: ws.import_file("p", folder, opts)))
            assert ws.status("p").items == len(files), r
            ws.close()
        checks.append(timed(lambda: [open_upright(f, draft=1) for f in files]))
        hashes.append(timed(lambda: [hashlib.sha256(f.read_bytes()).digest() for f in files]))

    def per_s(seconds: list[float]) -> str:
        rates = [len(files) / s for s in seconds]
        return (
            f"{statistics.mean(rates):.0f} ± {statistics.stdev(rates) if len(rates) > 1 else 0:.0f}"
        )

    share = [c / i for c, i in zip(checks, imports, strict=True)]
    return {
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "import_images_per_s": per_s(imports),
        "check_alone_images_per_s": per_s(checks),
        "hash_alone_images_per_s": per_s(hashes),
        "check_share_of_import": f"{statistics.mean(share):.2f}",
        "import_seconds": [round(s, 2) for s in imports],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        small = fashion_folder(root / "fashion", args.small)
        photos = photo_folder(root / "photos", args.photos)
        result = {
            "fashion_mnist_png_28x28": measure(root / "fashion", small, args.repeats),
            "jpeg_1600x1200": measure(root / "photos", photos, args.repeats),
        }
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
