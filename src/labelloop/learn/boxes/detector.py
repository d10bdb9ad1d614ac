"""The pre-trained box detector: MediaPipe's SSD-MobileNetV2 trained on OpenImages v4.

The model (24 classes: Person, Car, Cat, Dog, Chair, Laptop, Mug, Bottle, Book, Footwear, ...)
is a tflite file that ``python -m labelloop.learn.boxes.fetch`` (run by ``make install``) takes
from the npm package ``@mediapipe/objectron``; it runs with ai-edge-litert. Pre-processing, SSD
anchors and box decoding follow MediaPipe's own graph
(``mediapipe/modules/objectron/object_detection_oid_v4_cpu.pbtxt``): the image is stretched to
300 x 300, scaled to ``[-1, 1]``; 1917 anchors over six feature maps; sigmoid class scores;
centre/size offsets scaled by 10 and 5.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labelloop.errors import InvalidInput, MissingDependency, NotFound
from labelloop.learn.boxes._nms import nms
from labelloop.learn.boxes._validation import Box, check_images
from labelloop.learn.boxes.fetch import (
    DETECTOR_FOLDER,
    LABELMAP_NAME,
    TFLITE_NAME,
    default_models_dir,
)

__all__ = ["DETECTORS", "Detector", "SsdDetector", "load_detector", "ssd_anchors"]

DETECTORS = ("mediapipe-ssd",)

_INPUT = 300
_NMS_IOU = 0.45
_MAX_DETECTIONS = 100


@dataclass(frozen=True)
class _AnchorSpec:
    """``SsdAnchorsCalculatorOptions`` of MediaPipe's OpenImages-v4 SSD graph."""

    num_layers: int = 6
    min_scale: float = 0.2
    max_scale: float = 0.95
    input_size: int = _INPUT
    strides: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    aspect_ratios: tuple[float, ...] = (1.0, 2.0, 0.5, 3.0, 0.3333)
    offset: float = 0.5
    interpolated_scale_aspect_ratio: float = 1.0


def _scale(spec: _AnchorSpec, index: int) -> float:
    if len(spec.strides) == 1:
        return (spec.min_scale + spec.max_scale) / 2
    step = (spec.max_scale - spec.min_scale) / (len(spec.strides) - 1)
    return spec.min_scale + step * index


def _layer_shapes(spec: _AnchorSpec, layer: int) -> list[tuple[float, float]]:
    """``(scale, aspect ratio)`` of the anchors at each cell of one layer."""
    if layer == 0:  # reduce_boxes_in_lowest_layer
        scale = _scale(spec, 0)
        return [(0.1, 1.0), (scale, 2.0), (scale, 0.5)]
    scale = _scale(spec, layer)
    shapes = [(scale, ratio) for ratio in spec.aspect_ratios]
    after = 1.0 if layer == len(spec.strides) - 1 else _scale(spec, layer + 1)
    shapes.append((math.sqrt(scale * after), spec.interpolated_scale_aspect_ratio))
    return shapes


def ssd_anchors(spec: _AnchorSpec | None = None) -> np.ndarray:
    """SSD anchors: float32 ``(n, 4)`` rows ``(x_center, y_center, w, h)`` in ``[0, 1]``.

    Same order as MediaPipe's ``SsdAnchorsCalculator``: layer by layer, row by row, cell by
    cell, then anchor by anchor (1917 anchors for the default spec).
    """
    spec = spec or _AnchorSpec()
    rows: list[tuple[float, float, float, float]] = []
    for layer, stride in enumerate(spec.strides):
        side = math.ceil(spec.input_size / stride)
        sizes = [
            (s * math.sqrt(r), s / math.sqrt(r)) for s, r in _layer_shapes(spec, layer)
        ]  # (w, h) per anchor
        for y in range(side):
            for x in range(side):
                cx, cy = (x + spec.offset) / side, (y + spec.offset) / side
                rows.extend((cx, cy, w, h) for w, h in sizes)
    return np.asarray(rows, dtype=np.float32)


