"""Mean average precision of boxes, computed by pycocotools' ``COCOeval``."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.learn.boxes._validation import Box, check_labels

__all__ = ["mean_average_precision"]

_BIG = 1e10  # any image size: the gold boxes are assumed checked already


def mean_average_precision(
    gold: Sequence[Sequence[Box]],
    predicted: Sequence[Sequence[Box]],
    labels: Sequence[str],
    *,
    iou: float = 0.5,
) -> dict[str, Any]:
    """COCO-style average precision at one IoU threshold, per label and averaged.

    Args:
        gold: Per image, the true boxes ``{"x", "y", "w", "h", "label"}``.
        predicted: Per image (same order), predicted boxes with a ``"score"`` (a box without
            one counts as score 1).
        labels: The label names; boxes with other labels are an error.
        iou: The IoU a prediction needs with a gold box of its label to count as a hit.

    Returns:
        ``{"map": float, "per_label": {label: float | None}, "iou": iou}``: AP per label
        (101-point interpolated, up to 100 boxes per image, as COCO); ``None`` for a label with
        no gold box, which ``"map"`` then leaves out. ``"map"`` is 0.0 when no label has gold
        boxes.

    Raises:
        InvalidInput: The two lists differ in length, ``iou`` is not in (0, 1], or a box is
            malformed or has an unknown label (named by image and box index).

    Example:
        >>> gold = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "cat"}]]
        >>> mean_average_precision(gold, gold, ["cat"])["map"]
        1.0
    """
    names = check_labels(labels)
    if len(gold) != len(predicted):
        raise InvalidInput(
            f"has {len(predicted)} images but gold has {len(gold)}", field="predicted"
        )
    if not 0.0 < iou <= 1.0:
        raise InvalidInput(f"must lie in (0, 1], got {iou}", field="iou")
    ids = {name: k + 1 for k, name in enumerate(names)}
    gold_anns = _annotations(gold, ids, "gold", scored=False)
    pred_anns = _annotations(predicted, ids, "predicted", scored=True)
    ap = _coco_ap(gold_anns, pred_anns, n_images=len(gold), n_labels=len(names), iou=iou)
    per_label = {name: ap[k] for k, name in enumerate(names)}
    present = [v for v in per_label.values() if v is not None]
    return {"map": float(np.mean(present)) if present else 0.0, "per_label": per_label, "iou": iou}


def _annotations(
    images: Sequence[Sequence[Box]], ids: dict[str, int], where: str, *, scored: bool
) -> list[dict[str, Any]]:
    from labelloop.learn.boxes._validation import check_boxes

    anns: list[dict[str, Any]] = []
    for i, boxes in enumerate(images):
        if scored:
            boxes = [
                b if not isinstance(b, dict) or "score" in b else {**b, "score": 1.0} for b in boxes
            ]
        checked = check_boxes(
            boxes,
            size=(int(_BIG), int(_BIG)),
            labels=list(ids),
            where=f"{where}[{i}]",
            scored=scored,
        )
        for box in checked:
            ann = {
                "id": len(anns) + 1,
                "image_id": i + 1,
                "category_id": ids[box["label"]],
                "bbox": [box["x"], box["y"], box["w"], box["h"]],
                "area": box["w"] * box["h"],
                "iscrowd": 0,
            }
            if scored:
                ann["score"] = box["score"]
            anns.append(ann)
    return anns


def _coco(anns: list[dict[str, Any]], n_images: int, n_labels: int) -> Any:
    from pycocotools.coco import COCO

    coco = COCO()
    coco.dataset = {
        "images": [{"id": i + 1} for i in range(n_images)],
        "categories": [{"id": k + 1} for k in range(n_labels)],
        "annotations": anns,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _coco_ap(
    gold: list[dict[str, Any]],
    predicted: list[dict[str, Any]],
    *,
    n_images: int,
    n_labels: int,
    iou: float,
) -> list[float | None]:
    try:
        from pycocotools.cocoeval import COCOeval
    except ImportError as exc:
        raise MissingDependency("pycocotools (box mAP)", extra="images") from exc
    evaluator = COCOeval(
        _coco(gold, n_images, n_labels), _coco(predicted, n_images, n_labels), iouType="bbox"
    )
    evaluator.params.iouThrs = np.array([iou])
    evaluator.params.areaRng = [[0.0, _BIG]]
    evaluator.params.areaRngLbl = ["all"]
    with contextlib.redirect_stdout(io.StringIO()):  # COCOeval prints its progress
        evaluator.evaluate()
        evaluator.accumulate()
    # precision: (iou thresholds, recall points, labels, area ranges, max detections)
    precision = evaluator.eval["precision"][0, :, :, 0, -1]
    has_gold = {ann["category_id"] for ann in gold}
    out: list[float | None] = []
    for k in range(n_labels):
        if k + 1 not in has_gold:
            out.append(None)
            continue
        column = precision[:, k]
        column = np.where(column < 0, 0.0, column)  # -1: no prediction reached that recall
        out.append(float(column.mean()))
    return out
