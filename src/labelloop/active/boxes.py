"""How unsure a box model is about an image, from the scores of its candidate boxes.

A box model proposes candidate boxes with scores in ``[0, 1]``; the suggestion keeps those at or
above a threshold. Each candidate is a yes/no decision ("is this an object of that label?")
whose confidence is ``max(score, 1 - score)``: 1 for a box the model is sure of either way,
0.5 for a coin toss.

- :func:`box_confidence`: the product of those decisions' confidences, the chance that every
  decision is right if the scores were calibrated and independent; the image-level confidence
  that auto-accept thresholds (an image is right only when all its boxes are).
- :func:`box_uncertainty`: ``1 - mean`` of the decisions' confidences, in ``[0, 0.5]``; the
  active-learning score (the image whose candidates are, on average, nearest to a coin toss is
  labelled first). The mean, unlike the least confident box alone, ranks an image with many
  doubtful boxes above one with a single doubtful box among sure ones; unlike the product, it
  does not grow with the number of boxes alone. An image without candidates scores 0: the model
  is sure it shows nothing.

Example:
    >>> box_uncertainty([[0.9, 0.5], [0.99], []]).round(3).tolist()
    [0.3, 0.01, 0.0]
    >>> round(box_confidence([0.9, 0.2]), 2)
    0.72
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from labelloop.errors import InvalidInput

__all__ = ["box_confidence", "box_uncertainty"]


def _decisions(scores: Sequence[float], where: str) -> np.ndarray:
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(s)) or np.any((s < 0) | (s > 1)):
        raise InvalidInput(f"{where}: box scores must lie in [0, 1]", field="scores")
    return np.maximum(s, 1.0 - s)


def box_confidence(scores: Sequence[float]) -> float:
    """The chance that every candidate's keep/drop decision is right: ``prod(max(s, 1 - s))``;
    1.0 without candidates.

    Raises:
        InvalidInput: A score outside ``[0, 1]``.
    """
    return float(np.prod(_decisions(scores, "image")))


def box_uncertainty(scores: Sequence[Sequence[float]]) -> np.ndarray:
    """``(n,)`` float64 in ``[0, 0.5]``: per image, ``1 - mean(max(s, 1 - s))`` over its
    candidate boxes' scores (0 for an image without candidates).

    Raises:
        InvalidInput: A score outside ``[0, 1]`` (the message names the image).
    """
    out = np.zeros(len(scores), dtype=np.float64)
    for i, image in enumerate(scores):
        decisions = _decisions(image, f"image {i}")
        if decisions.size:
            out[i] = 1.0 - float(decisions.mean())
    return out
