"""Pre-trained detector vs BoxModel on real photos with hand-recorded boxes.

    nice python benchmarks/boxes_detector.py [--seeds 0,1,2]

The gold set (``benchmarks/data/boxes_gold.json``): five real photos that ship in packages
(scikit-image's astronaut, chelsea and coffee; the ultralytics 8.3.0 wheel's bus.jpg and
zidane.jpg, read from the wheel file) with 10 boxes of person, cat, cup and bus. Scored by
mAP@0.5 (pycocotools):

- the detector alone, its classes mapped onto the labels (Person -> person, Cat -> cat,
  Mug and Coffee cup -> cup, Vehicle and Car -> bus);
- BoxModel (default settings), leave-one-out: trained on four photos, it boxes the fifth; one
  run per seed. Five photos are far too few to train on, and cat, cup and bus each occur in one
  photo only, so a held-out photo's class was never seen: this row measures the floor, not
  what BoxModel does with a project's hundreds of images (see boxes_learning.py).
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from boxes_data import gold_photos

from labelloop.learn.boxes import (
    BoxModel,
    load_detector,
    map_detector_labels,
    mean_average_precision,
)

MAPPING = {"Mug": "cup", "Coffee cup": "cup", "Vehicle": "bus", "Car": "bus"}


def detector_alone(images: list[np.ndarray], gold: list[list[dict]], labels: list[str]) -> dict:
    """The detector's boxes (score >= 0.05), mapped to the labels, scored against the gold."""
    detector = load_detector()
    mapping = map_detector_labels(detector.classes, labels, MAPPING)
    found = detector.detect(images, min_score=0.05)
    mapped = [
        [{**b, "label": mapping[b["label"]]} for b in boxes if b["label"] in mapping]
        for boxes in found
    ]
    return {"mapping": mapping, **mean_average_precision(gold, mapped, labels)}


def leave_one_out(
    images: list[np.ndarray], gold: list[list[dict]], labels: list[str], seed: int, cache: Path
) -> dict:
    """BoxModel trained on all photos but one, predicting that one, for each photo."""
    keys = [f"gold-{i}" for i in range(len(images))]
    predicted = []
    for held in range(len(images)):
        rest = [i for i in range(len(images)) if i != held]
        model = BoxModel.fit(
            [images[i] for i in rest],
            [gold[i] for i in rest],
            labels=labels,
            seed=seed,
            cache_dir=cache,
            keys=[keys[i] for i in rest],
        )
        predicted.append(model.predict([images[held]], keys=[keys[held]], cache_dir=cache)[0])
    return {"seed": seed, **mean_average_precision(gold, predicted, labels)}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache/boxes"))
    args = parser.parse_args(argv)
    names, images, gold, labels = gold_photos(args.cache)
    runs = [leave_one_out(images, gold, labels, int(s), args.cache) for s in args.seeds.split(",")]
    maps = [r["map"] for r in runs]
    out = {
        "photos": names,
        "boxes": sum(len(b) for b in gold),
        "detector_alone": detector_alone(images, gold, labels),
        "boxmodel_leave_one_out": {
            "map_mean": float(np.mean(maps)),
            "map_std": float(np.std(maps)),
            "runs": runs,
        },
    }
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
