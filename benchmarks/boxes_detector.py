"""Pre-trained detector vs BoxModel on real photos with hand-placed boxes.

    nice python benchmarks/boxes_detector.py [--seeds 0,1,2]

Two gold sets, each scored by mAP@0.5 (pycocotools):

- ``canvas``: ``benchmarks/data/boxes_gold.json``, six scikit-image photos (astronaut, camera,
  chelsea, coffee; rocket and clock with no object) whose 5 boxes (person, cat, coffee cup,
  camera) were drawn in labelloop's own box canvas by ``draw_gold_boxes.py``;
- ``canvas+extra``: the same plus ``boxes_gold_extra.json``, the ultralytics 8.3.0 wheel's
  bus.jpg and zidane.jpg (read from the wheel, which is fetched once with ``pip download``;
  ultralytics is never imported) with 7 more boxes (6 person, 1 bus) recorded on a grid.

Rows: the detector alone, its classes mapped onto the labels (same names, case-insensitive,
plus Mug -> coffee cup, Vehicle and Car -> bus); and BoxModel (default settings) leave-one-out:
trained on all photos but one, it boxes that one; one run per seed. Far too few photos to train
on, and most classes occur in one photo only: that row measures the floor, not what BoxModel
does with a project's hundreds of images (see boxes_learning.py). Prints one JSON document.
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

MAPPING = {"Mug": "coffee cup", "Vehicle": "bus", "Car": "bus"}


def detector_alone(images: list[np.ndarray], gold: list[list[dict]], labels: list[str]) -> dict:
    """The detector's boxes (score >= 0.05), mapped to the labels, scored against the gold."""
    detector = load_detector()
    extra = {source: label for source, label in MAPPING.items() if label in labels}
    mapping = map_detector_labels(detector.classes, labels, extra)
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
    out = {}
    for name, extra in (("canvas", False), ("canvas+extra", True)):
        names, images, gold, labels = gold_photos(args.cache, extra=extra)
        seeds = [int(s) for s in args.seeds.split(",")]
        runs = [leave_one_out(images, gold, labels, s, args.cache) for s in seeds]
        maps = [r["map"] for r in runs]
        out[name] = {
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
