"""Boundary checks for the box learning API: images as arrays, boxes as dicts in pixels."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput

__all__ = ["Box", "check_boxes", "check_images", "check_labels"]

# A box as it crosses the API: {"x", "y", "w", "h": float pixels, "label": str[, "score"]}.
Box = dict[str, Any]

_CLIP_TOLERANCE = 1.0  # a box poking out of the image by at most this many pixels is clipped


def check_images(images: object, *, field: str = "images") -> list[np.ndarray]:
    """Return ``images`` as a list of ``(h, w, 3)`` uint8 arrays or raise :class:`InvalidInput`."""
    if isinstance(images, np.ndarray) and images.ndim == 3:
        raise InvalidInput("must be a sequence of (h, w, 3) arrays, not one image", field=field)
    if not isinstance(images, Sequence | np.ndarray):
        raise InvalidInput(
            f"must be a sequence of arrays, got {type(images).__name__}", field=field
        )
    out = []
    for i, image in enumerate(images):
        arr = np.asarray(image)
        if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InvalidInput(f"image {i} must have shape (h, w, 3), got {arr.shape}", field=field)
        if arr.dtype != np.uint8:
            raise InvalidInput(f"image {i} must be uint8 RGB, got dtype {arr.dtype}", field=field)
        out.append(arr)
    return out


def check_labels(labels: object) -> tuple[str, ...]:
    """Return the project's labels as a tuple of distinct non-empty strings."""
    if isinstance(labels, str) or not isinstance(labels, Sequence):
        raise InvalidInput("must be a sequence of label names", field="labels")
    names = tuple(labels)
    if not names:
        raise InvalidInput("must name at least one label", field="labels")
    bad = [n for n in names if not isinstance(n, str) or not n]
    if bad:
        raise InvalidInput(f"label names must be non-empty strings, got {bad[0]!r}", field="labels")
    if len(set(names)) != len(names):
        raise InvalidInput("label names must be distinct", field="labels")
    return names


def check_boxes(
    boxes: object,
    *,
    size: tuple[int, int],
    labels: Sequence[str],
    where: str = "boxes",
    scored: bool = False,
) -> list[Box]:
    """Validate one image's boxes and return clean copies (floats, clipped to the image).

    Args:
        boxes: A list of ``{"x", "y", "w", "h", "label"}`` dicts in pixels of the image, origin
            top-left (plus ``"score"`` in ``[0, 1]`` when ``scored``).
        size: ``(width, height)`` of the image.
        labels: The allowed label names.
        where: How to name this image's boxes in error messages.
        scored: Whether each box must carry a score.

    Raises:
        InvalidInput: A box is not a dict, lacks a field, has ``w <= 0`` or ``h <= 0``, lies
            outside the image by more than 1 px, or names an unknown label (the message names
            the box by index).
    """
    if not isinstance(boxes, Sequence) or isinstance(boxes, str | bytes):
        raise InvalidInput(f"must be a list of boxes, got {type(boxes).__name__}", field=where)
    allowed = set(labels)
    return [
        _check_box(box, i, size=size, allowed=allowed, where=where, scored=scored)
        for i, box in enumerate(boxes)
    ]


def _check_box(
    box: object, i: int, *, size: tuple[int, int], allowed: set[str], where: str, scored: bool
) -> Box:
    field = f"{where}[{i}]"
    if not isinstance(box, dict):
        raise InvalidInput(f"must be an object with x, y, w, h, label, got {box!r}", field=field)
    keys = ("x", "y", "w", "h", "score") if scored else ("x", "y", "w", "h")
    values = {}
    for key in keys:
        value = box.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidInput(f"{key} must be a finite number, got {value!r}", field=field)
        values[key] = float(value)
    label = box.get("label")
    if label not in allowed:
        raise InvalidInput(f"label {label!r} is not one of {sorted(allowed)}", field=field)
    if values["w"] <= 0 or values["h"] <= 0:
        raise InvalidInput(f"w and h must be > 0, got {values['w']} x {values['h']}", field=field)
    if scored and not 0.0 <= values["score"] <= 1.0:
        raise InvalidInput(f"score must lie in [0, 1], got {values['score']}", field=field)
    x0, y0, x1, y1 = _clip(values, size=size, field=field)
    out: Box = {"x": x0, "y": y0, "w": x1 - x0, "h": y1 - y0, "label": label}
    if scored:
        out["score"] = values["score"]
    return out


def _clip(values: dict[str, float], *, size: tuple[int, int], field: str) -> tuple[float, ...]:
    width, height = size
    x0, y0 = values["x"], values["y"]
    x1, y1 = x0 + values["w"], y0 + values["h"]
    tol = _CLIP_TOLERANCE
    if x0 < -tol or y0 < -tol or x1 > width + tol or y1 > height + tol:
        raise InvalidInput(
            f"box ({x0:g}, {y0:g}, {x1 - x0:g} x {y1 - y0:g}) lies outside the "
            f"{width} x {height} image",
            field=field,
        )
    x0, y0 = max(x0, 0.0), max(y0, 0.0)
    x1, y1 = min(x1, float(width)), min(y1, float(height))
    if x1 <= x0 or y1 <= y0:
        raise InvalidInput("box has no area inside the image", field=field)
    return x0, y0, x1, y1
