"""Label Studio interop (issue 18): a task list as Label Studio 1.x exports it imports, and our
export is read by label-studio-sdk (its config parser, its models, its converter).

The fixture follows Label Studio's export serializer (data_export/serializers.py): a task's
``predictions`` and ``drafts`` are primary keys unless the export expands them, an annotation's
``completed_by`` is the user's id unless expanded to ``{id, email, first_name, last_name}``, and
every model field of the annotation comes along (``prediction``, ``result_count``,
``parent_prediction``, ...).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from formats_factories import make_export_record, make_schema, make_span_schema

from labelloop.services.data.formats import read_records, write_records
from labelloop.services.data.formats.writers import label_studio_config

LABELS = ("Positive", "Negative", "Neutral")


def ls_result(choices: list[str], *, region_id: Any = "6GlTNF7Rqa") -> list[dict[str, Any]]:
    return [
        {
            "value": {"choices": choices},
            "id": region_id,
            "from_name": "label",
            "to_name": "text",
            "type": "choices",
            "origin": "manual",
        }
    ]


def ls_annotation(
    task_id: int, choices: list[str], completed_by: Any, *, annotation_id: int = 1
) -> dict[str, Any]:
    """An annotation as Label Studio 1.x exports it (every field of its model)."""
    return {
        "id": annotation_id,
        "completed_by": completed_by,
        "result": ls_result(choices),
        "was_cancelled": False,
        "ground_truth": False,
        "created_at": "2024-03-05T10:11:12.345678Z",
        "updated_at": "2024-03-05T10:11:12.345700Z",
        "draft_created_at": None,
        "lead_time": 7.25,
        "prediction": {},
        "result_count": 0,
        "unique_id": "0b5f8f3e-1d6c-4f4e-9a55-6a8c7d0e9b21",
        "import_id": None,
        "last_action": None,
        "bulk_created": False,
        "task": task_id,
        "project": 3,
        "updated_by": completed_by if isinstance(completed_by, int) else completed_by["id"],
        "parent_prediction": None,
        "parent_annotation": None,
        "last_created_by": None,
    }


def ls_prediction(task_id: int, choices: list[str], *, prediction_id: int) -> dict[str, Any]:
    """A prediction as an expanded export holds it."""
    return {
        "id": prediction_id,
        "result": ls_result(choices, region_id=prediction_id * 10),  # an integer region id
        "model_version": "sentiment-v2",
        "created_ago": "2 hours",
        "score": 0.83,
        "cluster": None,
        "neighbors": None,
        "mislabeling": 0.0,
        "created_at": "2024-03-05T08:00:00.000000Z",
        "updated_at": "2024-03-05T08:00:00.000000Z",
        "model": None,
        "model_run": None,
        "task": task_id,
        "project": 3,
    }


def ls_task(task_id: int, text: str, **fields: Any) -> dict[str, Any]:
    """A task as Label Studio 1.x exports it; ``fields`` replace the defaults."""
    task = {
        "id": task_id,
        "annotations": [],
        "file_upload": "4d3c2b1a-reviews.csv",
        "drafts": [],
        "predictions": [],
        "data": {"text": text, "review_id": 1000 + task_id, "stars": 4},
        "meta": {},
        "created_at": "2024-03-05T07:59:00.000000Z",
        "updated_at": "2024-03-05T10:11:12.400000Z",
        "inner_id": task_id,
        "total_annotations": len(fields.get("annotations", [])),
        "cancelled_annotations": 0,
        "total_predictions": len(fields.get("predictions", [])),
        "comment_count": 0,
        "unresolved_comment_count": 0,
        "last_comment_updated_at": None,
        "project": 3,
        "updated_by": 1,
        "comment_authors": [],
    }
    task.update(fields)
    return task


def real_export() -> list[dict[str, Any]]:
    user = {"id": 2, "email": "bea@example.org", "first_name": "Bea", "last_name": "K"}
    return [
        # the default export: predictions and drafts as primary keys, completed_by an id
        ls_task(11, "Great battery life.", annotations=[ls_annotation(11, ["Positive"], 1)],
                predictions=[51], drafts=[7]),
        # completed_by expanded to the user (export with annotations.completed_by expanded)
        ls_task(12, "Screen cracked in a week.",
                annotations=[ls_annotation(12, ["Negative"], user, annotation_id=2)],
                predictions=[ls_prediction(12, ["Negative"], prediction_id=52)]),
        # no annotation yet, an expanded prediction only
        ls_task(13, "It is a phone.",
                predictions=[ls_prediction(13, ["Neutral"], prediction_id=53)]),
    ]  # fmt: skip


def config(schema_labels: tuple[str, ...] = LABELS) -> str:
    return label_studio_config(make_schema(schema_labels))


def test_real_label_studio_export_is_what_label_studio_sdk_reads(tmp_path: Path) -> None:
    interface = pytest.importorskip("label_studio_sdk.label_interface")
    from label_studio_sdk.converter import Converter
    from label_studio_sdk.types import Annotation, Prediction

    tasks = real_export()
    li = interface.LabelInterface(config())
    for task in tasks:
        for ann in task["annotations"]:
            assert li.validate_annotation(ann)
            if isinstance(ann["completed_by"], int):
                Annotation.model_validate(ann)
        for pred in task["predictions"]:
            if isinstance(pred, dict):
                Prediction.model_validate(pred)
                assert li.validate_prediction(pred, return_errors=True) == []
    path = tmp_path / "project-3-at-2024-03-05.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    # Label Studio's own converter reads the fixture as one of its exports
    Converter(config(), project_dir=None, download_resources=False).convert_to_json_min(
        str(path), str(tmp_path / "min"), is_dir=False
    )
    rows = json.loads((tmp_path / "min" / "result.json").read_text(encoding="utf-8"))
    assert [(r["id"], r.get("label"), r["annotator"]) for r in rows] == [
        (11, "Positive", 1),
        (12, "Negative", "bea@example.org"),
        (13, None, None),
    ]


def test_real_label_studio_export_imports(tmp_path: Path) -> None:
    path = tmp_path / "project-3-at-2024-03-05.json"
    path.write_text(json.dumps(real_export()), encoding="utf-8")
    records = list(read_records(path, schema=make_schema(LABELS)))
    assert [r.external_id for r in records] == ["11", "12", "13"]
    assert records[0].data == {
        "text": "Great battery life.",
        "meta": {"review_id": 1011, "stars": 4},
    }
    first, second, third = records
    assert [(a.value, a.annotator, a.seconds) for a in first.annotations] == [
        (("Positive",), "label-studio-user-1", 7.25)
    ]
    assert first.annotations[0].created_at is not None
    assert first.predictions == ()  # a primary key names a prediction the file does not hold
    assert [(a.value, a.annotator) for a in second.annotations] == [
        (("Negative",), "bea@example.org")
    ]
    assert [(p.value, p.score, p.model_version) for p in second.predictions] == [
        (("Negative",), 0.83, "sentiment-v2")
    ]
    assert (third.annotations, [p.value for p in third.predictions]) == ((), [("Neutral",)])


def test_a_real_span_export_imports(tmp_path: Path) -> None:
    text = "Anna flew to Berlin."
    region = {"id": "x1", "from_name": "label", "to_name": "text", "type": "labels",
              "origin": "manual",
              "value": {"start": 13, "end": 19, "text": "Berlin", "labels": ["LOC"]}}  # fmt: skip
    ann = {**ls_annotation(21, [], 4), "result": [region]}
    task = ls_task(21, text, annotations=[ann], predictions=[61, 62])
    path = tmp_path / "spans.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    (record,) = read_records(path, schema=make_span_schema())
    assert record.annotations[0].value == ({"start": 13, "end": 19, "label": "LOC"},)
    assert record.annotations[0].annotator == "label-studio-user-4"
    assert record.predictions == ()


# -- our export, read by Label Studio's tools ----------------------------------------------------


def our_export(tmp_path: Path, **options: Any) -> tuple[Path, list[dict[str, Any]]]:
    schema = make_schema(("World", "Sports"))
    sug = {"value": ["Sports"], "pred_probs": {"World": 0.3, "Sports": 0.7}, "confidence": 0.7,
           "model_version": 4}  # fmt: skip
    records = [
        make_export_record(1, text="a match", label=["Sports"], annotator="ann@example.org"),
        make_export_record(2, text="a summit", label=["World"], annotator="bob"),
        make_export_record(3, text="a goal", label=None, suggestion=sug),
    ]
    out = tmp_path / "ls.json"
    write_records(records, out, format="labelstudio", schema=schema, **options)
    return out, json.loads(out.read_text(encoding="utf-8"))


def test_our_export_carries_task_ids_that_the_converter_needs(tmp_path: Path) -> None:
    pytest.importorskip("label_studio_sdk.converter")
    from label_studio_sdk.converter import Converter

    out, tasks = our_export(tmp_path)
    assert [t["id"] for t in tasks] == [1, 2, 3]  # labelloop's item ids
    converter = Converter(
        label_studio_config(make_schema(("World", "Sports"))),
        project_dir=None,
        download_resources=False,
    )
    converter.convert_to_csv(str(out), str(tmp_path / "csv"), is_dir=False, sep=",")
    with (tmp_path / "csv" / "result.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted((r["id"], r["text"], r["label"]) for r in rows) == [
        ("1", "a match", "Sports"),
        ("2", "a summit", "World"),
        ("3", "a goal", ""),  # unlabelled
    ]
    by_id = {r["id"]: r["annotator"] for r in rows}
    assert by_id["1"] == "ann@example.org"


def test_annotators_map_to_label_studio_users(tmp_path: Path) -> None:
    pytest.importorskip("label_studio_sdk")
    from label_studio_sdk.types import AnnotationRequest

    users = {"bob": 7, "ann@example.org": "ann@studio.example.org"}
    _, tasks = our_export(tmp_path, label_studio_users=users)
    first, second = (t["annotations"][0] for t in tasks[:2])
    assert first["completed_by"] == {"email": "ann@studio.example.org"}
    assert second["completed_by"] == 7
    assert second["meta"]["annotator"] == "bob"  # the name is kept
    AnnotationRequest.model_validate(second)  # what Label Studio's API takes
    # without a mapping only e-mail names are named (Label Studio refuses unknown users)
    _, plain = our_export(tmp_path)
    assert "completed_by" not in plain[1]["annotations"][0]
    assert plain[0]["annotations"][0]["completed_by"] == {"email": "ann@example.org"}


def test_an_identity_that_is_no_email_or_id_is_refused(tmp_path: Path) -> None:
    from labelloop.errors import InvalidInput

    with pytest.raises(InvalidInput, match=r"'bob'.*e-mail address or a user id"):
        our_export(tmp_path, label_studio_users={"bob": "Bob B."})
    assert not (tmp_path / "ls.json").exists()


def test_our_export_reimports_with_its_own_ids(tmp_path: Path) -> None:
    out, _ = our_export(tmp_path)
    records = list(read_records(out, schema=make_schema(("World", "Sports"))))
    assert [r.external_id for r in records] == ["ext-1", "ext-2", "ext-3"]
