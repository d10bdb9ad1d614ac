"""Image embedding throughput: labelloop's efficientnet-lite0 encoder vs plain
``EfficientNet.extract_features`` on the same files, model object and batch size.

Usage:
    nice python benchmarks/image_throughput.py [--n 256] [--repeats 3] [--batch-size 32]
        [--out result.json]

Two image sets, each timed ``--repeats`` times alternating (so machine load hits both alike):
Fashion-MNIST test images (28x28 PNG, ``_fashion.py``) and real photos (scikit-image's sample
photos saved as JPEG, 300-1000 px, cycled to ``n`` inputs). Both sides go from file path to
``(n, 1280)`` embeddings:

- plain: Pillow ``open`` -> ``convert("RGB")`` -> ``resize((224, 224), BILINEAR)`` -> scale to
  [-1, 1] -> ``model.extract_features(x).mean((2, 3))`` under ``torch.no_grad``, batches of B;
- labelloop: ``get_encoder("efficientnet-lite0").encode(paths, batch_size=B)`` (EXIF
  orientation, shorter-side resize and centre crop, JPEG draft decoding, ``inference_mode``,
  L2-normalised rows).

Reports the median images/s of each and the ratio (labelloop / plain; target >= 1.0), and the
time of each stage of labelloop's path (decode+resize, network) on one repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _fashion

PHOTOS = ("astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "retina.jpg",
          "hubble_deep_field.jpg", "motorcycle_left.png", "camera.png", "horse.png")  # fmt: skip


def _photos(n: int) -> list[str]:
    """scikit-image's sample photos as JPEG files under ``.bench-cache/photos``, cycled to n."""
    import skimage
    from PIL import Image

    src = Path(skimage.__file__).parent / "data"
    out = _fashion.ROOT / ".bench-cache" / "photos"
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for name in PHOTOS:
        dest = out / (Path(name).stem + ".jpg")
        if not dest.exists():
            Image.open(src / name).convert("RGB").save(dest, quality=90)
        files.append(str(dest))
    return [files[i % len(files)] for i in range(n)]


def _plain(model: Any, paths: list[str], batch_size: int, size: int) -> np.ndarray:
    import torch
    from PIL import Image

    out = []
    for start in range(0, len(paths), batch_size):
        batch = []
        for p in paths[start : start + batch_size]:
            img = Image.open(p).convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            batch.append(np.asarray(img))
        x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float()
        x = (x / 255.0 - 0.5) / 0.5
        with torch.no_grad():
            out.append(model.extract_features(x).mean((2, 3)).numpy())
    return np.concatenate(out)


def _stages(encoder: Any, paths: list[str], batch_size: int) -> dict[str, float]:
    from labelloop.backbones._efficientnet import load_image

    t0 = time.perf_counter()
    pixels = np.stack([load_image(p, encoder.image_size) for p in paths])
    t1 = time.perf_counter()
    encoder.encode_pixels(pixels, batch_size=batch_size)
    t2 = time.perf_counter()
    return {"decode_resize_s": round(t1 - t0, 3), "network_s": round(t2 - t1, 3)}


def bench(name: str, paths: list[str], *, repeats: int, batch_size: int) -> dict[str, Any]:
    from labelloop.backbones import get_encoder

    encoder = get_encoder("efficientnet-lite0")
    model = encoder.model  # the same network object for both sides
    size = encoder.image_size
    plain_s, ours_s = [], []
    _plain(model, paths[:batch_size], batch_size, size)  # warm-up
    encoder.encode(paths[:batch_size], batch_size=batch_size)
    for _ in range(repeats):
        t0 = time.perf_counter()
        _plain(model, paths, batch_size, size)
        plain_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        encoder.encode(paths, batch_size=batch_size)
        ours_s.append(time.perf_counter() - t0)
    plain_rate = len(paths) / statistics.median(plain_s)
    ours_rate = len(paths) / statistics.median(ours_s)
    return {
        "set": name,
        "n": len(paths),
        "batch_size": batch_size,
        "plain_img_per_s": round(plain_rate, 1),
        "labelloop_img_per_s": round(ours_rate, 1),
        "ratio": round(ours_rate / plain_rate, 3),
        "plain_s": [round(s, 2) for s in plain_s],
        "labelloop_s": [round(s, 2) for s in ours_s],
        "labelloop_stages": _stages(encoder, paths, batch_size),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    import torch

    fashion, _, _ = _fashion.sample("test", args.n)
    sets = {"fashion-mnist 28x28 png": [str(p) for p in fashion], "photos jpeg": _photos(args.n)}
    results = {
        "torch_threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "sets": [
            bench(name, paths, repeats=args.repeats, batch_size=args.batch_size)
            for name, paths in sets.items()
        ],
    }
    print(json.dumps(results, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
