"""Boxes: the pre-trained detector, a box model learnt from corrections, and box mAP.

Pure ML: image arrays and box dicts in, box dicts out; no database, HTTP or terminal here. A box
is ``{"x", "y", "w", "h": float, "label": str}`` in pixels of the upright image, origin
top-left; a suggestion adds ``"score"`` in ``[0, 1]``.

Example:
    >>> from labelloop.learn.boxes import map_detector_labels, mean_average_precision
    >>> map_detector_labels(["Person", "Cat"], ["person", "sneaker"])
    {'Person': 'person'}
    >>> gold = [[{"x": 0, "y": 0, "w": 8, "h": 8, "label": "sneaker"}]]
    >>> mean_average_precision(gold, [[]], ["sneaker"])["map"]
    0.0
"""

from labelloop.learn.boxes.crossval import SettingsChoice, choose_box_settings
from labelloop.learn.boxes.detector import DETECTORS, Detector, SsdDetector, load_detector
from labelloop.learn.boxes.labels import map_detector_labels
from labelloop.learn.boxes.metrics import mean_average_precision
from labelloop.learn.boxes.model import BoxModel, BoxSettings

__all__ = [
    "DETECTORS",
    "BoxModel",
    "BoxSettings",
    "Detector",
    "SettingsChoice",
    "SsdDetector",
    "choose_box_settings",
    "load_detector",
    "map_detector_labels",
    "mean_average_precision",
]
