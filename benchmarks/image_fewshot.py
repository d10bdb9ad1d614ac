"""Few-shot image classification: the product with frozen efficientnet-lite0 vs raw pixels.

Usage:
    python benchmarks/image_fewshot.py [--datasets digits,fashion] [--shots 8] [--seeds 0,1,2]
        [--pool 500] [--test 500] [--out results.json]

Protocol, per dataset: ``pool`` images (scikit-learn's ``load_digits``: 8x8 greyscale; Fashion-MNIST
from Debian's ``dataset-fashion-mnist``: 28x28, pool from its train split, test from its test
split) and ``test`` other images, stratified, written once as PNG files. Per seed, through the
Workspace API as a user would: create an image project with backbone ``efficientnet-lite0``,
import the pool folder unlabelled, label ``shots`` images per class (sampled with the seed), train
(the product's default head and settings), and score the champion on the test images with
``evaluate``. The baseline in the same run: scikit-learn ``LogisticRegression`` on the raw
pixels (8x8 for digits, downsampled to 14x14 for Fashion-MNIST, scaled to [0, 1]) of the same
labelled images. The images are embedded once (the workspace's embedding cache is keyed by file
content), so seeds 1 and 2 cost only training.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

FASHION = Path("/usr/share/datasets/fashion-mnist")
FASHION_LABELS = [
    "t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot",
]  # fmt: skip


def _idx(path: Path) -> np.ndarray:
    """An MNIST-style idx file (gzip): big-endian dims after a 4-byte magic whose last byte is
    the rank; the data is uint8."""
    raw = gzip.decompress(path.read_bytes())
    rank = raw[3]
    dims = np.frombuffer(raw, dtype=">u4", count=rank, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(
        tuple(int(d) for d in dims)
    )


def _stratified(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    classes = np.unique(labels)
    per = n // len(classes)
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), per, replace=False) for c in classes]
    )


def load(name: str, *, pool: int, test: int) -> tuple[list[str], tuple[np.ndarray, ...]]:
    """Label names, then (pool images, pool labels, test images, test labels) as uint8 / int."""
    rng = np.random.default_rng(1234)
    if name == "digits":
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = (digits.images * (255 / 16)).round().astype(np.uint8)
        labels = digits.target
        both = _stratified(labels, pool + test, rng)
        rng.shuffle(both)
        p, t = both[:pool], both[pool:]
        return [str(d) for d in range(10)], (images[p], labels[p], images[t], labels[t])
    if name == "fashion":
        if not (FASHION / "train-images-idx3-ubyte.gz").is_file():
            raise SystemExit(f"{FASHION} is missing: apt-get install dataset-fashion-mnist")
        tr_x, tr_y = (
            _idx(FASHION / "train-images-idx3-ubyte.gz"),
            _idx(FASHION / "train-labels-idx1-ubyte.gz"),
        )
        te_x, te_y = (
            _idx(FASHION / "t10k-images-idx3-ubyte.gz"),
            _idx(FASHION / "t10k-labels-idx1-ubyte.gz"),
        )
        p, t = _stratified(tr_y, pool, rng), _stratified(te_y, test, rng)
        return FASHION_LABELS, (tr_x[p], tr_y[p].astype(int), te_x[t], te_y[t].astype(int))
    raise SystemExit(f"unknown dataset {name!r}")


def _write(folder: Path, images: np.ndarray) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i, img in enumerate(images):
        names.append(f"{i:05d}.png")
        Image.fromarray(img).save(folder / names[-1])
    return names


def _pixels(images: np.ndarray, side: int) -> np.ndarray:
    if images.shape[1] != side:
        images = np.stack(
            [
                np.asarray(Image.fromarray(x).resize((side, side), Image.Resampling.BILINEAR))
                for x in images
            ]
        )
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def run_dataset(ws, name: str, *, shots: int, seeds: list[int], pool: int, test: int) -> dict:
    from sklearn.linear_model import LogisticRegression

    from labelloop.services.data.importing import ImportOptions

    label_names, (pool_x, pool_y, test_x, test_y) = load(name, pool=pool, test=test)
    root = ws.media_root / name
    _write(root / "pool", pool_x)
    test_files = _write(root / "test", test_x)
    tasks = [
        {
            "data": {"image": f},
            "annotations": [
                {"result": [{"type": "choices", "value": {"choices": [label_names[y]]}}]}
            ],
        }
        for f, y in zip(test_files, test_y, strict=True)
    ]
    (root / "test" / "tasks.json").write_text(json.dumps(tasks))
    side = 8 if name == "digits" else 14
    runs = []
    for seed in seeds:
        t0 = time.perf_counter()
        project = f"{name}-s{seed}"
        ws.create_project(
            project, labels=label_names, task="image-classification", backbone="efficientnet-lite0"
        )
        ws.import_file(project, root / "pool", ImportOptions(labels_from_subfolders=False))
        frame = ws.to_pandas(project)
        index = {Path(p).name: int(i) for p, i in zip(frame["path"], frame["item_id"], strict=True)}
        picked = _stratified(pool_y, shots * len(label_names), np.random.default_rng(seed))
        for i in picked:
            ws.submit(project, index[f"{i:05d}.png"], [label_names[pool_y[i]]], annotator="bench")
        ws.train(project)
        scored = ws.evaluate(project, root / "test" / "tasks.json")
        seconds = time.perf_counter() - t0
        baseline = LogisticRegression(max_iter=5000).fit(
            _pixels(pool_x[picked], side), pool_y[picked]
        )
        pixel_acc = float((baseline.predict(_pixels(test_x, side)) == test_y).mean())
        runs.append(
            {
                "seed": seed,
                "lite0": scored.accuracy,
                "pixels": pixel_acc,
                "seconds": round(seconds, 1),
            }
        )
        print(
            f"{name} seed {seed}: lite0 {scored.accuracy:.3f}  pixels {pixel_acc:.3f}  "
            f"({seconds:.0f}s)",
            flush=True,
        )
    summary = {
        key: {
            "mean": statistics.mean(r[key] for r in runs),
            "sd": statistics.stdev(r[key] for r in runs) if len(runs) > 1 else 0.0,
        }
        for key in ("lite0", "pixels")
    }
    return {
        "dataset": name,
        "shots": shots,
        "pool": pool,
        "test": test,
        "runs": runs,
        "summary": summary,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="digits,fashion")
    parser.add_argument("--shots", type=int, default=8)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pool", type=int, default=500)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import labelloop

    results = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        try:
            for name in args.datasets.split(","):
                results.append(
                    run_dataset(
                        ws,
                        name,
                        shots=args.shots,
                        seeds=[int(s) for s in args.seeds.split(",")],
                        pool=args.pool,
                        test=args.test,
                    )
                )
        finally:
            ws.close()
    for r in results:
        s = r["summary"]
        print(
            f"{r['dataset']}: {r['shots']}/class, test {r['test']}: efficientnet-lite0 "
            f"{s['lite0']['mean']:.3f} ± {s['lite0']['sd']:.3f}; raw-pixel logreg "
            f"{s['pixels']['mean']:.3f} ± {s['pixels']['sd']:.3f}"
        )
    print(f"total {time.perf_counter() - t0:.0f}s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
