"""Bounding boxes: an answer is a list of labelled rectangles over the item's image.

A box is ``{"x": float, "y": float, "w": float, "h": float, "label": str}`` in pixels of the
**upright** image (EXIF orientation applied: what a browser's ``<img>`` shows as
``naturalWidth`` x ``naturalHeight``), origin top-left, ``w > 0`` and ``h > 0``. A box may poke
out of the image by at most :data:`CLIP_PX` pixels (a mouse drag to the edge); it is clipped to the
image. An empty list is a real answer ("no object in this image"). Suggestions are the same boxes
with a ``"score"`` in ``[0, 1]``, which an answer keeps when given.

An item's data names its image by ``path`` (what every image import writes, as for image
classification) or ``image``, relative to the workspace's media root or absolute.

Suggestions come from a detector or a box model (:mod:`labelloop.learn.boxes`), not from
``pred_probs`` over the labels, so :meth:`BoxesTask.targets`, :meth:`~BoxesTask.decode` and
:meth:`~BoxesTask.uncertainty` refuse, as for spans.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality, TaskType
from labelloop.tasks._base import AnswerShape, Decoded, TaskTags, Where
from labelloop.tasks._hashing import file_digest

__all__ = [
    "BOX_KEYS",
    "BOX_STRATEGY",
    "CLIP_PX",
    "LS_FROM_NAME",
    "MAX_BOXES",
    "BoxesTask",
    "image_path",
]

#: ``name`` of the ``<RectangleLabels>`` control that Label Studio results refer to.
LS_FROM_NAME = "label"
#: The keys of a box, in the order an answer stores them.
BOX_KEYS = ("x", "y", "w", "h", "label")
#: A box may reach this many pixels past the image's edge and is clipped; more is an error.
CLIP_PX = 1.0
#: At most this many boxes in one answer.
MAX_BOXES = 1000
#: What each classification strategy name means for box projects: the image's box uncertainty
#: (:func:`labelloop.active.boxes.box_uncertainty`), or random for a cold start.
BOX_STRATEGY = {
    "margin": "box_uncertainty",
    "least_confidence": "box_uncertainty",
    "entropy": "box_uncertainty",
    "hybrid": "box_uncertainty",
    "cold_start": "random",
}


def image_path(data: Mapping[str, Any], *, media_root: Path | None = None) -> Path:
    """The image file an item's ``data`` names (``path``, else ``image``), resolved against
    ``media_root`` when relative.

    Raises:
        InvalidInput: ``data`` names no image.

    Example:
        >>> image_path({"path": "a/b.jpg"}, media_root=Path("/media")).as_posix()
        '/media/a/b.jpg'
    """
    raw = data.get("path", data.get("image"))
    if not isinstance(raw, str | Path) or not str(raw):
        keys = ", ".join(sorted(map(str, data))) or "no keys"
        raise InvalidInput(
            f"an image-boxes item needs a 'path' (or 'image') to its image file; it has {keys}",
            field="data",
        )
    path = Path(raw)
    if media_root is not None and not path.is_absolute():
        path = media_root / path
    return path


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float | np.integer | np.floating)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


class BoxesTask:
    """Labelled bounding boxes over an item's image (object detection).

    Example:
        >>> schema = LabelSchema(task="image-boxes", labels=["cat", "dog"])
        >>> BoxesTask().check_answer(schema, [{"x": 1, "y": 2, "w": 3, "h": 4, "label": "cat"}])
        [{'x': 1.0, 'y': 2.0, 'w': 3.0, 'h': 4.0, 'label': 'cat'}]
    """

    name = str(TaskType.IMAGE_BOXES)
    widget = "boxes"
    tags = TaskTags(
        modality=Modality.IMAGE, answer=AnswerShape.BOXES, token_level=True, multi_label=False
    )

    def __repr__(self) -> str:
        return "BoxesTask()"

    # -- answers ---------------------------------------------------------------------------------

    def check_answer(
        self,
        schema: LabelSchema,
        value: Any,
        *,
        where: Where | None = None,
        data: Mapping[str, Any] | None = None,
        media_root: Path | None = None,
    ) -> list[Any]:
        """Validate boxes against the item's image; return them clipped, in the order given.

        Args:
            schema: The project's labels.
            value: A list of boxes ``{"x", "y", "w", "h", "label"}`` (plus an optional
                ``"score"`` in ``[0, 1]``); an empty list means "no object in this image".
            where: Where the answer came from (an import's file and line).
            data: The item's data. With it the image's upright size is read (from the file's
                header, or from ``data["width"]`` and ``data["height"]`` when present) and every
                box must lie inside it; without it only the boxes' shape and labels are checked.
            media_root: What a relative image path in ``data`` is relative to.

        Raises:
            InvalidInput: Not a list, a box missing a field or with a non-finite one, ``w`` or
                ``h`` not positive, an unknown label, a score outside ``[0, 1]``, a box more than
                :data:`CLIP_PX` pixels outside the image, or the same box given twice; the
                message names the box by its index and field.
        """
        where = where or Where()

        def refuse(message: str) -> InvalidInput:
            return InvalidInput(message, file=where.file, line=where.line, field=where.field)

        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
            raise refuse("a boxes answer must be a list of {'x', 'y', 'w', 'h', 'label'} boxes")
        if len(value) > MAX_BOXES:
            raise refuse(f"at most {MAX_BOXES} boxes per image, got {len(value)}")
        size = self._size(data, media_root) if data is not None else None
        boxes = [self._box(schema, raw, i, size, refuse) for i, raw in enumerate(value)]
        seen: dict[tuple[Any, ...], int] = {}
        for i, box in enumerate(boxes):
            key = tuple(box[k] for k in BOX_KEYS)
            if key in seen:
                raise refuse(f"box {i} is box {seen[key]} given twice")
            seen[key] = i
        return boxes

    def _size(self, data: Mapping[str, Any], media_root: Path | None) -> tuple[int, int]:
        width, height = data.get("width"), data.get("height")
        if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
            return width, height
        from labelloop.backbones.images import image_size

        return image_size(image_path(data, media_root=media_root))

    def _box(
        self,
        schema: LabelSchema,
        raw: Any,
        index: int,
        size: tuple[int, int] | None,
        refuse: Any,
    ) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise refuse(f"box {index} must be {{'x', 'y', 'w', 'h', 'label'}}, got {raw!r:.60}")
        for key in BOX_KEYS[:4]:
            if key not in raw:
                raise refuse(f"box {index} has no {key!r}")
            if not _number(raw[key]):
                raise refuse(f"box {index}: {key!r} must be a finite number, got {raw[key]!r:.40}")
        x, y, w, h = (float(raw[k]) for k in BOX_KEYS[:4])
        label = raw.get("label")
        if not isinstance(label, str) or label not in schema.labels:
            raise refuse(
                f"box {index}: unknown label {label!r:.60}; "
                f"the project's labels are {', '.join(schema.labels)}"
            )
        if w <= 0 or h <= 0:
            raise refuse(f"box {index}: 'w' and 'h' must be positive, got w={w:g} and h={h:g}")
        if size is not None:
            x, y, w, h = self._clipped(index, (x, y, w, h), size, refuse)
        box: dict[str, Any] = {"x": x, "y": y, "w": w, "h": h, "label": label}
        if raw.get("score") is not None:
            score = raw["score"]
            if not _number(score) or not 0.0 <= float(score) <= 1.0:
                raise refuse(f"box {index}: 'score' must be a number in [0, 1], got {score!r:.40}")
            box["score"] = float(score)
        return box

    @staticmethod
    def _clipped(
        index: int, box: tuple[float, float, float, float], size: tuple[int, int], refuse: Any
    ) -> tuple[float, float, float, float]:
        x, y, w, h = box
        width, height = size
        if x < -CLIP_PX or y < -CLIP_PX or x + w > width + CLIP_PX or y + h > height + CLIP_PX:
            raise refuse(
                f"box {index} ({x:g}, {y:g}, {w:g} x {h:g}) lies outside the "
                f"{width} x {height} image"
            )
        left, top = max(x, 0.0), max(y, 0.0)
        right, bottom = min(x + w, float(width)), min(y + h, float(height))
        if right <= left or bottom <= top:
            raise refuse(f"box {index} ({x:g}, {y:g}, {w:g} x {h:g}) has no area inside the image")
        return left, top, right - left, bottom - top

    def agree(self, schema: LabelSchema, a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool:
        """Whether two answers are the same: as many boxes, each matched one to one with a box
        of the other at IoU >= 0.5 with the same label
        (:func:`labelloop.quality.box_agreement.boxes_match`); a skip agrees with nothing."""
        if a is None or b is None:
            return False
        from labelloop.quality.box_agreement import boxes_match, check_boxes

        return boxes_match(check_boxes(a), check_boxes(b))

    # -- learning: boxes are learnt by a box model, not from pred_probs over labels --------------

    def targets(self, schema: LabelSchema, values: Sequence[Sequence[Any]]) -> np.ndarray:
        """Refused: box models train on the boxes themselves (:mod:`labelloop.learn.boxes`)."""
        raise InvalidInput("image-boxes answers have no classification targets; train a box model")

    def values_from_targets(self, schema: LabelSchema, targets: np.ndarray) -> list[list[Any]]:
        """Refused, as :meth:`targets`."""
        raise InvalidInput("image-boxes answers have no classification targets; train a box model")

    def decode(self, schema: LabelSchema, pred_probs: np.ndarray) -> Decoded:
        """Refused: a box model's suggestions carry their boxes and scores themselves."""
        raise InvalidInput("image-boxes suggestions come from a box model, not from pred_probs")

    def uncertainty(self, schema: LabelSchema, pred_probs: np.ndarray) -> np.ndarray:
        """Refused: an image's uncertainty comes from its suggested boxes' scores."""
        raise InvalidInput("image-boxes uncertainty comes from the boxes' scores, not pred_probs")

    def strategy_name(self, schema: LabelSchema, name: str) -> str:
        """The strategy run for ``name``: the uncertainty strategies are ``box_uncertainty``,
        ``cold_start`` is ``random``; ``random`` and ``box_uncertainty`` as given."""
        return BOX_STRATEGY.get(name, name)

    # -- items -----------------------------------------------------------------------------------

    def encoder_input(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> Any:
        """The path of the item's image as a ``str``.

        Raises:
            InvalidInput: ``data`` names no image.
        """
        return str(image_path(data, media_root=media_root))

    def content_hash(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> str:
        """sha256 of the image file's bytes (the same file gives the same hash as in an image
        classification project).

        Raises:
            OSError: The file cannot be read.
        """
        return file_digest(image_path(data, media_root=media_root))

    # -- formats ---------------------------------------------------------------------------------

    def label_studio_config(self, schema: LabelSchema, *, data_key: str = "image") -> str:
        """The Label Studio config: a ``<RectangleLabels>`` control over the ``<Image>``.

        Example:
            >>> s = LabelSchema(task="image-boxes", labels=["cat", "dog"])
            >>> BoxesTask().label_studio_config(s)[:50]
            '<View><Image name="image" value="$image"/><Rectang'
        """
        if data_key == "text":  # the protocol's default names text; an image has its own key
            data_key = "image"
        labels = "".join(f"<Label value={quoteattr(n)}/>" for n in schema.labels)
        return (
            f'<View><Image name="{data_key}" value="${data_key}"/>'
            f'<RectangleLabels name="{LS_FROM_NAME}" toName="{data_key}">{labels}'
            "</RectangleLabels></View>"
        )

    def label_studio_result(
        self,
        schema: LabelSchema,
        value: Sequence[Any],
        *,
        to_name: str,
        text: str | None = None,
        size: tuple[int, int] | None = None,
    ) -> list[dict[str, Any]]:
        """One ``rectanglelabels`` region per box, in percent of the image's ``size``
        (``(width, height)`` of the upright image, which Label Studio records as
        ``original_width`` and ``original_height``).

        Raises:
            InvalidInput: ``size`` is missing (percent coordinates need it).
        """
        if size is None:
            raise InvalidInput("a Label Studio box result needs the image's size", field="size")
        width, height = size
        regions = []
        for k, box in enumerate(value):
            region: dict[str, Any] = {
                "id": f"b{k}",
                "from_name": LS_FROM_NAME,
                "to_name": to_name,
                "type": "rectanglelabels",
                "original_width": int(width),
                "original_height": int(height),
                "image_rotation": 0,
                "value": {
                    "x": 100.0 * float(box["x"]) / width,
                    "y": 100.0 * float(box["y"]) / height,
                    "width": 100.0 * float(box["w"]) / width,
                    "height": 100.0 * float(box["h"]) / height,
                    "rotation": 0,
                    "rectanglelabels": [str(box["label"])],
                },
            }
            if box.get("score") is not None:
                region["score"] = float(box["score"])
            regions.append(region)
        return regions

    def value_from_label_studio(
        self,
        schema: LabelSchema,
        result: Sequence[Mapping[str, Any]],
        *,
        where: Where | None = None,
    ) -> list[Any] | None:
        """The boxes of the ``rectanglelabels`` regions, in pixels (one box per label of a
        region); ``None`` when the result holds no such region. Boxes are checked by
        :meth:`check_answer`.

        Raises:
            InvalidInput: ``result`` is not a list, or a region lacks its percent coordinates,
                its ``original_width``/``original_height``, or its labels, or is rotated.
        """
        where = where or Where(field="result")

        def refuse(message: str) -> InvalidInput:
            return InvalidInput(message, file=where.file, line=where.line, field=where.field)

        if not isinstance(result, list | tuple):
            raise refuse("'result' must be a list")
        boxes: list[dict[str, Any]] = []
        found = False
        for k, region in enumerate(result):
            if not isinstance(region, Mapping) or region.get("type") != "rectanglelabels":
                continue
            found = True
            boxes.extend(_ls_boxes(region, k, refuse))
        return boxes if found else None

    def hf_feature(self, schema: LabelSchema, datasets: Any) -> Any:
        """The ``objects`` column of Hugging Face detection datasets: per image a sequence of
        ``bbox`` (``[x, y, w, h]`` in pixels, COCO order) and ``category`` (``ClassLabel``)."""
        return datasets.Sequence(
            {
                "bbox": datasets.Sequence(datasets.Value("float32"), length=4),
                "category": datasets.ClassLabel(names=list(schema.labels)),
            }
        )


def _ls_boxes(region: Mapping[str, Any], k: int, refuse: Any) -> list[dict[str, Any]]:
    """Pixel boxes of one Label Studio ``rectanglelabels`` region (percent coordinates)."""
    value = region.get("value") or {}
    raw_width, raw_height = region.get("original_width"), region.get("original_height")
    if not _number(raw_width) or not _number(raw_height):
        raise refuse(f"region {k}: 'original_width' and 'original_height' must be positive")
    width, height = float(raw_width), float(raw_height)  # type: ignore[arg-type]
    if width <= 0 or height <= 0:
        raise refuse(f"region {k}: 'original_width' and 'original_height' must be positive")
    numbers = [value.get(key) for key in ("x", "y", "width", "height")]
    if not all(_number(v) for v in numbers):
        raise refuse(f"region {k}: 'x', 'y', 'width' and 'height' must be numbers (percent)")
    if _number(value.get("rotation")) and float(value["rotation"]) % 360 != 0:
        raise refuse(f"region {k}: rotated boxes are not supported")
    labels = value.get("rectanglelabels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise refuse(f"region {k}: 'rectanglelabels' must be a list of strings")
    x, y, w, h = (float(v) for v in numbers)  # type: ignore[arg-type]
    box = {
        "x": x * width / 100.0,
        "y": y * height / 100.0,
        "w": w * width / 100.0,
        "h": h * height / 100.0,
    }
    return [{**box, "label": label} for label in labels]
