"""``evaluate`` of an image-boxes project on the hand-boxed real photos, end to end.

    nice python benchmarks/box_evaluate.py [--extra] [--cache .bench-cache/boxes]

A fresh image-boxes project (the gold set's labels; type map Mug -> coffee cup, Vehicle and
Car -> bus, as ``boxes_detector.py`` maps them) is trained with no labels, so its champion is the
real MediaPipe detector; its photos are written as PNGs beside a COCO file of their gold boxes,
which ``Workspace.evaluate`` scores. Its mAP@0.5 must equal ``boxes_detector.py``'s
"detector alone" row (the same detector, boxes and pycocotools), and the run adds what only
evaluate reports: box F1 and mean IoU of the suggestions (score >= 0.5) and the share of photos
exactly right. Deterministic (no training), so one run. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from boxes_data import gold_photos
from PIL import Image

import labelloop

TYPE_MAP = {"Mug": "coffee cup", "Vehicle": "bus", "Car": "bus"}


def coco(names: list[str], gold: list[list[dict]], labels: list[str], sizes: list) -> dict:
    """A COCO detection document of the photos ``<name>.png`` and their gold boxes."""
    images, annotations = [], []
    for k, (name, boxes, (w, h)) in enumerate(zip(names, gold, sizes, strict=True), start=1):
        images.append({"id": k, "file_name": f"{name}.png", "width": w, "height": h})
        for b in boxes:
            annotations.append({
                "id": len(annotations) + 1, "image_id": k,
                "category_id": labels.index(b["label"]) + 1,
                "bbox": [b["x"], b["y"], b["w"], b["h"]], "area": b["w"] * b["h"], "iscrowd": 0,
            })  # fmt: skip
    categories = [{"id": i + 1, "name": label} for i, label in enumerate(labels)]
    return {"images": images, "annotations": annotations, "categories": categories}


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="store_true", help="add boxes_gold_extra.json")
    parser.add_argument("--cache", type=Path, default=Path(".bench-cache/boxes"))
    args = parser.parse_args(argv)
    names, photos, gold, labels = gold_photos(args.cache, extra=args.extra)
    with tempfile.TemporaryDirectory(prefix="box-evaluate-") as tmp:
        folder = Path(tmp) / "heldout"
        folder.mkdir()
        for name, pixels in zip(names, photos, strict=True):
            Image.fromarray(pixels).save(folder / f"{name}.png")
        sizes = [(p.shape[1], p.shape[0]) for p in photos]
        path = folder / "instances.json"
        path.write_text(json.dumps(coco(names, gold, labels, sizes)), encoding="utf-8")
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        try:
            type_map = {k: v for k, v in TYPE_MAP.items() if v in labels}
            ws.create_project("gold", labels=labels, task="image-boxes", type_map=type_map)
            trained = ws.train("gold")
            result = ws.evaluate("gold", path)
        finally:
            ws.close()
    out = {"photos": names, "champion": trained.kind, **result.model_dump(mode="json")}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
