"""Label issues of box answers: cleanlab's object-detection module over out-of-fold predictions.

Each labelled image has its given boxes and the scored boxes a model that never trained on it
proposed. cleanlab (``cleanlab.object_detection``; Tkachenko et al., 2023, "ObjectLab") scores
each image's label quality in ``[0, 1]`` from three kinds of evidence: boxes the model finds
that the annotator missed (overlooked), given boxes the model does not find (badly located or
spurious), and given boxes the model finds with another label (swapped); images it flags as
issues, lowest quality first, become review candidates.

Boxes are ``{"x", "y", "w", "h", "label"}`` in pixels (predictions add ``"score"``); cleanlab
reads corners ``[x1, y1, x2, y2]`` and label ids, which this module converts.

Example:
    >>> gold = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "cat"}]] * 6
    >>> pred = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "cat", "score": 0.99}]] * 6
    >>> [issue.index for issue in find_box_label_issues(gold, pred, ["cat", "dog"])]
    []
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput

__all__ = ["ImageIssue", "box_label_quality", "find_box_label_issues"]


@dataclass(frozen=True)
class ImageIssue:
    """One image whose boxes look wrong.

    Attributes:
        index: the image's position in the input.
        score: its label quality in ``[0, 1]`` (lower = more likely wrong).
    """

    index: int
    score: float


def _corners(boxes: Sequence[Mapping[str, Any]]) -> np.ndarray:
    if not boxes:
        return np.zeros((0, 4), dtype=np.float32)
    return np.array(
        [[b["x"], b["y"], b["x"] + b["w"], b["y"] + b["h"]] for b in boxes], dtype=np.float32
    )


def _cleanlab_inputs(
    gold: Sequence[Sequence[Mapping[str, Any]]],
    predicted: Sequence[Sequence[Mapping[str, Any]]],
    labels: Sequence[str],
) -> tuple[list[dict[str, Any]], list[np.ndarray]]:
    if len(gold) != len(predicted):
        raise InvalidInput(
            f"{len(predicted)} predicted images but {len(gold)} labelled ones", field="predicted"
        )
    ids = {label: j for j, label in enumerate(labels)}
    cl_labels, cl_predictions = [], []
    for i, (given, found) in enumerate(zip(gold, predicted, strict=True)):
        unknown = [b["label"] for b in [*given, *found] if b["label"] not in ids]
        if unknown:
            raise InvalidInput(f"image {i}: unknown label {unknown[0]!r}", field="boxes")
        cl_labels.append(
            {
                "bboxes": _corners(given),
                "labels": np.array([ids[b["label"]] for b in given], dtype=np.int64),
            }
        )
        per_class = np.empty(len(labels), dtype=object)  # one (m, 5) array per label
        for j, label in enumerate(labels):
            mine = [b for b in found if b["label"] == label]
            scores = np.array([float(b.get("score", 1.0)) for b in mine], dtype=np.float32)
            per_class[j] = np.hstack([_corners(mine), scores.reshape(-1, 1)])
        cl_predictions.append(per_class)
    return cl_labels, cl_predictions


def box_label_quality(
    gold: Sequence[Sequence[Mapping[str, Any]]],
    predicted: Sequence[Sequence[Mapping[str, Any]]],
    labels: Sequence[str],
) -> np.ndarray:
    """``(n,)`` float64 label quality per image in ``[0, 1]`` (cleanlab's
    ``get_label_quality_scores``); lower means the given boxes more likely need a fix.

    Raises:
        InvalidInput: the lists differ in length, or a box has an unknown label.
    """
    from cleanlab.object_detection.rank import get_label_quality_scores

    cl_labels, cl_predictions = _cleanlab_inputs(gold, predicted, labels)
    if not cl_labels:
        return np.zeros(0)
    scores = get_label_quality_scores(cl_labels, cl_predictions, verbose=False)
    return np.asarray(scores, dtype=np.float64)


def find_box_label_issues(
    gold: Sequence[Sequence[Mapping[str, Any]]],
    predicted: Sequence[Sequence[Mapping[str, Any]]],
    labels: Sequence[str],
) -> list[ImageIssue]:
    """The images cleanlab's ``find_label_issues`` flags, lowest label quality first.

    Args:
        gold: per image, the given boxes.
        predicted: per image, the scored boxes of a model that never trained on it.
        labels: the project's labels.

    Raises:
        InvalidInput: the lists differ in length, or a box has an unknown label.
    """
    from cleanlab.object_detection.filter import find_label_issues
    from cleanlab.object_detection.rank import get_label_quality_scores

    cl_labels, cl_predictions = _cleanlab_inputs(gold, predicted, labels)
    if not cl_labels:
        return []
    flagged = np.asarray(find_label_issues(cl_labels, cl_predictions), dtype=bool)
    scores = get_label_quality_scores(cl_labels, cl_predictions, verbose=False)
    issues = [ImageIssue(int(i), float(scores[i])) for i in np.flatnonzero(flagged)]
    return sorted(issues, key=lambda issue: (issue.score, issue.index))
