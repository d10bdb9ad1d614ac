"""Bad input stops at the first bad row with a message naming file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from labelloop.errors import InvalidInput
from labelloop.services.data.formats import read_records

# (file name, content, read_records options, message part, line, field)
CASES: list[tuple[str, str | bytes, dict[str, Any], str, int | None, str | None]] = [
    ("unbalanced.csv", 'text,label\nok,A\n"never closed,A\nmore,B\n', {}, "never closed", 3, None),
    (
        "columns.csv",
        "text,label\na,A\nb,B,extra\n",
        {},
        "has 3 columns but the header has 2",
        3,
        None,
    ),
    ("latin1.csv", "text\nok\ncaf\xe9\n".encode("latin-1"), {}, "not valid UTF-8", 3, None),
    (
        "missing.csv",
        "body,label\na,A\n",
        {},
        "no text column 'text'; the columns are: 'body', 'label'",
        1,
        "text",
    ),
    (
        "noid.csv",
        "text\na\n",
        {"id_field": "id"},
        "no id column 'id'; the columns are: 'text'",
        1,
        "id",
    ),
    ("nolabel.csv", "text\na\n", {"label_field": "y"}, "no label column 'y'", 1, "y"),
    ("empty_text.csv", "text,label\na,A\n  ,B\n", {}, "text is empty", 3, "text"),
    ("big.csv", "text\n" + "x" * 200 + "\n", {"max_field_bytes": 100}, "over 100 bytes", 2, "text"),
    ("bigmb.csv", "text\n" + "é" * 600_000 + "\n", {}, "over 1 MB", 2, "text"),
    (
        "bigcell.csv",
        "text,note\nok," + "x" * 200 + "\n",
        {"max_field_bytes": 100},
        "over 100 bytes",
        2,
        "note",
    ),
    ("empty.csv", "", {}, "file is empty", None, None),
    ("header_only.csv", "text,label\n", {}, "no rows", 1, None),
    (
        "dup.csv",
        "id,text\n1,a\n2,b\n1,c\n",
        {"id_field": "id"},
        "duplicate id '1' (first seen on line 2)",
        4,
        "id",
    ),
    ("emptyid.csv", "id,text\n,a\n", {"id_field": "id"}, "id is empty", 2, "id"),
    ("bad.jsonl", '{"text": "a"}\n{"text": "b",}\n', {}, "invalid JSON", 2, None),
    ("array.jsonl", '{"text": "a"}\n["text"]\n', {}, "must be a JSON object, got list", 2, None),
    (
        "notext.jsonl",
        '{"text": "a"}\n{"body": "b"}\n',
        {},
        "no field 'text'; the fields are: body",
        2,
        "text",
    ),
    ("nonstr.jsonl", '{"text": 5}\n', {}, "text must be a string", 1, "text"),
    (
        "labeltype.jsonl",
        '{"text": "a", "y": {"a": 1}}\n',
        {"label_field": "y"},
        "label must be a string or a list",
        1,
        "y",
    ),
    (
        "dup.jsonl",
        '{"i": 1, "text": "a"}\n\n{"i": 1, "text": "b"}\n',
        {"id_field": "i"},
        "first seen on line 1",
        3,
        "i",
    ),
    ("blank.jsonl", "\n\n", {}, "no rows", None, None),
    ("bad.json", '[{"data": {"text": "a"}}, {"data": ', {}, "invalid JSON", 2, None),
    ("obj.json", '{"data": {"text": "a"}}', {}, "JSON list of tasks", None, None),
    ("nodata.json", '[{"text": "a"}]', {}, "'data' object", 1, None),
    (
        "notext.json",
        '[{"data": {"n": 1}}]',
        {},
        "task data has no text; its keys are: n",
        1,
        "text",
    ),
    ("none.json", "[]", {}, "holds no tasks", None, None),
]


@pytest.mark.parametrize(("name", "content", "options", "message", "line", "field"), CASES)
def test_bad_input_names_file_line_and_field(
    tmp_path: Path,
    name: str,
    content: str | bytes,
    options: dict[str, Any],
    message: str,
    line: int | None,
    field: str | None,
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InvalidInput) as info:
        list(read_records(path, **options))
    err = info.value
    assert message in err.reason
    assert (err.file, err.line, err.field) == (str(path), line, field)
    assert str(err).startswith(str(path))


def test_rows_before_the_bad_one_are_delivered_first(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("text\na\nb\n \n", encoding="utf-8")
    records = read_records(path)
    assert next(records).data == {"text": "a"}
    assert next(records).data == {"text": "b"}
    with pytest.raises(InvalidInput, match="text is empty"):
        next(records)


def test_path_not_found_and_unknown_extension_fail_before_reading(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="file not found") as info:
        read_records(tmp_path / "nope.csv")
    assert info.value.file == str(tmp_path / "nope.csv")
    odd = tmp_path / "data.xlsx"
    odd.write_bytes(b"PK")
    with pytest.raises(InvalidInput, match=r"unknown file type '\.xlsx'.*\.csv"):
        read_records(odd)
    with pytest.raises(InvalidInput, match="unknown import format 'xml'"):
        read_records(odd, format="xml")


def test_explicit_format_overrides_the_extension(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text(json.dumps({"text": "a"}) + "\n")
    assert [r.data for r in read_records(path, format="jsonl")] == [{"text": "a"}]


def test_parquet_missing_column_lists_columns(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"body": ["a"]}), path)
    with pytest.raises(InvalidInput, match="no text column 'text'; the columns are: 'body'"):
        list(read_records(path))


def test_parquet_empty_text_names_row(tmp_path: Path) -> None:
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"text": ["a", "b", ""]}), path)
    with pytest.raises(InvalidInput) as info:
        list(read_records(path))
    assert (info.value.line, info.value.field) == (3, "text")


def test_empty_folder_says_what_it_looks_for(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(InvalidInput, match=r"no image or audio files.*\.png"):
        list(read_records(tmp_path))


def test_invalid_source_in_a_labelloop_export_is_named(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("text,label,source,annotator,annotated_at,content_hash\na,A,robot,,,h\n")
    with pytest.raises(InvalidInput, match="unknown source 'robot'") as info:
        list(read_records(path, label_field="label"))
    assert (info.value.line, info.value.field) == (2, "source")
