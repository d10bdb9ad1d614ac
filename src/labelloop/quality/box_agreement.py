"""Matching labelled boxes by IoU, box F1, and inter-annotator agreement built on it.

A box is ``(x, y, w, h, label)`` in pixels, origin top-left (the stored answer's
``{"x", "y", "w", "h", "label"}``). Two box lists of one image are matched one to one: a box of
A may pair with a box of B when both have the same label and their intersection over union is at
least ``iou`` (0.5 by default, the PASCAL VOC / COCO AP50 rule); among the allowed pairings
the one with the most pairs, and among those the largest total IoU, is taken (the Hungarian
algorithm, scipy's ``linear_sum_assignment``), so a box never counts twice and a crowded image
is matched the best way, not greedily.

With ``m`` matches over images, ``precision = m / |A|``, ``recall = m / |B|`` and
``F1 = 2m / (|A| + |B|)`` (symmetric, so it does not matter which annotator is "A"); when neither
side holds a box, F1 is 1.0 (two "no object here" answers agree). ``mean_iou`` is the mean IoU of
the matched pairs (how tightly people draw the same object), ``None`` without a match.

An image's two answers *match* (:func:`boxes_match`) when every box of each side is matched:
same count, same labels, every pair at IoU >= 0.5. That is how an image counts as right for gold
scoring and for auto-accept.

Example:
    >>> a = [[(0, 0, 10, 10, "cat"), (20, 20, 5, 5, "dog")]]
    >>> b = [[(1, 0, 10, 10, "cat")]]
    >>> r = box_f1(a, b)
    >>> round(r.f1, 3), round(r.mean_iou, 3)
    (0.667, 0.818)
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput

__all__ = [
    "Box",
    "BoxAgreementReport",
    "BoxF1",
    "BoxMatch",
    "PairBoxAgreement",
    "box_agreement",
    "box_f1",
    "boxes_match",
    "check_boxes",
    "iou_matrix",
    "match_boxes",
]

Box = tuple[float, float, float, float, str]
#: The IoU at which two boxes are the same object (PASCAL VOC, COCO AP50).
IOU = 0.5


def check_boxes(boxes: object, *, where: str = "boxes") -> list[Box]:
    """``boxes`` as ``(x, y, w, h, label)`` tuples, or :class:`InvalidInput` naming the bad one.

    Accepts ``{"x", "y", "w", "h", "label"}`` mappings (extra keys such as ``score`` are ignored)
    and 5-tuples; ``w`` and ``h`` must be positive and every number finite.
    """
    if isinstance(boxes, str | bytes) or not isinstance(boxes, Iterable):
        raise InvalidInput(f"{where} must be a list of boxes", field="boxes")
    out: list[Box] = []
    for k, box in enumerate(boxes):
        if isinstance(box, Mapping):
            box = (box.get("x"), box.get("y"), box.get("w"), box.get("h"), box.get("label"))
        if not isinstance(box, tuple | list) or len(box) != 5:
            raise InvalidInput(f"{where}[{k}] must be (x, y, w, h, label)", field="boxes")
        *numbers, label = box
        ok = all(
            isinstance(v, int | float | np.number) and not isinstance(v, bool) and math.isfinite(v)
            for v in numbers
        )
        if not ok or not isinstance(label, str) or numbers[2] <= 0 or numbers[3] <= 0:
            raise InvalidInput(
                f"{where}[{k}] = {tuple(box)!r}: need finite numbers with w > 0, h > 0 and a "
                "str label",
                field="boxes",
            )
        out.append(
            (float(numbers[0]), float(numbers[1]), float(numbers[2]), float(numbers[3]), label)
        )
    return out


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> np.ndarray:
    """``(len(a), len(b))`` float64 intersection over union of every pair (labels ignored)."""
    if not a or not b:
        return np.zeros((len(a), len(b)))
    xa = np.array([box[:4] for box in a], dtype=np.float64)
    xb = np.array([box[:4] for box in b], dtype=np.float64)
    left = np.maximum(xa[:, None, 0], xb[None, :, 0])
    top = np.maximum(xa[:, None, 1], xb[None, :, 1])
    right = np.minimum(xa[:, None, 0] + xa[:, None, 2], xb[None, :, 0] + xb[None, :, 2])
    bottom = np.minimum(xa[:, None, 1] + xa[:, None, 3], xb[None, :, 1] + xb[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = (xa[:, 2] * xa[:, 3])[:, None] + (xb[:, 2] * xb[:, 3])[None, :] - inter
    return np.asarray(inter / union, dtype=np.float64)


def match_boxes(
    a: Sequence[Box], b: Sequence[Box], *, iou: float = IOU
) -> list[tuple[int, int, float]]:
    """The one-to-one pairing of same-label boxes at IoU >= ``iou`` with the most pairs, and
    among those the largest total IoU.

    Returns ``(index in a, index in b, IoU)`` per matched pair, sorted by the index in ``a``.

    Example:
        >>> match_boxes([(0, 0, 4, 4, "a"), (10, 0, 4, 4, "a")], [(10, 1, 4, 4, "a")])
        [(1, 0, 0.6)]
    """
    from scipy.optimize import linear_sum_assignment

    ious = iou_matrix(a, b)
    if ious.size == 0:
        return []
    same = np.array([[x[4] == y[4] for y in b] for x in a])
    allowed = same & (ious >= iou)
    if not allowed.any():
        return []
    # an allowed pair weighs more than any k allowed pairs' IoUs (k < bonus), so the assignment
    # maximises the number of pairs first, then their IoU; forbidden pairs (weight 0) that the
    # assignment must still fill are dropped afterwards
    bonus = float(min(ious.shape) + 1)
    weights = np.where(allowed, bonus + ious, 0.0)
    rows, cols = linear_sum_assignment(weights, maximize=True)
    return [
        (int(i), int(j), round(float(ious[i, j]), 12))
        for i, j in zip(rows, cols, strict=True)
        if allowed[i, j]
    ]


def boxes_match(a: Sequence[Box], b: Sequence[Box], *, iou: float = IOU) -> bool:
    """Whether two answers for one image are the same: as many boxes, and every box of each side
    matched to one of the other at IoU >= ``iou`` with the same label (two empty answers match).
    """
    if len(a) != len(b):
        return False
    return len(match_boxes(a, b, iou=iou)) == len(a)


@dataclass(frozen=True)
class BoxMatch:
    """How box list A matches box list B (for one label, or for all).

    Attributes:
        n_a: boxes in A.
        n_b: boxes in B (the reference side).
        n_matched: matched pairs.
        precision: share of A's boxes matched in B.
        recall: share of B's boxes matched in A.
        f1: ``2 * n_matched / (n_a + n_b)``; 1.0 when both sides are empty.
    """

    n_a: int
    n_b: int
    n_matched: int
    precision: float
    recall: float
    f1: float


@dataclass(frozen=True)
class BoxF1:
    """Box F1 of A against B over many images, micro over every box, and per label.

    Attributes:
        total: the overall :class:`BoxMatch`.
        f1: ``total.f1``.
        mean_iou: mean IoU of the matched pairs; ``None`` when nothing matched.
        image_agreement: share of images whose two answers match (:func:`boxes_match`).
        per_label: label -> :class:`BoxMatch`, for the labels either side used.
    """

    total: BoxMatch
    f1: float
    mean_iou: float | None
    image_agreement: float
    per_label: dict[str, BoxMatch] = field(default_factory=dict)


def _box_match(n_a: int, n_b: int, m: int) -> BoxMatch:
    if n_a == n_b == 0:
        return BoxMatch(0, 0, 0, 1.0, 1.0, 1.0)
    return BoxMatch(
        n_a, n_b, m, m / n_a if n_a else 0.0, m / n_b if n_b else 0.0, 2 * m / (n_a + n_b)
    )


def box_f1(
    a: Sequence[Any],
    b: Sequence[Any],
    *,
    iou: float = IOU,
) -> BoxF1:
    """Micro box precision, recall and F1 of per-image box lists ``a`` against ``b``.

    Args:
        a: per image, the boxes of side A (an annotator, a model): ``(x, y, w, h, label)``
            tuples or ``{"x", "y", "w", "h", "label"}`` mappings.
        b: per image, the reference boxes, aligned with ``a``.
        iou: the IoU at which two same-label boxes are the same object.

    Raises:
        InvalidInput: ``a`` and ``b`` differ in length, or a box is malformed.
    """
    if len(a) != len(b):
        raise InvalidInput(f"{len(a)} box lists on side A but {len(b)} on side B", field="boxes")
    sa = [check_boxes(x, where=f"a[{i}]") for i, x in enumerate(a)]
    sb = [check_boxes(x, where=f"b[{i}]") for i, x in enumerate(b)]
    labels = sorted({box[4] for box in itertools.chain(*sa, *sb)})
    matched: dict[str, int] = dict.fromkeys(labels, 0)
    ious: list[float] = []
    same_images = 0
    for xa, xb in zip(sa, sb, strict=True):
        pairs = match_boxes(xa, xb, iou=iou)
        for i, _, value in pairs:
            matched[xa[i][4]] += 1
            ious.append(value)
        same_images += len(xa) == len(xb) == len(pairs)
    count_a = {label: sum(x[4] == label for x in itertools.chain(*sa)) for label in labels}
    count_b = {label: sum(x[4] == label for x in itertools.chain(*sb)) for label in labels}
    per_label = {lab: _box_match(count_a[lab], count_b[lab], matched[lab]) for lab in labels}
    total = _box_match(sum(count_a.values()), sum(count_b.values()), sum(matched.values()))
    return BoxF1(
        total=total,
        f1=total.f1,
        mean_iou=statistics.fmean(ious) if ious else None,
        image_agreement=same_images / len(sa) if sa else 1.0,
        per_label=per_label,
    )


@dataclass(frozen=True)
class PairBoxAgreement:
    """Two annotators on the images both answered.

    Attributes:
        annotator_a: one annotator.
        annotator_b: the other.
        n_items: images both answered.
        f1: box F1 at IoU 0.5, micro over those images.
        mean_iou: mean IoU of their matched boxes (``None`` if none matched).
        image_agreement: share of those images on which their answers match.
        detail: the comparison in full (per label).
    """

    annotator_a: Hashable
    annotator_b: Hashable
    n_items: int
    f1: float
    mean_iou: float | None
    image_agreement: float
    detail: BoxF1


@dataclass(frozen=True)
class BoxAgreementReport:
    """Agreement between annotators as box F1 and mean IoU, on images with two or more of them.

    Attributes:
        n_items: images with at least two annotators.
        n_annotators: distinct annotators on those images.
        n_pairs: annotator pairs sharing at least one image.
        f1: mean over the pairs of their box F1 at IoU 0.5.
        mean_iou: mean IoU over every matched pair of boxes of every annotator pair.
        image_agreement: share of (image, annotator pair) comparisons whose answers match.
        per_label: label -> mean over the pairs (where either used it) of that label's F1.
        pairs: every pair, in annotator order.
        n_disagreements: images whose annotators' answers do not all match.
    """

    n_items: int
    n_annotators: int
    n_pairs: int
    f1: float
    mean_iou: float | None
    image_agreement: float
    per_label: dict[str, float]
    pairs: tuple[PairBoxAgreement, ...]
    n_disagreements: int


def box_agreement(
    ratings: Iterable[tuple[Hashable, Hashable, Sequence[object]]], *, iou: float = IOU
) -> BoxAgreementReport:
    """Pairwise box F1 and mean IoU from ``(item, annotator, boxes)`` triples.

    A repeated (item, annotator) keeps the last boxes; items with one annotator are ignored.

    Raises:
        InvalidInput: a malformed rating or box, or no item with two annotators.

    Example:
        >>> r = box_agreement([(1, "ann", [(0, 0, 10, 10, "cat")]),
        ...                    (1, "bob", [(0, 0, 10, 10, "cat")]), (2, "ann", []), (2, "bob", [])])
        >>> r.f1, r.mean_iou, r.image_agreement
        (1.0, 1.0, 1.0)
    """
    table: dict[Hashable, dict[Hashable, list[Box]]] = {}
    for k, row in enumerate(ratings):
        if not isinstance(row, tuple | list) or len(row) != 3:
            raise InvalidInput(f"rating {k} must be (item, annotator, boxes)", field="ratings")
        item, annotator, boxes = row
        table.setdefault(item, {})[annotator] = check_boxes(boxes, where=f"rating {k}")
    table = {i: r for i, r in table.items() if len(r) >= 2}
    if not table:
        raise InvalidInput("agreement needs at least one item with two annotators", field="ratings")
    annotators = sorted({a for r in table.values() for a in r}, key=repr)
    pairs: list[PairBoxAgreement] = []
    for x, y in itertools.combinations(annotators, 2):
        shared = [r for r in table.values() if x in r and y in r]
        if shared:
            detail = box_f1([r[x] for r in shared], [r[y] for r in shared], iou=iou)
            pairs.append(
                PairBoxAgreement(
                    x, y, len(shared), detail.f1, detail.mean_iou, detail.image_agreement, detail
                )
            )
    labels = sorted({lab for p in pairs for lab in p.detail.per_label})
    per_label = {
        lab: statistics.fmean(
            p.detail.per_label[lab].f1 for p in pairs if lab in p.detail.per_label
        )
        for lab in labels
    }
    weighted = [(p.mean_iou, p.detail.total.n_matched) for p in pairs if p.mean_iou is not None]
    n_matched = sum(n for _, n in weighted)
    comparisons = sum(p.n_items for p in pairs)
    return BoxAgreementReport(
        n_items=len(table),
        n_annotators=len(annotators),
        n_pairs=len(pairs),
        f1=statistics.fmean(p.f1 for p in pairs),
        mean_iou=sum(v * n for v, n in weighted) / n_matched if n_matched else None,
        image_agreement=sum(p.image_agreement * p.n_items for p in pairs) / comparisons,
        per_label=per_label,
        pairs=tuple(pairs),
        n_disagreements=sum(
            not all(boxes_match(s, first) for s in r.values())
            for r in table.values()
            for first in [next(iter(r.values()))]
        ),
    )
