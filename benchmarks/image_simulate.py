"""Active learning and annotation effort on an image project: Fashion-MNIST through the simulator.

Usage:
    nice python benchmarks/image_simulate.py [--strategies random,margin] [--seeds 0,1,2]
        [--pool 2000] [--eval 500] [--budget 500] [--batch-size 20] [--out DIR]

The product's simulator (``labelloop.services.simulate``) on an image project with backbone
``efficientnet-lite0`` (the product's default settings otherwise): ``pool`` Fashion-MNIST train
images (class-balanced, ``_fashion.py``) imported unlabelled as a folder, scored after every
batch on ``eval`` test images. Phase 1: the queue's strategy picks ``batch-size`` images, the
simulated annotator answers with the gold label (accepting the suggestion when it is right),
the model retrains, up to ``budget`` labels; the learning curve's area (mean accuracy over the
curve's points) compares strategies. Phase 2 (end to end): auto-accept what the audited precision
guarantee allows, people review the rest in 200-image batches, until every pool image is
labelled: the effort figures (typed, confirmed, auto-accepted shares); by default only for
``margin``, the product's default strategy (CPU time). Embeddings come from the
shared cache ``.bench-cache/fashion/embeddings`` (each image is embedded once, ever).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _fashion

BACKBONE = "efficientnet-lite0"


def _pool_folder(paths: list[Path]) -> Path:
    """A folder holding just these pool images (the simulator imports it whole)."""
    folder = _fashion.CACHE / f"pool-{len(paths)}"
    if not folder.is_dir() or len(list(folder.iterdir())) != len(paths):
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for p in paths:
            shutil.copyfile(p, folder / p.name)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default="random,margin")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--pool", type=int, default=2000)
    parser.add_argument("--eval", type=int, default=500)
    parser.add_argument("--budget", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument(
        "--end-to-end-strategies", default="margin", help="strategies that also run phase 2"
    )
    parser.add_argument("--out", type=Path, default=_fashion.ROOT / ".bench-cache" / "image-sim")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("labelloop.services.simulate").setLevel(logging.INFO)

    from labelloop.backbones import get_encoder
    from labelloop.services.simulate.curves import _ceiling, _run_metrics, summarise
    from labelloop.services.simulate.run import GoldData, RunConfig, run_simulation

    t0 = time.perf_counter()
    cache = _fashion.embedding_cache()
    encoder = get_encoder(BACKBONE)
    pool_paths, pool_y, _ = _fashion.sample("train", args.pool)
    eval_paths, eval_y, _ = _fashion.sample("test", args.eval)
    pool_hashes = _fashion.image_hashes(pool_paths)
    eval_x = cache.embed(encoder, [str(p) for p in eval_paths], _fashion.image_hashes(eval_paths))
    pool_x = cache.embed(encoder, [str(p) for p in pool_paths], pool_hashes)
    labels = tuple(_fashion.LABELS)
    gold = GoldData(
        labels=labels,
        pool_gold={h: labels[y] for h, y in zip(pool_hashes, pool_y, strict=True)},
        eval_embeddings=eval_x,
        eval_labels=eval_y,
    )
    ceiling, _ = _ceiling(pool_x, pool_y, gold)
    folder = _pool_folder(pool_paths)
    results: dict[str, list[dict]] = {}
    for strategy in args.strategies.split(","):
        for seed in [int(s) for s in args.seeds.split(",")]:
            config = RunConfig(
                pool=folder, text_field="text", backbone=BACKBONE, strategy=strategy, seed=seed,
                budget=args.budget, batch_size=args.batch_size,
                end_to_end=strategy in args.end_to_end_strategies.split(","),
                task="image-classification",
            )  # fmt: skip
            record = run_simulation(
                config, gold, args.out / "runs" / f"{strategy}-seed{seed}", cache=cache
            )
            record["metrics"] = _run_metrics(record, ceiling)
            results.setdefault(strategy, []).append(record)
            run_file = args.out / f"{strategy}-seed{seed}.json"
            run_file.write_text(json.dumps(record, indent=1, default=_json))
            m = record["metrics"]
            print(f"{strategy} seed {seed}: auc {m['auc']:.4f} final {m['final_accuracy']:.4f} "
                  f"typed {m.get('typed_share')} confirmed {m.get('confirmed_share')} "
                  f"auto {m.get('auto_share')} ({time.perf_counter() - t0:.0f}s)",
                  flush=True)  # fmt: skip
    summary = {
        "ceiling_accuracy": ceiling,
        "pool_items": len(pool_paths),
        "eval_items": len(eval_paths),
        "budget": args.budget,
        "batch_size": args.batch_size,
        "strategies": {},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    for strategy, runs in results.items():
        means, stds = summarise([r["metrics"] for r in runs])
        summary["strategies"][strategy] = {"mean": means, "std": stds,
                                           "per_seed": [r["metrics"] for r in runs]}  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(
        json.dumps({"summary": summary, "runs": results}, indent=1, default=_json)
    )
    print(json.dumps(summary, indent=1, default=_json))
    return 0


def _json(value):
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
