"""Box projects' active learning and auto-accept, on composites with exact boxes.

(a) Active learning: from 10 random labelled images, add 10 per round chosen by the box
uncertainty the queue uses (``1 - mean(max(s, 1 - s))`` over candidates >= 0.05, ties random) or
at random, up to 50; after each round a BoxModel is fitted on the labelled images and scored by
mAP@0.5 (pycocotools) on held-out test composites. Curve area is the mean mAP over the points.

(b) Auto-accept: at the end of each uncertainty run, the image-level evidence is built as the
service builds it (3-fold out-of-fold candidates of the labelled images; an image is right when
its suggested boxes (score >= 0.5) match the gold ones at IoU >= 0.5 with the right labels and no
extra box; confidence = prod(max(s, 1 - s))), the Learn-then-Test threshold is chosen for a
target precision, and the images of the rest of the pool above it are "accepted": their real
precision against the exact boxes is what the guarantee promises to keep above the target.

Data: benchmarks/boxes_data.py (Fashion-MNIST sneaker/bag/trouser pasted on scikit-image photo
crops; train and test use different items and backgrounds). 3 seeds.

    nice .venv/bin/python benchmarks/box_active_autoaccept.py [--pool 120 --test 80 --target 0.8]
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

sys.path.insert(0, str(Path(__file__).parent))

from boxes_data import CLASSES, composites

from labelloop.active.boxes import box_confidence, box_uncertainty
from labelloop.learn.boxes import BoxModel, mean_average_precision
from labelloop.quality.autoaccept import choose_threshold
from labelloop.quality.box_agreement import boxes_match, check_boxes
from labelloop.services.models.boxes import CANDIDATE_SCORE, suggested

LABELS = list(CLASSES)


def _keys(images: list[np.ndarray]) -> list[str]:
    return [hashlib.sha256(i.tobytes()).hexdigest() for i in images]


class _Data:
    def __init__(self, pool: int, test: int, seed: int) -> None:
        self.pool, self.pool_boxes = composites(pool, split="train", seed=seed)
        self.test, self.test_boxes = composites(test, split="test", seed=seed + 1000)
        self.pool_keys, self.test_keys = _keys(self.pool), _keys(self.test)


def _fit(data: _Data, rows: list[int], cache: Path, seed: int) -> BoxModel:
    return BoxModel.fit(
        [data.pool[i] for i in rows],
        [data.pool_boxes[i] for i in rows],
        labels=LABELS,
        seed=seed,
        keys=[data.pool_keys[i] for i in rows],
        cache_dir=cache,
    )


def _predict(model: BoxModel, images, keys, cache: Path):
    return model.predict(images, keys=keys, cache_dir=cache, min_score=CANDIDATE_SCORE)


def _curve(data: _Data, strategy: str, seed: int, cache: Path, steps: list[int]):
    rng = np.random.default_rng(seed)
    labelled = [int(i) for i in rng.choice(len(data.pool), steps[0], replace=False)]
    points, model = [], None
    for n in steps:
        if len(labelled) < n:
            rest = [i for i in range(len(data.pool)) if i not in labelled]
            if strategy == "random":
                picks = rng.choice(rest, n - len(labelled), replace=False).tolist()
            else:
                found = _predict(model, [data.pool[i] for i in rest],
                                 [data.pool_keys[i] for i in rest], cache)  # fmt: skip
                scores = [[b["score"] for b in image] for image in found]
                priority = box_uncertainty(scores) * (1 - 1e-6) + 1e-6 * rng.random(len(rest))
                picks = [rest[j] for j in np.argsort(-priority)[: n - len(labelled)]]
            labelled += [int(i) for i in picks]
        model = _fit(data, labelled, cache, seed)
        found = _predict(model, data.test, data.test_keys, cache)
        points.append(mean_average_precision(data.test_boxes, found, LABELS)["map"])
    return points, labelled, model


def _image_right(candidates, gold) -> bool:
    return boxes_match(check_boxes(suggested(candidates)), check_boxes(gold))


def _auto_accept(data: _Data, labelled: list[int], model: BoxModel, cache: Path, seed: int,
                 target: float, min_evidence: int) -> dict:  # fmt: skip
    from sklearn.model_selection import KFold

    oof: dict[int, list] = {}
    for train, test in KFold(3, shuffle=True, random_state=seed).split(labelled):
        fold = _fit(data, [labelled[i] for i in train], cache, seed)
        rows = [labelled[i] for i in test]
        found = _predict(fold, [data.pool[i] for i in rows], [data.pool_keys[i] for i in rows],
                         cache)  # fmt: skip
        oof.update(zip(rows, found, strict=True))
    conf = np.array([box_confidence([b["score"] for b in oof[i]]) for i in labelled])
    right = np.array([_image_right(oof[i], data.pool_boxes[i]) for i in labelled])
    decision = choose_threshold(conf, right, target_precision=target, min_evidence=min_evidence)
    rest = [i for i in range(len(data.pool)) if i not in set(labelled)]
    found = _predict(model, [data.pool[i] for i in rest], [data.pool_keys[i] for i in rest], cache)
    rest_conf = np.array([box_confidence([b["score"] for b in f]) for f in found])
    rest_right = np.array(
        [_image_right(f, data.pool_boxes[i]) for f, i in zip(found, rest, strict=True)]
    )
    out = {"evidence_right": float(right.mean()), "n_evidence": len(labelled),
           "threshold": decision.threshold, "reason": decision.reason,
           "pool_right_overall": float(rest_right.mean())}  # fmt: skip
    if decision.threshold is not None:
        accepted = rest_conf >= decision.threshold
        out |= {
            "accepted": int(accepted.sum()),
            "coverage": float(accepted.mean()),
            "real_precision": float(rest_right[accepted].mean()) if accepted.any() else None,
            "evidence_accepted": decision.n_accepted,
            "evidence_precision": decision.estimated_precision,
            "lower_bound": decision.precision_lower_bound,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=120)
    parser.add_argument("--test", type=int, default=80)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20, 30, 40, 50])
    parser.add_argument("--target", type=float, default=0.8)
    parser.add_argument("--min-evidence", type=int, default=20)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    results: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "runs": []}
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        for seed in args.seeds:
            data = _Data(args.pool, args.test, seed)
            run: dict = {"seed": seed}
            for strategy in ("random", "box_uncertainty"):
                points, labelled, model = _curve(data, strategy, seed, cache, args.steps)
                run[strategy] = points
                print(f"seed {seed} {strategy}: " + " ".join(f"{p:.3f}" for p in points),
                      flush=True)  # fmt: skip
                if strategy == "box_uncertainty":
                    run["auto_accept"] = _auto_accept(data, labelled, model, cache, seed,
                                                      args.target, args.min_evidence)  # fmt: skip
                    print(f"seed {seed} auto-accept: {run['auto_accept']}", flush=True)
            results["runs"].append(run)
    for strategy in ("random", "box_uncertainty"):
        areas = [statistics.fmean(r[strategy]) for r in results["runs"]]
        finals = [r[strategy][-1] for r in results["runs"]]
        print(f"{strategy}: curve area {statistics.fmean(areas):.3f} +- "
              f"{statistics.pstdev(areas):.3f}, mAP@0.5 at {args.steps[-1]} "
              f"{statistics.fmean(finals):.3f} +- {statistics.pstdev(finals):.3f}")  # fmt: skip
    print(f"{time.time() - start:.0f} s")
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
