"""Image augmentation at 10 labels per class on Fashion-MNIST: does it help, and which default?

Usage:
    nice python benchmarks/image_augment.py [--copies 0,2,4,8] [--shots 10] [--seeds 0,1,2]
        [--pool 1000] [--test 500] [--out results.json]

Protocol: ``pool`` Fashion-MNIST train images and ``test`` test images (Debian
``dataset-fashion-mnist``, class-balanced, written once as PNG by ``_fashion.py``). Per seed,
``shots`` images per class of the pool are labelled (sampled with the seed). For each value of
``augment_copies``, through the Workspace API as a user would: create an image project with
backbone ``efficientnet-lite0`` and that setting (everything else the product's defaults:
logistic head, C by cross-validation, semi-supervised while few labels), import the pool
unlabelled, submit the labels, ``train``; record the model's own cross-validated accuracy on the
labelled images (what the product can know: the default is chosen on it) and the champion's
accuracy on the test images (reported, never used to choose). The baseline in the same run, on
the same labelled images: scikit-learn ``LogisticRegression`` (defaults) on the frozen
efficientnet-lite0 embeddings. Every embedding (originals and augmented copies) is cached in
``.bench-cache/fashion/embeddings``, so a rerun trains only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _fashion

BACKBONE = "efficientnet-lite0"


def _embeddings(paths: list[Path]) -> np.ndarray:
    from labelloop.backbones import get_encoder

    return _fashion.embedding_cache().embed(
        get_encoder(BACKBONE), [str(p) for p in paths], _fashion.image_hashes(paths)
    )


def _labelled(pool_y: np.ndarray, shots: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.choice(np.flatnonzero(pool_y == c), shots, replace=False) for c in np.unique(pool_y)]
    )


def _train_one(ws, project: str, pool_dir: Path, pool_paths, pool_y, picked, copies, semi):
    from labelloop.services.data.importing import ImportOptions
    from labelloop.services.models.registry import champion_model

    ws.create_project(
        project,
        labels=_fashion.LABELS,
        task="image-classification",
        backbone=BACKBONE,
        settings={"augment_copies": copies, "semi_supervised": semi},
    )
    ws.import_file(project, pool_dir, ImportOptions())
    frame = ws.to_pandas(project)
    index = {Path(p).name: int(i) for p, i in zip(frame["path"], frame["item_id"], strict=True)}
    for i in picked:
        label = _fashion.LABELS[pool_y[i]]
        ws.submit(project, index[pool_paths[i].name], [label], annotator="bench")
    t0 = time.perf_counter()
    result = ws.train(project)
    seconds = time.perf_counter() - t0
    _, loaded, _ = champion_model(ws, project)
    return result.metrics["accuracy"], loaded, seconds


def run(
    copies: list[int], *, shots: int, seeds: list[int], pool: int, test: int, semi: str = "auto"
) -> dict:
    import shutil

    from sklearn.linear_model import LogisticRegression

    import labelloop

    pool_paths, pool_y, _ = _fashion.sample("train", pool)
    test_paths, test_y, _ = _fashion.sample("test", test)
    test_x = _embeddings(test_paths)
    pool_x = _embeddings(pool_paths)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        pool_dir = Path(tmp) / "pool"  # the import reads a folder holding just this pool
        pool_dir.mkdir()
        for p in pool_paths:
            shutil.copyfile(p, pool_dir / p.name)
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        ws._cache = _fashion.embedding_cache()  # shared with the other image benchmarks
        try:
            for seed in seeds:
                picked = _labelled(pool_y, shots, seed)
                plain = LogisticRegression(max_iter=2000).fit(pool_x[picked], pool_y[picked])
                record = {
                    "seed": seed,
                    "baseline_logreg": float((plain.predict(test_x) == test_y).mean()),
                }
                for k in copies:
                    cv, loaded, seconds = _train_one(
                        ws, f"s{seed}-k{k}", pool_dir, pool_paths, pool_y, picked, k, semi
                    )
                    acc = float((loaded.predict_proba(test_x).argmax(axis=1) == test_y).mean())
                    record[f"copies_{k}"] = {"cv": cv, "test": acc, "train_s": round(seconds, 1)}
                    print(f"seed {seed} copies {k}: cv {cv:.3f} test {acc:.3f} ({seconds:.0f}s)",
                          flush=True)  # fmt: skip
                print(f"seed {seed} baseline logreg: {record['baseline_logreg']:.3f}", flush=True)
                runs.append(record)
        finally:
            ws.close()
    return {"shots": shots, "pool": pool, "test": test, "semi_supervised": semi, "runs": runs,
            "summary": _summary(runs)}  # fmt: skip


def _mean_sd(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.mean(values),
        "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
    }


def _summary(runs: list[dict]) -> dict:
    """Means and spreads, and the default the labelled data supports.

    The rule reads cross-validated accuracy only: the fewest copies whose gain over no copies,
    paired by seed, is positive by more than its standard deviation (consistent across seeds);
    none (``copies_0``) when no setting's gain is.
    """
    out: dict = {"baseline_logreg": _mean_sd([r["baseline_logreg"] for r in runs])}
    keys = sorted((k for k in runs[0] if k.startswith("copies_")), key=lambda k: int(k[7:]))
    for key in keys:
        out[key] = {m: _mean_sd([r[key][m] for r in runs]) for m in ("cv", "test")}
        out[key]["cv_gain"] = _mean_sd([r[key]["cv"] - r[keys[0]]["cv"] for r in runs])
    supported = [k for k in keys[1:] if out[k]["cv_gain"]["mean"] > out[k]["cv_gain"]["sd"]]
    out["chosen_by_cv"] = supported[0] if supported else keys[0]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", default="0,2,4,8")
    parser.add_argument("--shots", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--test", type=int, default=500)
    parser.add_argument(
        "--semi", choices=("auto", "on", "off"), default="auto", help="semi_supervised setting"
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--summarise", type=Path, help="only re-summarise a results file")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.summarise:
        result = json.loads(args.summarise.read_text())
        result["summary"] = _summary(result["runs"])
    else:
        result = run(
            [int(c) for c in args.copies.split(",")],
            shots=args.shots,
            seeds=[int(s) for s in args.seeds.split(",")],
            pool=args.pool,
            test=args.test,
            semi=args.semi,
        )
    s = result["summary"]
    print(f"baseline frozen lite0 + LogisticRegression: {s['baseline_logreg']['mean']:.3f} ± "
          f"{s['baseline_logreg']['sd']:.3f}")  # fmt: skip
    for key, v in s.items():
        if key.startswith("copies_"):
            print(f"{key}: cv {v['cv']['mean']:.3f} ± {v['cv']['sd']:.3f} (gain "
                  f"{v['cv_gain']['mean']:+.3f} ± {v['cv_gain']['sd']:.3f})   "
                  f"test {v['test']['mean']:.3f} ± {v['test']['sd']:.3f}")  # fmt: skip
    print(f"chosen by cross-validation: {s['chosen_by_cv']}; total {time.perf_counter() - t0:.0f}s")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
