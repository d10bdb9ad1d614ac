"""Readers deliver the items, labels and provenance a user put in the file."""

from __future__ import annotations

import json
import os
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from formats_factories import ls_task, write_csv, write_jsonl

from labelloop.errors import InvalidInput
from labelloop.services.data.formats import (
    ImportedAnnotation,
    ImportedPrediction,
    count_rows_hint,
    detect_format,
    iter_media_files,
    read_records,
)


def test_csv_gives_text_ids_labels_meta_and_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "pool.csv"
    path.write_text(
        'id,text,label,lang\n1,"hello, world",World,en\n2,"two\nlines",,de\n'
        '\n3,"say ""hi""",Sports,fr\n',
        encoding="utf-8",
    )
    records = list(read_records(path, id_field="id", label_field="label", annotator="bob"))
    assert [r.external_id for r in records] == ["1", "2", "3"]
    assert [r.line for r in records] == [2, 3, 6]
    assert records[1].data == {"text": "two\nlines", "meta": {"lang": "de"}}
    assert records[2].data["text"] == 'say "hi"'
    assert records[0].annotations == (ImportedAnnotation(("World",), "bob"),)
    assert records[1].annotations == ()


def test_csv_without_label_field_imports_no_labels(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["text", "label"], [["a", "World"]])
    (record,) = read_records(path)
    assert record.annotations == ()
    assert record.data == {"text": "a", "meta": {"label": "World"}}


def test_multi_label_cells_split_on_separator(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "p.csv", ["text", "tags"], [["a", "x, y ,z"], ["b", " , "]])
    records = list(read_records(path, label_field="tags", label_separator=","))
    assert records[0].annotations[0].value == ("x", "y", "z")
    assert records[1].annotations == ()


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\ncafé,World\n".encode())
    (record,) = read_records(path, label_field="label")
    assert record.data == {"text": "café"}


def test_tsv_is_read_with_tabs(tmp_path: Path) -> None:
    path = tmp_path / "p.tsv"
    path.write_text("text\tlabel\na, b\tWorld\n", encoding="utf-8")
    assert detect_format(path) == "tsv"
    (record,) = read_records(path, label_field="label")
    assert record.data["text"] == "a, b"
    assert record.annotations[0].value == ("World",)


def test_jsonl_labels_as_string_list_or_null(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "p.jsonl",
        [
            {"id": 5, "text": "a", "labels": ["x", "y"], "extra": {"k": 1}},
            {"id": 6, "text": "b", "labels": "x"},
            {"id": 7, "text": "c", "labels": None},
            {"id": 8, "text": "d", "labels": []},
        ],
    )
    records = list(read_records(path, id_field="id", label_field="labels"))
    assert [r.external_id for r in records] == ["5", "6", "7", "8"]
    assert records[0].data == {"text": "a", "meta": {"extra": {"k": 1}}}
    assert [r.annotations[0].value if r.annotations else None for r in records] == [
        ("x", "y"),
        ("x",),
        None,
        (),
    ]


def test_parquet_reads_batches_with_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    n = 20_000
    table = pa.table({"text": [f"t{i}" for i in range(n)], "label": ["A", None] * (n // 2)})
    pq.write_table(table, path, row_group_size=3000)
    records = list(read_records(path, label_field="label"))
    assert len(records) == n
    assert records[-1].line == n
    assert records[-1].data == {"text": f"t{n - 1}"}
    assert records[0].annotations[0].value == ("A",)
    assert count_rows_hint(path) == n


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00")


def test_folder_with_class_subfolders_labels_each_file(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    for rel in [
        "cat/1.JPG",
        "cat/2.png",
        "dog/a/3.webp",
        "dog/notes.txt",
        "top.wav",
        ".hidden.png",
    ]:
        _touch(root / rel)
    assert detect_format(root) == "folder"
    records = list(read_records(root, labels_from_subfolders=True, annotator="importer"))
    assert [r.external_id for r in records] == ["cat/1.JPG", "cat/2.png", "dog/a/3.webp", "top.wav"]
    assert records[0].data == {"path": "cat/1.JPG", "media": "image"}
    assert records[3].data == {"path": "top.wav", "media": "audio"}
    assert [r.annotations[0].value if r.annotations else None for r in records] == [
        ("cat",),
        ("cat",),
        ("dog",),
        None,
    ]
    assert records[0].annotations[0].annotator == "importer"
    assert all(r.annotations == () for r in read_records(root))


def test_folder_refuses_symlink_escaping_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _touch(root / "ok.png")
    _touch(tmp_path / "secret.png")
    os.symlink(tmp_path / "secret.png", root / "link.png")
    with pytest.raises(InvalidInput, match="outside the folder") as info:
        list(read_records(root))
    assert info.value.field == "link.png"


def test_folder_allows_symlink_inside_the_folder(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    _touch(root / "a.png")
    os.symlink(root / "a.png", root / "b.png")
    assert [rel for rel, _ in iter_media_files(root)] == ["a.png", "b.png"]


def test_label_studio_export_gives_annotations_and_predictions(tmp_path: Path) -> None:
    tasks = [
        ls_task("first", task_id=1, completed_by={"id": 3, "email": "ann@x.org"}),
        ls_task("second", task_id=2, choices=["Sports"], cancelled=True, prediction=["World"]),
        ls_task("third", task_id=3, completed_by=9, choices=None),
    ]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    assert detect_format(path) == "labelstudio"
    records = list(read_records(path))
    assert [r.external_id for r in records] == ["1", "2", "3"]
    assert records[0].data == {"text": "first", "meta": {"source_url": "http://x"}}
    assert records[0].annotations == (
        ImportedAnnotation(
            ("World",),
            "ann@x.org",
            "human",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
            12.5,
        ),
    )
    assert records[1].annotations == ()  # cancelled
    assert records[1].predictions == (ImportedPrediction(("World",), 0.9, "m1"),)
    assert records[2].annotations == ()


def test_label_studio_numeric_annotator_and_first_string_value(tmp_path: Path) -> None:
    task = {"id": 4, "data": {"n": 3, "sentence": "hi"}, "annotations": []}
    task["annotations"] = ls_task("x", completed_by=9)["annotations"]
    path = tmp_path / "e.json"
    path.write_text(json.dumps([task]))
    (record,) = read_records(path)
    assert record.data == {"text": "hi", "meta": {"n": 3}}
    assert record.annotations[0].annotator == "label-studio-user-9"
    (record,) = read_records(path, annotator="importer")
    assert record.annotations[0].annotator == "importer"


def test_count_rows_hint_is_exact_for_small_and_close_for_large(tmp_path: Path) -> None:
    small = write_csv(tmp_path / "s.csv", ["text"], [[f"row {i}"] for i in range(10)])
    assert count_rows_hint(small) == 10
    big = write_csv(tmp_path / "b.csv", ["text"], [[f"row number {i:06d}"] for i in range(50_000)])
    hint = count_rows_hint(big)
    assert hint is not None and abs(hint - 50_000) < 1000
    assert count_rows_hint(tmp_path / "missing.csv") is None


@pytest.mark.slow
def test_reading_a_large_csv_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    n = 200_000
    with path.open("w", encoding="utf-8") as f:
        f.write("text,label\n")
        for i in range(n):
            f.write(f"this is item number {i} with some words,L{i % 7}\n")
    assert path.stat().st_size > 8_000_000
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_records(path, label_field="label"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == n
    assert peak < 2_000_000, f"peak {peak} bytes: the reader holds rows in memory"
