"""Greedy per-class non-max suppression over corner boxes.

Hand-written (a dozen numpy lines): torchvision's ``nms`` is out (its PyPI wheels need CUDA
torch) and OpenCV's ``NMSBoxes`` is not a labelloop dependency.
"""

from __future__ import annotations

import numpy as np

__all__ = ["box_iou", "nms"]


def box_iou(box: np.ndarray, others: np.ndarray) -> np.ndarray:
    """IoU of one corner box ``(x0, y0, x1, y1)`` with each row of ``others`` ``(n, 4)``."""
    ix0 = np.maximum(box[0], others[:, 0])
    iy0 = np.maximum(box[1], others[:, 1])
    ix1 = np.minimum(box[2], others[:, 2])
    iy1 = np.minimum(box[3], others[:, 3])
    inter = np.clip(ix1 - ix0, 0, None) * np.clip(iy1 - iy0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    return np.asarray(inter / np.maximum(area + areas - inter, 1e-12))


def nms(corners: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, *, iou: float) -> list[int]:
    """Indices of the boxes kept, best score first.

    A box is dropped when a better-scoring box of the same class overlaps it by more than
    ``iou``.
    """
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    suppressed = np.zeros(len(scores), dtype=bool)
    for rank, i in enumerate(order):
        if suppressed[i]:
            continue
        kept.append(int(i))
        rest = order[rank + 1 :]
        rest = rest[(class_ids[rest] == class_ids[i]) & ~suppressed[rest]]
        if len(rest):
            suppressed[rest[box_iou(corners[i], corners[rest]) > iou]] = True
    return kept