def _decode(raw: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """Raw ``(dy, dx, dh, dw)`` encodings ``(n, 4)`` -> corners ``(x0, y0, x1, y1)`` in [0, 1]."""
    cx = raw[:, 1] / 10.0 * anchors[:, 2] + anchors[:, 0]
    cy = raw[:, 0] / 10.0 * anchors[:, 3] + anchors[:, 1]
    w = np.exp(raw[:, 3] / 5.0) * anchors[:, 2]
    h = np.exp(raw[:, 2] / 5.0) * anchors[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


@runtime_checkable
class Detector(Protocol):
    """What a pre-trained box detector offers: a name, its class names, and ``detect``."""

    name: str
    classes: tuple[str, ...]

    def detect(self, images: Sequence[np.ndarray], *, min_score: float = 0.3) -> list[list[Box]]:
        """Boxes per image (see :meth:`SsdDetector.detect`)."""
        ...


class SsdDetector:
    """MediaPipe's SSD-MobileNetV2 (OpenImages v4) run by the TFLite interpreter.

    Args:
        model_path: The ``.tflite`` file.
        labelmap_path: Its label map, one class per line (line 0 is the background class).
        num_threads: Interpreter threads.

    Example:
        >>> from skimage import data  # doctest: +SKIP
        >>> detector = load_detector("mediapipe-ssd")  # doctest: +SKIP
        >>> detector.detect([data.astronaut()])[0][0]["label"]  # doctest: +SKIP
        'Person'
    """

    name = "mediapipe-ssd"

    def __init__(self, model_path: Path, labelmap_path: Path, *, num_threads: int = 2) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError as exc:
            raise MissingDependency("ai-edge-litert (the TFLite runtime)", extra="images") from exc
        names = labelmap_path.read_text(encoding="utf-8").splitlines()
        self.classes = tuple(n.strip() for n in names[1:] if n.strip())
        self._interpreter: Any = Interpreter(model_path=str(model_path), num_threads=num_threads)
        self._interpreter.allocate_tensors()
        self._input = self._interpreter.get_input_details()[0]["index"]
        outputs = {o["name"]: o["index"] for o in self._interpreter.get_output_details()}
        self._boxes_out = outputs["raw_outputs/box_encodings"]
        self._scores_out = outputs["raw_outputs/class_predictions"]
        self._anchors = ssd_anchors()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(classes={len(self.classes)})"

    def detect(self, images: Sequence[np.ndarray], *, min_score: float = 0.3) -> list[list[Box]]:
        """Detect objects in each image.

        Args:
            images: ``(h, w, 3)`` uint8 RGB arrays (upright, as
                :func:`labelloop.backbones.images.load_rgb` reads them).
            min_score: Keep boxes scoring at least this (in ``[0, 1]``).

        Returns:
            Per image, boxes ``{"x", "y", "w", "h", "label", "score"}`` in that image's pixels,
            best first, after per-class non-max suppression (IoU 0.45), at most 100.

        Raises:
            InvalidInput: An image is not ``(h, w, 3)`` uint8, or ``min_score`` is outside [0, 1].
        """
        arrays = check_images(images)
        if not 0.0 <= min_score <= 1.0:
            raise InvalidInput(f"must lie in [0, 1], got {min_score}", field="min_score")
        return [self._detect_one(image, min_score) for image in arrays]

    def _detect_one(self, image: np.ndarray, min_score: float) -> list[Box]:
        from PIL import Image

        height, width = image.shape[:2]
        resized = Image.fromarray(image).resize((_INPUT, _INPUT), Image.Resampling.BILINEAR)
        x = np.asarray(resized, dtype=np.float32)[None] / 127.5 - 1.0
        self._interpreter.set_tensor(self._input, x)
        self._interpreter.invoke()
        raw = self._interpreter.get_tensor(self._boxes_out)[0]
        logits = self._interpreter.get_tensor(self._scores_out)[0][:, 1:]  # drop background
        scores = 1.0 / (1.0 + np.exp(-logits))
        best = scores.argmax(axis=1)
        best_score = scores[np.arange(len(best)), best]
        keep = best_score >= min_score
        corners = np.clip(_decode(raw[keep], self._anchors[keep]), 0.0, 1.0)
        corners *= np.array([width, height, width, height], dtype=np.float32)
        return _to_boxes(corners, best_score[keep], best[keep], self.classes)


def _to_boxes(
    corners: np.ndarray, scores: np.ndarray, class_ids: np.ndarray, classes: Sequence[str]
) -> list[Box]:
    kept = nms(corners, scores, class_ids, iou=_NMS_IOU)[:_MAX_DETECTIONS]
    out = []
    for i in kept:
        x0, y0, x1, y1 = (float(v) for v in corners[i])
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            continue
        out.append(
            {
                "x": x0,
                "y": y0,
                "w": x1 - x0,
                "h": y1 - y0,
                "label": classes[int(class_ids[i])],
                "score": float(scores[i]),
            }
        )
    return out


def _model_files(name: str) -> tuple[Path, Path]:
    folder = default_models_dir() / DETECTOR_FOLDER
    model, labelmap = folder / TFLITE_NAME, folder / LABELMAP_NAME
    if not (model.is_file() and labelmap.is_file()):
        raise MissingDependency(
            f"the {name} detector's model file ({folder}; fetch it once with "
            "`python -m labelloop.learn.boxes.fetch`, which `make install` runs)"
        )
    return model, labelmap


def load_detector(name: str = "mediapipe-ssd", *, num_threads: int = 2) -> Detector:
    """The pre-trained detector called ``name`` (only ``"mediapipe-ssd"`` exists).

    Its files are read from ``$LABELLOOP_MODELS_DIR`` or ``<sys.prefix>/share/labelloop/
    detectors``; nothing is downloaded.

    Raises:
        NotFound: No detector has that name.
        MissingDependency: The model file is not installed (the message gives the command).
    """
    if name not in DETECTORS:
        raise NotFound(f"no detector called {name!r}; known: {', '.join(DETECTORS)}")
    model, labelmap = _model_files(name)
    return SsdDetector(model, labelmap, num_threads=num_threads)
