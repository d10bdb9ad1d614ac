"""The packaged pre-trained detector on real photos, and mapping its classes to project labels."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.errors import InvalidInput, MissingDependency, NotFound
from labelloop.learn.boxes import Detector, load_detector, map_detector_labels
from labelloop.learn.boxes.detector import ssd_anchors

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def detector():
    return load_detector("mediapipe-ssd")


def _best(boxes: list[dict], label: str) -> dict:
    found = [b for b in boxes if b["label"] == label]
    assert found, f"no {label} among {[(b['label'], round(b['score'], 2)) for b in boxes]}"
    return max(found, key=lambda b: b["score"])


def _iou(a: dict, b: tuple[float, float, float, float]) -> float:
    x0, y0 = max(a["x"], b[0]), max(a["y"], b[1])
    x1, y1 = min(a["x"] + a["w"], b[0] + b[2]), min(a["y"] + a["h"], b[1] + b[3])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a["w"] * a["h"] + b[2] * b[3] - inter)


@pytest.mark.real_model
def test_the_astronaut_is_a_person_and_chelsea_a_cat(detector) -> None:
    astronaut, cat = detector.detect([skimage_data.astronaut(), skimage_data.chelsea()])
    # hand-drawn boxes of the two photos (x, y, w, h)
    assert _iou(_best(astronaut, "Person"), (10, 10, 350, 502)) > 0.6
    assert _iou(_best(cat, "Cat"), (0, 0, 451, 300)) > 0.6


@pytest.mark.real_model
def test_boxes_are_in_the_pixels_of_each_input_image(detector) -> None:
    mug = skimage_data.coffee()  # 600 x 400
    small = np.ascontiguousarray(mug[::2, ::2])  # 300 x 200: boxes scale by one half
    full, half = detector.detect([mug, small])
    big, little = _best(full, "Coffee cup"), _best(half, "Coffee cup")
    for key in ("x", "y", "w", "h"):
        assert little[key] == pytest.approx(big[key] / 2, abs=12)
    assert all(b["x"] >= 0 and b["x"] + b["w"] <= 600 + 1e-3 for b in full)
    assert all(0.3 <= b["score"] <= 1 for b in full)


@pytest.mark.real_model
def test_min_score_filters_and_bad_images_are_refused(detector) -> None:
    photo = skimage_data.astronaut()
    loose, strict = (detector.detect([photo], min_score=s)[0] for s in (0.05, 0.5))
    assert len(loose) > len(strict) >= 1
    assert all(b["score"] >= 0.5 for b in strict)
    with pytest.raises(InvalidInput, match="image 0 must have shape"):
        detector.detect([photo[:, :, 0]])
    with pytest.raises(InvalidInput, match="uint8"):
        detector.detect([photo.astype(np.float32)])
    with pytest.raises(InvalidInput, match="min_score"):
        detector.detect([photo], min_score=2.0)


@pytest.mark.real_model
def test_the_detector_names_itself_and_its_classes(detector) -> None:
    assert isinstance(detector, Detector) and detector.name == "mediapipe-ssd"
    assert len(detector.classes) == 23 and {"Person", "Cat", "Mug", "Footwear"} <= set(
        detector.classes
    )


def test_ssd_anchors_follow_mediapipes_layout() -> None:
    anchors = ssd_anchors()
    assert anchors.shape == (1917, 4)  # 19x19x3 + (10x10 + 5x5 + 3x3 + 2x2 + 1) x 6
    assert anchors[:, :2].min() > 0 and anchors[:, :2].max() < 1
    assert anchors[0].tolist() == pytest.approx([0.5 / 19, 0.5 / 19, 0.1, 0.1])


def test_unknown_detector_and_missing_files_are_clear(tmp_path, monkeypatch) -> None:
    with pytest.raises(NotFound, match="no detector called 'yolo'"):
        load_detector("yolo")
    monkeypatch.setenv("LABELLOOP_MODELS_DIR", str(tmp_path))
    with pytest.raises(MissingDependency, match=r"python -m labelloop.learn.boxes.fetch"):
        load_detector()


def test_detector_classes_map_by_name_and_by_explicit_mapping() -> None:
    classes = ["Person", "Cat", "Mug", "Coffee cup", "Dog"]
    mapped = map_detector_labels(
        classes, [" person", "cup", "sneaker"], {"mug": "cup", "Coffee cup": "CUP"}
    )
    assert mapped == {"Person": " person", "Mug": "cup", "Coffee cup": "cup"}
    assert map_detector_labels(classes, ["sneaker"]) == {}
    assert map_detector_labels(classes, ["cat"], {"Cat": "cat"}) == {"Cat": "cat"}


def test_a_mapping_naming_unknown_classes_or_labels_is_refused() -> None:
    with pytest.raises(InvalidInput, match="'Giraffe' is not one of the detector's classes"):
        map_detector_labels(["Person"], ["person"], {"Giraffe": "person"})
    with pytest.raises(InvalidInput, match="'animal', which is not one of the project's labels"):
        map_detector_labels(["Cat"], ["person"], {"Cat": "animal"})
