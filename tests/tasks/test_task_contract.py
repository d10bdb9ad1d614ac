"""One contract every registered task type passes, on a single-label and a multi-label schema."""

from __future__ import annotations

import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from tasks_factories import make_item_data, make_pred_probs, make_schema, make_values

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.tasks import AnswerShape, Decoded, Task, Where, list_tasks, task_for

# the contract of tasks whose answer is a choice of labels (spans: tests/tasks/test_spans.py)
CHOICE_TASKS = [task for task in list_tasks() if task.tags.answer is AnswerShape.CHOICES]
CASES = [
    pytest.param((task, multi), id=f"{task.name}-{'multi' if multi else 'single'}")
    for task in CHOICE_TASKS
    for multi in (False, True)
]


@pytest.fixture(params=CASES)
def case(request: pytest.FixtureRequest) -> tuple[Task, LabelSchema]:
    task, multi = request.param
    return task, make_schema(task, multi_label=multi)


def test_satisfies_protocol_and_is_the_schemas_task(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    assert isinstance(task, Task)
    assert task_for(schema) is task
    assert task.tags.modality == schema.modality
    assert isinstance(task.widget, str) and task.widget


# -- check_answer ------------------------------------------------------------------------------


def test_good_answers_are_accepted_in_schema_order(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    for value in make_values(schema, 20, seed=1):
        assert task.check_answer(schema, list(reversed(value))) == value
        assert task.check_answer(schema, tuple(value)) == value
    assert task.check_answer(schema, schema.labels[1]) == [schema.labels[1]]


@pytest.mark.parametrize("task", CHOICE_TASKS, ids=lambda t: t.name)
def test_multi_label_answer_keeps_every_label(task: Task) -> None:
    schema = make_schema(task, multi_label=True)
    given = [schema.labels[2], schema.labels[0]]
    assert task.check_answer(schema, given) == [schema.labels[0], schema.labels[2]]


BAD = {
    "unknown": (["Weather"], "unknown label 'Weather'; the project's labels are World, Sports"),
    "empty": ([], "no label given"),
    "duplicate": (["World", "World"], "a label is given twice"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_answers_are_refused_naming_the_problem(
    case: tuple[Task, LabelSchema], kind: str
) -> None:
    task, schema = case
    value, message = BAD[kind]
    if kind == "duplicate" and not schema.multi_label:
        message = "single-label"  # two labels on a single-label project is refused first
    if kind == "empty" and schema.multi_label:  # no label applies: an answer there
        assert task.check_answer(schema, value) == []
        return
    with pytest.raises(InvalidInput, match=message) as info:
        task.check_answer(schema, value)
    assert info.value.field == "value"
    assert info.value.file is None


def test_two_labels_on_single_label_are_refused(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    two = [schema.labels[0], schema.labels[1]]
    if schema.multi_label:
        assert task.check_answer(schema, two) == two
        return
    with pytest.raises(InvalidInput, match="the project is single-label: give exactly one label"):
        task.check_answer(schema, two)


def test_import_errors_use_the_importer_wording_and_carry_where(
    case: tuple[Task, LabelSchema],
) -> None:
    task, schema = case
    where = Where("pool.csv", 12, field="label")
    expected = {
        ("Weather",): "unknown label 'Weather'",
        ("Sports", "Sports"): "single-label" if not schema.multi_label else "given twice",
    }
    if not schema.multi_label:
        expected[()] = "empty label"
        expected[("World", "Sports")] = (
            "2 labels given \\(World, Sports\\) but the project is single-label"
        )
    for value, message in expected.items():
        with pytest.raises(InvalidInput, match=message) as info:
            task.check_answer(schema, value, where=where)
        err = info.value
        assert (err.file, err.line, err.field) == ("pool.csv", 12, "label")
        assert str(err).startswith("pool.csv:12: field 'label': ")


def test_where_without_a_file_keeps_the_annotating_wording(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    if schema.multi_label:  # an empty answer is one there: no label applies
        assert task.check_answer(schema, [], where=Where(field="answer")) == []
        return
    with pytest.raises(InvalidInput, match=r"^field 'answer': no label given$") as info:
        task.check_answer(schema, [], where=Where(field="answer"))
    assert info.value.field == "answer"


# -- targets -----------------------------------------------------------------------------------


def test_targets_round_trip(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    values = make_values(schema, 30, seed=2)
    targets = task.targets(schema, values)
    assert targets.dtype == np.int64
    if schema.multi_label:
        assert targets.shape == (30, schema.n_labels)
        assert set(np.unique(targets).tolist()) <= {0, 1}
        assert targets.sum() == sum(len(v) for v in values)
    else:
        assert targets.shape == (30,)
        assert [schema.labels[i] for i in targets] == [v[0] for v in values]
    assert task.values_from_targets(schema, targets) == values


def test_targets_of_nothing_keep_their_shape(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    targets = task.targets(schema, [])
    assert targets.shape == ((0, schema.n_labels) if schema.multi_label else (0,))
    assert task.values_from_targets(schema, targets) == []


def test_targets_refuse_unknown_labels(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    with pytest.raises(InvalidInput, match="unknown label 'Weather'"):
        task.targets(schema, [["World"], ["Weather"]])


def test_values_from_targets_refuses_the_wrong_shape(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    wrong = np.zeros(3, dtype=np.int64) if schema.multi_label else np.zeros((3, 2), np.int64)
    with pytest.raises(InvalidInput, match="targets must be"):
        task.values_from_targets(schema, wrong)


# -- decode and uncertainty --------------------------------------------------------------------


def test_decode_shapes_and_confidence_range(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    pred_probs = make_pred_probs(schema, 25, seed=3)
    decoded = task.decode(schema, pred_probs)
    assert isinstance(decoded, Decoded)
    assert len(decoded.values) == 25
    assert decoded.confidence.dtype == np.float64
    assert decoded.confidence.shape == (25,)
    assert ((decoded.confidence >= 0) & (decoded.confidence <= 1)).all()
    for value in decoded.values:
        assert all(label in schema.labels for label in value)
        assert value == sorted(value, key=schema.labels.index)


def test_decode_semantics(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    pred_probs = make_pred_probs(schema, 25, seed=4)
    decoded = task.decode(schema, pred_probs)
    if schema.multi_label:
        for row, value in zip(pred_probs, decoded.values, strict=True):
            assert value == [schema.labels[j] for j in range(schema.n_labels) if row[j] >= 0.5]
        np.testing.assert_allclose(decoded.confidence, np.abs(pred_probs - 0.5).min(axis=1) * 2)
    else:
        top = pred_probs.argmax(axis=1)
        assert decoded.values == [[schema.labels[j]] for j in top]
        np.testing.assert_allclose(decoded.confidence, pred_probs.max(axis=1))


def test_decode_a_confident_row() -> None:
    schema = LabelSchema(task="text-classification", labels=["a", "b", "c"], multi_label=True)
    decoded = task_for(schema).decode(schema, np.array([[1.0, 0.0, 0.9], [0.5, 0.4, 0.6]]))
    assert decoded.values == [["a", "c"], ["a", "c"]]
    np.testing.assert_allclose(decoded.confidence, [0.8, 0.0])


def test_decode_and_uncertainty_of_no_rows(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    empty = np.zeros((0, schema.n_labels))
    decoded = task.decode(schema, empty)
    assert decoded.values == []
    assert decoded.confidence.shape == (0,)
    assert task.uncertainty(schema, empty).shape == (0,)


def test_decode_refuses_the_wrong_width(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    with pytest.raises(InvalidInput, match=f"pred_probs must be \\(n, {schema.n_labels}\\)"):
        task.decode(schema, np.full((2, schema.n_labels + 1), 0.2))


def test_uncertainty_shape_range_and_order(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    pred_probs = make_pred_probs(schema, 40, seed=5)
    scores = task.uncertainty(schema, pred_probs)
    assert scores.dtype == np.float64
    assert scores.shape == (40,)
    assert ((scores >= 0) & (scores <= 1)).all()
    # the more confident the decoded answer, the less there is to learn from it
    confidence = task.decode(schema, pred_probs).confidence
    if schema.multi_label:
        np.testing.assert_allclose(scores, 1 - confidence)
    else:
        certain = np.eye(schema.n_labels)[:1]
        tie = np.full((1, schema.n_labels), 1 / schema.n_labels)
        assert task.uncertainty(schema, certain)[0] == pytest.approx(0.0)
        assert task.uncertainty(schema, tie)[0] == pytest.approx(1.0)


def test_strategy_name(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    assert task.strategy_name(schema, "random") == "random"
    expected = "multilabel_uncertainty" if schema.multi_label else "margin"
    assert task.strategy_name(schema, "margin") == expected
    expected = "multilabel_entropy" if schema.multi_label else "entropy"
    assert task.strategy_name(schema, "entropy") == expected


# -- agree -------------------------------------------------------------------------------------


def test_agree_is_reflexive_symmetric_and_false_for_skips(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    values = make_values(schema, 15, seed=6)
    for a in values:
        assert task.agree(schema, a, a)
        assert task.agree(schema, a, list(a))
        assert not task.agree(schema, a, None)
        assert not task.agree(schema, None, a)
        for b in values:
            assert task.agree(schema, a, b) == task.agree(schema, b, a)
            assert task.agree(schema, a, b) == (a == b)  # answers are normalised
    assert not task.agree(schema, None, None)
    assert not task.agree(schema, [schema.labels[0]], [schema.labels[1]])


# -- items -------------------------------------------------------------------------------------


def test_encoder_input_and_content_hash(case: tuple[Task, LabelSchema], tmp_path: Path) -> None:
    task, _ = case
    if task.tags.modality is Modality.TEXT:
        composed = unicodedata.normalize("NFC", "café crème")
        decomposed = unicodedata.normalize("NFD", "café crème")
        assert composed != decomposed
        assert task.encoder_input({"text": decomposed}) == decomposed
        assert task.content_hash({"text": composed}) == task.content_hash(
            {"text": f" {decomposed}\n"}
        )
        assert task.content_hash({"text": "café"}) != task.content_hash({"text": "cafe"})
        return
    a = make_item_data(task, tmp_path, name="a", content="bytes one")
    same = make_item_data(task, tmp_path, name="same", content="bytes one")
    other = make_item_data(task, tmp_path, name="b", content="bytes two")
    resolved = task.encoder_input(a, media_root=tmp_path)
    assert Path(resolved) == tmp_path / a["path"]
    assert Path(resolved).read_bytes() == b"bytes one"
    assert task.encoder_input(a) == a["path"]
    absolute = {**a, "path": str(tmp_path / a["path"])}
    assert task.encoder_input(absolute, media_root=tmp_path / "elsewhere") == absolute["path"]
    digest = task.content_hash(a, media_root=tmp_path)
    assert digest == task.content_hash(same, media_root=tmp_path)
    assert digest == task.content_hash(absolute)
    assert digest != task.content_hash(other, media_root=tmp_path)
    with pytest.raises(OSError):
        task.content_hash({**a, "path": "media/missing.bin"}, media_root=tmp_path)


def test_encoder_input_names_what_is_missing(case: tuple[Task, LabelSchema]) -> None:
    task, _ = case
    missing = "'text'" if task.tags.modality is Modality.TEXT else "'path'"
    with pytest.raises(InvalidInput, match=missing) as info:
        task.encoder_input({"title": "no content"})
    assert info.value.field == "data"


# -- formats -----------------------------------------------------------------------------------


def test_label_studio_result_round_trip(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    for value in make_values(schema, 10, seed=7):
        result = task.label_studio_result(schema, value, to_name="item")
        assert all(region["to_name"] == "item" for region in result)
        assert task.value_from_label_studio(schema, result) == value
        assert task.check_answer(schema, task.value_from_label_studio(schema, result)) == value


def test_label_studio_reading_ignores_other_regions_and_refuses_bad_ones(
    case: tuple[Task, LabelSchema],
) -> None:
    task, schema = case
    assert (
        task.value_from_label_studio(schema, [{"type": "rating", "value": {"rating": 3}}]) is None
    )
    assert task.value_from_label_studio(schema, []) is None
    first, second = schema.labels[1], schema.labels[0]
    split = [
        *task.label_studio_result(schema, [first], to_name="item"),
        {"type": "rating", "value": {"rating": 3}},
        *task.label_studio_result(schema, [second, first], to_name="item"),
    ]
    assert task.value_from_label_studio(schema, split) == [first, second]  # once each, in order
    bad = [{"type": "choices", "value": {"choices": "World"}}]
    with pytest.raises(InvalidInput, match="choices must be a list of strings") as info:
        task.value_from_label_studio(schema, bad, where=Where("ls.json", 3, field="annotations"))
    assert (info.value.file, info.value.line, info.value.field) == ("ls.json", 3, "annotations")


def test_label_studio_config_is_xml_naming_every_label(case: tuple[Task, LabelSchema]) -> None:
    task, schema = case
    root = ET.fromstring(task.label_studio_config(schema, data_key="body"))
    assert root.tag == "View"
    media, choices = list(root)
    assert [c.get("value") for c in choices.iter("Choice")] == list(schema.labels)
    assert choices.get("choice") == ("multiple" if schema.multi_label else "single")
    assert choices.get("toName") == media.get("name")
    expected = {Modality.TEXT: ("Text", "body"), Modality.IMAGE: ("Image", "image"),
                Modality.AUDIO: ("Audio", "audio")}[task.tags.modality]  # fmt: skip
    assert (media.tag, media.get("name"), media.get("value")) == (*expected, f"${expected[1]}")
    # the results it writes refer to the controls of its config
    result = task.label_studio_result(schema, [schema.labels[0]], to_name=media.get("name", ""))
    assert result[0]["from_name"] == choices.get("name")


def test_hf_feature_round_trips_label_names(case: tuple[Task, LabelSchema]) -> None:
    datasets = pytest.importorskip("datasets")
    task, schema = case
    feature = task.hf_feature(schema, datasets)
    values = make_values(schema, 6, seed=8)
    features = datasets.Features({"label": feature})
    if schema.multi_label:
        rows = [{"label": [schema.labels.index(v) for v in value]} for value in values]
    else:
        rows = [{"label": schema.labels.index(value[0])} for value in values]
    ds = datasets.Dataset.from_list(rows, features=features)
    class_label = ds.features["label"]
    if schema.multi_label:
        class_label = getattr(class_label, "feature", None)
        assert isinstance(class_label, datasets.ClassLabel)
        back = [[class_label.int2str(i) for i in row["label"]] for row in ds]
    else:
        assert isinstance(class_label, datasets.ClassLabel)
        back = [[class_label.int2str(row["label"])] for row in ds]
    assert class_label.names == list(schema.labels)
    assert back == values
