"""BoxModel learns boxes from annotated images; mAP via pycocotools; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest
from square_factories import square_images

from labelloop.errors import InvalidInput, NotFound
from labelloop.learn.boxes import (
    BoxModel,
    BoxSettings,
    choose_box_settings,
    mean_average_precision,
)

LABELS = ["red", "blue"]
FAST = BoxSettings(input_size=160, steps=200)


@pytest.fixture(scope="module")
def squares_model(tmp_path_factory):
    images, boxes = square_images(32, seed=0)
    cache = tmp_path_factory.mktemp("features")
    keys = [f"train{i}" for i in range(len(images))]
    return BoxModel.fit(images, boxes, labels=LABELS, settings=FAST, cache_dir=cache, keys=keys)


@pytest.mark.real_model
@pytest.mark.slow
def test_learns_two_kinds_of_squares(squares_model) -> None:
    images, gold = square_images(12, seed=1)
    predicted = squares_model.predict(images)
    assert mean_average_precision(gold, predicted, LABELS)["map"] >= 0.9
    for boxes, image in zip(predicted, images, strict=True):
        height, width = image.shape[:2]
        assert all(b["x"] >= 0 and b["x"] + b["w"] <= width + 1e-6 for b in boxes)
        assert all(b["y"] >= 0 and b["y"] + b["h"] <= height + 1e-6 for b in boxes)
        assert all(0 <= b["score"] <= 1 and b["label"] in LABELS for b in boxes)


@pytest.mark.real_model
@pytest.mark.slow
def test_boxes_follow_the_image_when_it_is_resized(squares_model) -> None:
    images, _ = square_images(6, seed=2)
    bigger = [np.kron(image, np.ones((2, 2, 1), dtype=np.uint8)) for image in images]
    small, big = squares_model.predict(images), squares_model.predict(bigger)
    confident = [[b for b in boxes if b["score"] >= 0.3] for boxes in small]
    assert sum(map(len, confident)) >= 6
    for few, many in zip(confident, big, strict=True):
        for box in few:  # the same box is found, in pixels of the bigger image
            doubled = {**box, **{key: 2 * box[key] for key in "xywh"}}
            same = [_iou(b, doubled) for b in many if b["label"] == box["label"]]
            assert max(same, default=0.0) > 0.75


def _iou(a: dict, b: dict) -> float:
    x0, y0 = max(a["x"], b["x"]), max(a["y"], b["y"])
    x1, y1 = min(a["x"] + a["w"], b["x"] + b["w"]), min(a["y"] + a["h"], b["y"] + b["h"])
    inter = max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return inter / (a["w"] * a["h"] + b["w"] * b["h"] - inter)


@pytest.mark.real_model
@pytest.mark.slow
def test_save_then_load_gives_identical_predictions(squares_model, tmp_path) -> None:
    images, _ = square_images(4, seed=3)
    squares_model.save(tmp_path / "model")
    squares_model.save(tmp_path / "model")  # replacing a saved model works too
    loaded = BoxModel.load(tmp_path / "model")
    assert loaded.labels == squares_model.labels and loaded.settings == FAST
    assert loaded.predict(images) == squares_model.predict(images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no staging left over


def test_loading_a_folder_without_a_model_is_not_found(tmp_path) -> None:
    with pytest.raises(NotFound, match="no box model"):
        BoxModel.load(tmp_path)


@pytest.mark.parametrize(
    ("boxes", "match"),
    [
        ([[{"x": 0, "y": 0, "w": 0, "h": 5, "label": "red"}]], r"boxes\[0\]\[0\].*w and h"),
        ([[{"x": 0, "y": 0, "w": 5, "h": 5, "label": "green"}]], r"label 'green' is not one"),
        ([[{"x": 150, "y": 0, "w": 20, "h": 5, "label": "red"}]], r"lies outside the 160 x 128"),
        ([[{"x": "a", "y": 0, "w": 5, "h": 5, "label": "red"}]], r"x must be a finite number"),
        ([[], []], r"has 2 entries for 1 images"),
    ],
)
def test_bad_training_boxes_are_refused_by_index(boxes, match) -> None:
    images, _ = square_images(1, seed=0)
    with pytest.raises(InvalidInput, match=match):
        BoxModel.fit(images, boxes, labels=LABELS, settings=FAST)


def test_bad_training_images_and_settings_are_refused() -> None:
    images, boxes = square_images(1, seed=0)
    with pytest.raises(InvalidInput, match=r"image 0 must be uint8"):
        BoxModel.fit([images[0].astype(float)], boxes, labels=LABELS)
    with pytest.raises(InvalidInput, match="at least one annotated image"):
        BoxModel.fit([], [], labels=LABELS)
    with pytest.raises(InvalidInput, match="input_size"):
        BoxModel.fit(images, boxes, labels=LABELS, settings=BoxSettings(input_size=100))
    with pytest.raises(InvalidInput, match="distinct"):
        BoxModel.fit(images, boxes, labels=["red", "red"])


def test_a_box_poking_out_by_under_a_pixel_is_clipped() -> None:
    gold = [[{"x": -0.5, "y": 0, "w": 10.5, "h": 10, "label": "red"}]]
    same = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "red", "score": 0.9}]]
    assert mean_average_precision(gold, same, LABELS)["map"] == pytest.approx(1.0)


def test_map_of_gold_against_itself_is_one_and_of_nothing_zero() -> None:
    _, gold = square_images(8, seed=4)
    result = mean_average_precision(gold, gold, [*LABELS, "green"])
    assert result["map"] == pytest.approx(1.0)
    assert result["per_label"]["green"] is None  # no gold box: left out of the mean
    empty = mean_average_precision(gold, [[] for _ in gold], LABELS)
    assert empty == {"map": 0.0, "per_label": {"red": 0.0, "blue": 0.0}, "iou": 0.5}


def test_map_counts_a_wrong_label_or_a_far_box_as_a_miss() -> None:
    gold = [[{"x": 10, "y": 10, "w": 20, "h": 20, "label": "red"}]]
    relabelled = [[{**gold[0][0], "label": "blue", "score": 0.9}]]
    shifted = [[{**gold[0][0], "x": 25, "score": 0.9}]]  # IoU 5/35: below 0.5
    assert mean_average_precision(gold, relabelled, LABELS)["map"] == 0.0
    assert mean_average_precision(gold, shifted, LABELS)["map"] == 0.0
    assert mean_average_precision(gold, shifted, LABELS, iou=0.1)["map"] == pytest.approx(1.0)


def test_map_ranks_by_score() -> None:
    gold = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "red"}]]
    hit = {**gold[0][0], "score": 0.4}
    false_alarm = {"x": 50, "y": 50, "w": 10, "h": 10, "label": "red"}
    good = mean_average_precision(gold, [[hit, {**false_alarm, "score": 0.1}]], LABELS)
    bad = mean_average_precision(gold, [[hit, {**false_alarm, "score": 0.9}]], LABELS)
    assert good["map"] == pytest.approx(1.0) and bad["map"] == pytest.approx(0.5, abs=0.01)


def test_map_refuses_mismatched_lists_and_bad_scores() -> None:
    gold = [[{"x": 0, "y": 0, "w": 10, "h": 10, "label": "red"}]]
    with pytest.raises(InvalidInput, match="has 0 images but gold has 1"):
        mean_average_precision(gold, [], LABELS)
    with pytest.raises(InvalidInput, match=r"predicted\[0\]\[0\].*score must lie in \[0, 1\]"):
        mean_average_precision(gold, [[{**gold[0][0], "score": 3.0}]], LABELS)
    with pytest.raises(InvalidInput, match="iou"):
        mean_average_precision(gold, gold, LABELS, iou=0.0)


@pytest.mark.real_model
@pytest.mark.slow
def test_cross_validation_prefers_a_trained_head_to_an_untrained_one(tmp_path) -> None:
    images, boxes = square_images(18, seed=5)
    keys = [f"cv{i}" for i in range(len(images))]
    untrained, trained = BoxSettings(input_size=160, steps=1), FAST
    choice = choose_box_settings(
        images, boxes, labels=LABELS, candidates=[untrained, trained], cache_dir=tmp_path, keys=keys
    )
    assert choice.settings == trained
    assert choice.scores[1] > choice.scores[0] and len(choice.scores) == 2
    # the cache holds what was computed: predicting from it or from scratch gives the same boxes
    model = BoxModel.fit(images[:6], boxes[:6], labels=LABELS, settings=FAST)
    assert model.predict(images[6:9], keys=keys[6:9], cache_dir=tmp_path) == model.predict(
        images[6:9]
    )


def test_cross_validation_needs_candidates_and_enough_images() -> None:
    images, boxes = square_images(2, seed=0)
    with pytest.raises(InvalidInput, match="folds"):
        choose_box_settings(images, boxes, labels=LABELS, candidates=[FAST], folds=3)
    with pytest.raises(InvalidInput, match="candidate"):
        choose_box_settings(images, boxes, labels=LABELS, candidates=[])
