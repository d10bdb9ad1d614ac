"""The image-boxes task: boxes in upright-image pixels, checked against the image by index."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, TaskType
from labelloop.tasks import AnswerShape, Where, get_task, task_for

SCHEMA = LabelSchema(task="image-boxes", labels=["cat", "dog"])
TASK = get_task(TaskType.IMAGE_BOXES)


def _image(
    folder: Path, name: str = "a.jpg", size: tuple[int, int] = (40, 30), **exif: int
) -> Path:
    path = folder / name
    img = Image.new("RGB", size, (120, 30, 200))
    info = img.getexif()
    for key, value in exif.items():
        info[int(key.removeprefix("tag"))] = value
    img.save(path, exif=info)
    return path


def _box(x: float, y: float, w: float, h: float, label: str = "cat") -> dict[str, object]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


def test_registered_as_an_image_task_answered_by_the_boxes_widget() -> None:
    assert task_for(SCHEMA) is TASK
    assert TASK.tags.answer is AnswerShape.BOXES and TASK.tags.token_level
    assert SCHEMA.modality == "image" and TASK.widget == "boxes"


def test_a_box_inside_the_image_is_kept_and_one_a_pixel_out_is_clipped(tmp_path: Path) -> None:
    _image(tmp_path)
    data = {"path": "a.jpg"}
    value = [_box(2, 3, 10, 5), _box(-0.5, 20, 40.8, 10.9, "dog")]
    checked = TASK.check_answer(SCHEMA, value, data=data, media_root=tmp_path)
    assert checked[0] == {"x": 2.0, "y": 3.0, "w": 10.0, "h": 5.0, "label": "cat"}
    assert checked[1] == {"x": 0.0, "y": 20.0, "w": 40.0, "h": 10.0, "label": "dog"}
    assert TASK.check_answer(SCHEMA, [], data=data, media_root=tmp_path) == []


def test_sizes_are_of_the_upright_image(tmp_path: Path) -> None:
    # orientation 6: stored 40 x 30, shown turned by 90 degrees as 30 x 40
    _image(tmp_path, tag274=6)
    data = {"image": str(tmp_path / "a.jpg")}
    assert TASK.check_answer(SCHEMA, [_box(0, 0, 30, 40)], data=data)[0]["h"] == 40.0
    with pytest.raises(InvalidInput, match=r"box 0 .* outside the 30 x 40 image"):
        TASK.check_answer(SCHEMA, [_box(0, 0, 40, 30)], data=data)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([_box(0, 0, 5, 5), _box(10, 10, 35, 5)], r"box 1 \(10, 10, 35 x 5\) lies outside"),
        ([_box(0, 0, 5, 5), {"x": 1, "y": 1, "w": 2, "label": "cat"}], "box 1 has no 'h'"),
        ([_box(0, 0, 0, 5)], "box 0: 'w' and 'h' must be positive"),
        ([_box(0, 0, 5, 5, "bird")], "box 0: unknown label 'bird'"),
        ([{**_box(0, 0, 5, 5), "x": float("nan")}], "box 0: 'x' must be a finite number"),
        ([{**_box(0, 0, 5, 5), "y": True}], "box 0: 'y' must be a finite number"),
        ([{**_box(0, 0, 5, 5), "score": 1.5}], r"box 0: 'score' must be a number in \[0, 1\]"),
        ([_box(1, 1, 5, 5), _box(1, 1, 5, 5)], "box 1 is box 0 given twice"),
        ({"x": 1}, "must be a list"),
    ],
)
def test_bad_boxes_are_refused_by_index_and_field(
    tmp_path: Path, value: object, message: str
) -> None:
    _image(tmp_path)
    where = Where("boxes.jsonl", 7, field="boxes")
    with pytest.raises(InvalidInput, match=message) as info:
        TASK.check_answer(SCHEMA, value, where=where, data={"path": "a.jpg"}, media_root=tmp_path)
    assert (info.value.file, info.value.line, info.value.field) == ("boxes.jsonl", 7, "boxes")


def test_a_missing_image_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not found") as info:
        TASK.check_answer(
            SCHEMA, [_box(0, 0, 1, 1)], data={"path": "gone.png"}, media_root=tmp_path
        )
    assert info.value.file == str(tmp_path / "gone.png")


def test_suggestion_scores_are_kept() -> None:
    checked = TASK.check_answer(SCHEMA, [{**_box(0, 0, 5, 5), "score": 0.25}])
    assert checked[0]["score"] == 0.25


def test_agreement_is_a_one_to_one_match_at_iou_half() -> None:
    a = [_box(0, 0, 10, 10), _box(20, 0, 10, 10, "dog")]
    assert TASK.agree(SCHEMA, a, [_box(21, 1, 10, 10, "dog"), _box(1, 0, 10, 10)])
    assert not TASK.agree(SCHEMA, a, [_box(0, 0, 10, 10), _box(20, 0, 10, 10)])  # wrong label
    assert not TASK.agree(SCHEMA, a, a[:1])  # a box missing
    assert not TASK.agree(SCHEMA, a, [_box(0, 0, 10, 10), _box(26, 0, 10, 10, "dog")])  # IoU 0.25
    assert TASK.agree(SCHEMA, [], [])
    assert not TASK.agree(SCHEMA, a, None)


def test_content_hash_is_the_file_bytes_like_image_classification(tmp_path: Path) -> None:
    _image(tmp_path)
    data = {"path": "a.jpg"}
    classify = get_task(TaskType.IMAGE_CLASSIFICATION)
    assert TASK.content_hash(data, media_root=tmp_path) == classify.content_hash(
        data, media_root=tmp_path
    )
    assert TASK.encoder_input(data, media_root=tmp_path) == str(tmp_path / "a.jpg")
    with pytest.raises(InvalidInput, match="needs a 'path'"):
        TASK.encoder_input({"text": "x"})


def test_label_studio_round_trip_in_percent() -> None:
    value = [{**_box(4, 3, 10, 6), "score": 0.5}, _box(0, 0, 40, 30, "dog")]
    result = TASK.label_studio_result(SCHEMA, value, to_name="image", size=(40, 30))
    assert result[0]["type"] == "rectanglelabels"
    assert result[0]["value"]["x"] == 10.0 and result[0]["value"]["height"] == 20.0
    assert result[0]["original_width"] == 40 and result[0]["score"] == 0.5
    back = TASK.value_from_label_studio(SCHEMA, result)
    assert back is not None
    assert [{k: pytest.approx(v) if k != "label" else v for k, v in b.items()} for b in back] == [
        _box(4, 3, 10, 6),
        _box(0, 0, 40, 30, "dog"),
    ]
    assert TASK.value_from_label_studio(SCHEMA, [{"type": "choices", "value": {}}]) is None
    with pytest.raises(InvalidInput, match="region 0: 'original_width'"):
        TASK.value_from_label_studio(
            SCHEMA, [{"type": "rectanglelabels", "value": {"x": 1, "y": 1, "width": 2}}]
        )


def test_label_studio_config_is_rectangle_labels_over_an_image() -> None:
    config = TASK.label_studio_config(SCHEMA)
    assert config == (
        '<View><Image name="image" value="$image"/><RectangleLabels name="label" '
        'toName="image"><Label value="cat"/><Label value="dog"/></RectangleLabels></View>'
    )


def test_classification_targets_are_refused() -> None:
    with pytest.raises(InvalidInput, match="train a box model"):
        TASK.targets(SCHEMA, [[]])
    assert TASK.strategy_name(SCHEMA, "margin") == "box_uncertainty"
    assert TASK.strategy_name(SCHEMA, "random") == "random"
