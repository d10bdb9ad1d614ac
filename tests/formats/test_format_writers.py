"""Writers: provenance in every format, atomic output, interop with datasets and Label Studio."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from formats_factories import LABELS, make_export_record, make_schema

from labelloop.errors import InvalidInput
from labelloop.services.data.formats import (
    BOX_ONLY_FORMATS,
    EXPORT_FORMATS,
    LABEL_STUDIO_CONFIG,
    MULTI_LABEL_SEPARATOR,
    SPANS_ONLY_FORMATS,
    ExportRecord,
    label_studio_config,
    write_records,
)

EXTENSION = {
    "jsonl": ".jsonl",
    "csv": ".csv",
    "parquet": ".parquet",
    "hf": "",
    "labelstudio": ".json",
}
#: The formats a classification project exports to (the span formats are tested in
#: test_span_formats.py).
LABEL_FORMATS = tuple(
    f
    for f in EXPORT_FORMATS
    if f not in (*SPANS_ONLY_FORMATS, *BOX_ONLY_FORMATS, "folders") and f != LABEL_STUDIO_CONFIG
)  # the label config holds no items (test_label_studio_interop.py, test_interop.py); boxes and
# class folders: tests/formats/test_image_formats.py


def test_csv_has_flat_provenance_columns(tmp_path: Path) -> None:
    records = [
        make_export_record(1, text='a, "b"\nc', annotator="alice", seconds=2.5, meta={"k": 1}),
        make_export_record(2, label=None),
        make_export_record(3, label=["Sports"], source="auto", annotator=None, model_version="v7"),
    ]
    out = tmp_path / "out.csv"
    assert write_records(records, out, format="csv", schema=make_schema(LABELS, False)) == 3
    with out.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "id", "item_id", "text", "label", "source", "annotator", "model_version", "seconds",
        "annotated_at", "content_hash", "meta",
    ]  # fmt: skip
    assert rows[0]["text"] == 'a, "b"\nc'
    assert (rows[0]["label"], rows[0]["annotator"], rows[0]["seconds"]) == ("World", "alice", "2.5")
    assert rows[0]["annotated_at"] == "2024-05-01T12:00:00+00:00"
    assert json.loads(rows[0]["meta"]) == {"k": 1}
    assert (rows[1]["label"], rows[1]["source"]) == ("", "")
    assert (rows[2]["source"], rows[2]["model_version"], rows[2]["annotator"]) == ("auto", "v7", "")


def test_csv_multi_label_joins_with_the_documented_separator(tmp_path: Path) -> None:
    out = tmp_path / "m.csv"
    rec = make_export_record(label=["World", "Business, Tech"])
    write_records([rec], out, format="csv", schema=make_schema(LABELS, True))
    (row,) = csv.DictReader(out.open(encoding="utf-8", newline=""))
    assert row["label"] == f"World{MULTI_LABEL_SEPARATOR}Business, Tech"
    with pytest.raises(InvalidInput, match="contains '\\|'"):
        write_records([rec], out, format="csv", schema=make_schema(["a|b"], True))


def test_jsonl_nests_provenance_history_and_suggestion(tmp_path: Path) -> None:
    sug = {"value": ["Sports"], "pred_probs": {"World": 0.2, "Sports": 0.8}, "confidence": 0.8,
           "model_version": "v1"}  # fmt: skip
    rec = make_export_record(5, annotator="bob", suggestion=sug)
    out = tmp_path / "o.jsonl"
    write_records([rec], out, format="jsonl", schema=make_schema(LABELS, False))
    (row,) = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert row["label"] == "World"
    assert row["provenance"]["annotator"] == "bob"
    assert row["history"][0]["value"] == ["World"]
    assert row["suggestion"] == sug
    assert row["item_id"] == 5


def test_parquet_label_column_is_a_list_for_multi_label(tmp_path: Path) -> None:
    out = tmp_path / "o.parquet"
    records = [make_export_record(1, label=["World", "Sports"]), make_export_record(2, label=None)]
    write_records(records, out, format="parquet", schema=make_schema(LABELS, True))
    table = pq.read_table(out)
    assert table.column("label").to_pylist() == [["World", "Sports"], None]
    assert table.column("provenance").to_pylist()[0]["source"] == "human"


@pytest.mark.parametrize("fmt", LABEL_FORMATS)
def test_failed_export_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out{EXTENSION[fmt]}"
    good = [make_export_record(i) for i in range(3)]
    write_records(good, out, format=fmt, schema=make_schema(LABELS, False))
    before = sorted(p.name for p in tmp_path.rglob("*"))

    def failing() -> Iterator[ExportRecord]:
        yield make_export_record(10)
        yield make_export_record(11, label=["Not a label"])

    with pytest.raises(InvalidInput, match="'Not a label' is not in the label schema"):
        write_records(failing(), out, format=fmt, schema=make_schema(LABELS, False))
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_single_label_project_refuses_several_labels(tmp_path: Path) -> None:
    rec = make_export_record(label=["World", "Sports"])
    with pytest.raises(InvalidInput, match="exactly one label"):
        write_records(
            [rec], tmp_path / "o.jsonl", format="jsonl", schema=make_schema(LABELS, False)
        )
    assert not (tmp_path / "o.jsonl").exists()


def test_unknown_format_and_missing_folder_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="unknown export format 'xls'"):
        write_records([], tmp_path / "o.xls", format="xls", schema=make_schema(LABELS, False))
    with pytest.raises(InvalidInput, match="does not exist"):
        write_records(
            [], tmp_path / "no" / "o.csv", format="csv", schema=make_schema(LABELS, False)
        )


@pytest.mark.parametrize("multi_label", [False, True])
def test_hf_export_loads_with_class_label_features(tmp_path: Path, multi_label: bool) -> None:
    datasets = pytest.importorskip("datasets")
    records = [
        make_export_record(1, label=["Sports", "World"] if multi_label else ["Sports"]),
        make_export_record(2, label=None),
    ]
    out = tmp_path / "hf"
    n = write_records(records, out, format="hf", schema=make_schema(LABELS, multi_label))
    assert n == 2
    ds = datasets.load_from_disk(str(out))
    label = ds.features["label"]
    class_label = label.feature if multi_label else label
    assert isinstance(class_label, datasets.ClassLabel)
    assert class_label.names == list(LABELS)
    if multi_label:
        assert ds["label"] == [[1, 0], []]
    else:
        assert ds["label"] == [1, -1]
    assert ds["annotator"] == ["alice", None]
    assert ds["source"] == ["human", None]
    assert ds["text"] == ["some text", "some text"]
    assert [p.name for p in tmp_path.iterdir()] == ["hf"]  # no cache or temp folder left


@pytest.mark.parametrize("multi_label", [False, True])
def test_label_studio_export_validates_with_label_studio_sdk(
    tmp_path: Path, multi_label: bool
) -> None:
    interface_mod = pytest.importorskip("label_studio_sdk.label_interface")
    from label_studio_sdk.types.annotation_request import AnnotationRequest
    from label_studio_sdk.types.prediction_request import PredictionRequest

    sug = {"value": ["Sports"], "pred_probs": {"Sports": 0.8, "World": 0.2}, "model_version": "v1"}
    records = [
        make_export_record(
            1,
            label=["World", "Sports"] if multi_label else ["World"],
            annotator="ann@example.org",
            suggestion=sug,
        ),
        make_export_record(2, label=None),
    ]
    out = tmp_path / "ls.json"
    write_records(records, out, format="labelstudio", schema=make_schema(LABELS, multi_label))
    tasks = json.loads(out.read_text(encoding="utf-8"))
    config = label_studio_config(make_schema(LABELS, multi_label))
    li = interface_mod.LabelInterface(config)
    li.validate()  # raises on an invalid config
    for task in tasks:
        assert task["data"]["text"] == "some text"
        assert all(task["data"].get(obj.value_name) for obj in li.objects)
    ann = tasks[0]["annotations"][0]
    assert li.validate_annotation(ann)
    assert li.validate_prediction(tasks[0]["predictions"][0], return_errors=True) == []
    assert ann["completed_by"] == {"email": "ann@example.org"}
    assert ann["lead_time"] == 3.5
    assert ann["meta"]["source"] == "human"
    AnnotationRequest.model_validate({k: v for k, v in ann.items() if k != "completed_by"})
    PredictionRequest.model_validate({**tasks[0]["predictions"][0], "task": 1})
    # A label that is not a choice of the config fails validation: the check is not vacuous.
    bad = json.loads(json.dumps(ann))
    bad["result"][0]["value"]["choices"] = ["Nope"]
    assert not li.validate_annotation(bad)
    assert tasks[1]["annotations"] == []
