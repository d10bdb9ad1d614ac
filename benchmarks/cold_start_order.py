"""In which order cluster cold start should hand out its picks: largest cluster first, or the
largest cluster's pick then k-center order over the picks (what labelloop does), against a
random order, on Fashion-MNIST efficientnet-lite0 embeddings.

Usage:
    nice python benchmarks/cold_start_order.py [--pool 1000] [--offset 0] [--seeds 0,1,2,3,4]

Per seed: the pool (``pool`` images of the fixed class-balanced order from ``offset``,
``_fashion.py``) in a seeded random order; ``active.cold_start`` with 100 clusters. Figures: the
classes covered by the first 20 items, and the items until every class has one. The default
order was chosen on ``--offset 0``; ``benchmarks/cluster_view.py --offset 1000`` checks it on
another pool through the product.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _fashion


def _cover(classes: np.ndarray, n_classes: int = 10) -> int | None:
    seen: set[int] = set()
    for k, c in enumerate(classes.tolist(), start=1):
        seen.add(c)
        if len(seen) == n_classes:
            return k
    return None


def _mean_sd(values: list) -> list[float]:
    return [round(float(np.mean(values)), 2), round(float(np.std(values)), 2)]


def main(argv: list[str] | None = None) -> int:
    from labelloop.active import cold_start, kcenter_greedy
    from labelloop.backbones import get_encoder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    args = parser.parse_args(argv)
    paths, labels, _ = _fashion.sample("train", args.offset + args.pool)
    paths, labels = paths[args.offset :], labels[args.offset :]
    x = _fashion.embedding_cache().embed(
        get_encoder("efficientnet-lite0"), [str(p) for p in paths], _fashion.image_hashes(paths)
    )
    rows: dict[str, list[tuple[int, int | None]]] = {"random": [], "largest_first": [],
                                                     "kcenter": []}  # fmt: skip
    for seed in [int(s) for s in args.seeds.split(",")]:
        perm = np.random.default_rng([seed, 7919]).permutation(len(paths))
        xs, ys = x[perm], labels[perm]
        picks = cold_start(xs, n=100, seed=seed)
        first = np.zeros(len(picks), dtype=bool)
        first[0] = True
        rest = kcenter_greedy(xs[picks], labelled_mask=first, n=len(picks) - 1)
        spread = np.r_[picks[0], picks[rest]]
        for name, order in [("random", ys), ("largest_first", ys[picks]), ("kcenter", ys[spread])]:
            rows[name].append((len(set(order[:20].tolist())), _cover(order)))
    summary = {
        name: {
            "classes_in_first_20": _mean_sd([r[0] for r in v]),
            "items_to_cover_all": _mean_sd([r[1] for r in v]),
            "per_seed": v,
        }
        for name, v in rows.items()
    }
    print(json.dumps({"pool": args.pool, "offset": args.offset, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
