"""The cluster view and cluster cold start on Fashion-MNIST: how many labels a person gets per
action, and how well an image project's first batch covers the classes.

Usage:
    nice python benchmarks/cluster_view.py [--pool 1000] [--offset 0] [--seeds 0,1,2]
        [--batch 20] [--per-cluster 10,20,30,50]

Per seed, through the Workspace API: an image project with backbone ``efficientnet-lite0`` over
``pool`` Fashion-MNIST train images (``_fashion.py``; the files are named in a seeded random
order, so the import's id order is a random order), embeddings from the shared cache.

1. **Cold start**: ``predict`` on the unlabelled project orders the queue by k-means cold start;
   the first ``batch`` items of ``next`` are compared with the first ``batch`` of the id order
   (the queue's order without cold start: random here): classes covered, and the labels needed
   until every class has one.
2. **Cluster view**: the project's default clusters (about 30 items each); a simulated person
   opens each cluster, largest first, picks its majority label (1 action), deselects every item
   of another class (1 action each) and submits (1 action) through ``submit_many``. Figures:
   labels per action, the share of the pool labelled in that pass, mean cluster purity (share of
   its majority class). The labels are right by construction (the person deselects every wrong
   item); the grid or the annotate page costs at least one action per label. The same pass is
   simulated (nothing stored) at other cluster sizes (``--per-cluster``), to choose the
   default.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _fashion

BACKBONE = "efficientnet-lite0"


def _pool_folder(paths: list[Path], seed: int, root: Path) -> dict[str, int]:
    """The pool as files named in a seeded random order; returns file name -> class."""
    rng = np.random.default_rng([seed, 7919])
    order = rng.permutation(len(paths))
    names = {}
    root.mkdir(parents=True)
    for rank, i in enumerate(order):
        name = f"{rank:05d}.png"
        shutil.copyfile(paths[i], root / name)
        names[name] = int(i)
    return names


def _labels_to_cover(classes: list[int], n_classes: int) -> int | None:
    seen: set[int] = set()
    for k, c in enumerate(classes, start=1):
        seen.add(c)
        if len(seen) == n_classes:
            return k
    return None


def _cluster_pass(ws, klass: dict[int, int], *, k: int | None, submit: bool):
    """One pass over the clusters, largest first: pick the majority label, deselect the rest,
    submit. Returns (labels given, actions, mean purity)."""
    from labelloop.services.annotation.bulk import BulkAnswer

    listing = ws.clusters("fashion", k=k)
    actions = labelled = 0
    purity = []
    for summary in listing.clusters:
        members = ws.cluster_members("fashion", summary.cluster, k=k, limit=500).items
        open_ = [m for m in members if m.label is None]
        if not open_:
            continue
        truth = [klass[m.item_id] for m in open_]
        majority = int(np.bincount(truth).argmax())
        keep = [m for m in open_ if klass[m.item_id] == majority]
        purity.append(len(keep) / len(open_))
        actions += 1 + (len(open_) - len(keep)) + 1  # pick, deselect the others, submit
        labelled += len(keep)
        if submit:
            answers = [BulkAnswer(item_id=m.item_id, value=[_fashion.LABELS[majority]])
                       for m in keep]  # fmt: skip
            ws.submit_many("fashion", answers, annotator="a")
    return labelled, actions, float(np.mean(purity))


def run_seed(
    seed: int, pool: int, batch: int, cache, per_clusters: list[int], offset: int = 0
) -> dict:
    from labelloop import open_workspace
    from labelloop.services.data.importing import ImportOptions
    from labelloop.store import Item

    paths, labels, _ = _fashion.sample("train", offset + pool)
    paths, labels = paths[offset:], labels[offset:]
    with tempfile.TemporaryDirectory() as tmp:
        names = _pool_folder(paths, seed, Path(tmp) / "pool")
        ws = open_workspace(Path(tmp) / "ws")
        ws._cache = cache  # the benchmarks' shared cache: each image is embedded once, ever
        ws.create_project("fashion", labels=list(_fashion.LABELS), task="image-classification",
                          backbone=BACKBONE, settings={"seed": seed})  # fmt: skip
        ws.import_file("fashion", Path(tmp) / "pool", ImportOptions())
        klass = {}
        with ws.transaction() as session:
            for item_id, external in session.query(Item.id, Item.external_id):
                klass[item_id] = int(labels[names[Path(external).name]])
        by_id = [klass[i] for i in sorted(klass)]

        t0 = time.perf_counter()
        result = ws.predict("fashion")
        cold_seconds = time.perf_counter() - t0
        assert result.kind == "cold_start", result
        queue = [it.item_id for it in ws.next_items("fashion", n=min(500, pool), annotator="a")]
        cold = [klass[i] for i in queue]

        sweep = {}
        for per_cluster in per_clusters:  # the cluster pass simulated on each k, nothing stored
            k = max(2, round(pool / per_cluster))
            sweep[per_cluster] = _cluster_pass(ws, klass, k=k, submit=False)
        t0 = time.perf_counter()
        listing = ws.clusters("fashion")  # the product's default k, labelled for real
        cluster_seconds = time.perf_counter() - t0
        labelled, actions, purity = _cluster_pass(ws, klass, k=None, submit=True)
        ws.close()
    n_classes = len(_fashion.LABELS)
    return {
        "seed": seed,
        "k": listing.k,
        "cold_start_classes_in_batch": len(set(cold[:batch])),
        "id_order_classes_in_batch": len(set(by_id[:batch])),
        "cold_start_labels_to_cover_all": _labels_to_cover(cold, n_classes),
        "id_order_labels_to_cover_all": _labels_to_cover(by_id, n_classes),
        "cluster_purity": purity,
        "cluster_pass_labelled_share": labelled / pool,
        "cluster_pass_actions": actions,
        "labels_per_action": labelled / actions,
        **{f"labels_per_action_at_{c}_per_cluster": v[0] / v[1] for c, v in sweep.items()},
        "cold_start_seconds": round(cold_seconds, 2),
        "clusters_seconds": round(cluster_seconds, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument(
        "--offset",
        type=int,
        default=0,
        help="skip this many images of the fixed order (another pool)",
    )
    parser.add_argument(
        "--per-cluster",
        default="10,20,30,50",
        help="items per cluster to compare (k = pool / this)",
    )
    args = parser.parse_args(argv)
    cache = _fashion.embedding_cache()
    per_clusters = [int(c) for c in args.per_cluster.split(",")]
    runs = [run_seed(int(s), args.pool, args.batch, cache, per_clusters, args.offset)
            for s in args.seeds.split(",")]  # fmt: skip
    keys = [k for k in runs[0] if k != "seed"]
    summary = {
        k: {"mean": round(float(np.mean([r[k] for r in runs])), 4),
            "std": round(float(np.std([r[k] for r in runs])), 4)}
        for k in keys if all(r[k] is not None for r in runs)
    }  # fmt: skip
    record = {"pool": args.pool, "offset": args.offset, "batch": args.batch,
              "summary": summary, "runs": runs}  # fmt: skip
    print(json.dumps(record, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
