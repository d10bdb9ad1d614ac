"""Export through the service layer, and import-then-export round trips in every format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labelloop
from factories import labelled_csv, write_csv
from labelloop.errors import InvalidInput
from labelloop.services.data.formats import read_records
from labelloop.services.data.formats.writers import defuse_formula
from labelloop.services.data.importing import ImportOptions

ROUND_TRIP_FORMATS = ["jsonl", "csv", "parquet", "labelstudio"]


def _snapshot(ws, name: str, tmp_path: Path) -> dict[str, tuple]:
    out = tmp_path / f"snap-{name}.jsonl"
    ws.export(name, out, format="jsonl")
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    return {
        r["id"]: (
            r["text"],
            tuple(r["label"] or ()) if r.get("label") else None,
            (r["provenance"] or {}).get("source") if r.get("provenance") else None,
            (r["provenance"] or {}).get("annotator") if r.get("provenance") else None,
        )
        for r in rows
    }


@pytest.mark.parametrize("fmt", ROUND_TRIP_FORMATS)
def test_export_then_import_gives_the_same_project(workspace, tmp_path: Path, fmt: str):
    workspace.create_project("a", labels="sports,tech,politics")
    source = labelled_csv(tmp_path / "pool.csv", 20)
    workspace.import_file(
        "a", source, ImportOptions(id_field="id", label_field="label", annotator="ann")
    )
    # leave a few items unlabelled
    workspace.import_file(
        "a",
        write_csv(tmp_path / "more.csv", [{"id": "u1", "text": "no label"}]),
        ImportOptions(id_field="id"),
    )
    out = tmp_path / f"export.{'json' if fmt == 'labelstudio' else fmt}"
    result = workspace.export("a", out, format=fmt)
    assert result.rows == 21

    workspace.create_project("b", labels="sports,tech,politics")
    options = {} if fmt == "labelstudio" else {"id_field": "id", "label_field": "label"}
    workspace.import_file("b", out, ImportOptions(format=fmt, **options))
    before, after = _snapshot(workspace, "a", tmp_path), _snapshot(workspace, "b", tmp_path)
    assert set(before) == set(after)
    for key, (text, label, _, annotator) in before.items():
        assert after[key][0] == text
        assert after[key][1] == label
        if fmt in ("jsonl", "labelstudio"):
            assert after[key][3] == annotator


def test_only_filters_by_source(sqlite_workspace, tmp_path: Path):
    ws = sqlite_workspace
    ws.create_project("a", labels="sports,tech,politics")
    ws.import_file(
        "a", labelled_csv(tmp_path / "p.csv", 9), ImportOptions(id_field="id", label_field="label")
    )
    ws.import_file(
        "a",
        write_csv(tmp_path / "u.csv", [{"id": "u", "text": "unlabelled one"}]),
        ImportOptions(id_field="id"),
    )
    assert ws.export("a", tmp_path / "all.jsonl", only="all").rows == 10
    assert ws.export("a", tmp_path / "h.jsonl", only="human").rows == 9
    assert ws.export("a", tmp_path / "acc.jsonl", only="accepted").rows == 9


def test_hf_export_loads_with_datasets(sqlite_workspace, tmp_path: Path):
    datasets = pytest.importorskip("datasets")
    ws = sqlite_workspace
    ws.create_project("a", labels="sports,tech,politics")
    ws.import_file(
        "a", labelled_csv(tmp_path / "p.csv", 9), ImportOptions(id_field="id", label_field="label")
    )
    ws.export("a", tmp_path / "hf", format="hf")
    dataset = datasets.load_from_disk(str(tmp_path / "hf"))
    assert len(dataset) == 9
    assert dataset.features["label"].names == ["sports", "tech", "politics"]


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("o.jsonl", "jsonl"), ("o.CSV", "csv"), ("o.parquet", "parquet"), ("o.json", "labelstudio")],
)
def test_export_format_follows_the_file_extension(sqlite_workspace, tmp_path: Path, name, fmt):
    sqlite_workspace.create_project("a", labels="x,y", backbone="fake")
    rows = [{"id": "1", "text": "hello", "label": "x"}, {"id": "2", "text": "world", "label": "y"}]
    sqlite_workspace.import_file(
        "a", write_csv(tmp_path / "in.csv", rows), ImportOptions(id_field="id", label_field="label")
    )
    out = tmp_path / name
    result = sqlite_workspace.export("a", out)
    assert result.format == fmt
    records = list(read_records(out, format=fmt, label_field="label"))
    assert [r.data["text"] for r in records] == ["hello", "world"]
    assert [r.annotations[0].value for r in records] == [("x",), ("y",)]


def test_an_extension_that_names_no_format_is_refused(sqlite_workspace, tmp_path: Path):
    sqlite_workspace.create_project("a", labels="x,y")
    with pytest.raises(InvalidInput, match=r"cannot tell the export format from 'o\.txt'"):
        sqlite_workspace.export("a", tmp_path / "o.txt")
    assert not (tmp_path / "o.txt").exists()


def test_bad_export_options(sqlite_workspace, tmp_path: Path):
    sqlite_workspace.create_project("a", labels="x,y")
    with pytest.raises(InvalidInput, match="unknown export format"):
        sqlite_workspace.export("a", tmp_path / "o.xml", format="xml")
    with pytest.raises(InvalidInput, match="--only"):
        sqlite_workspace.export("a", tmp_path / "o.jsonl", only="robots")


texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40
).filter(lambda t: t.strip())


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.tuples(texts, st.sampled_from(["x", "y", "z", None])), min_size=1, max_size=12
    ),
    fmt=st.sampled_from(ROUND_TRIP_FORMATS),
)
def test_round_trip_property(tmp_path_factory, rows, fmt):
    tmp = tmp_path_factory.mktemp("rt")
    ws = labelloop.open_workspace(tmp / "ws")
    try:
        ws.create_project("a", labels="x,y,z")
        ws.create_project("b", labels="x,y,z")
        data = [
            {"id": f"r{i}", "text": t, "label": label or ""} for i, (t, label) in enumerate(rows)
        ]
        ws.import_file(
            "a", write_csv(tmp / "in.csv", data), ImportOptions(id_field="id", label_field="label")
        )
        out = tmp / f"out.{'json' if fmt == 'labelstudio' else fmt}"
        ws.export("a", out, format=fmt)
        options = {} if fmt == "labelstudio" else {"id_field": "id", "label_field": "label"}
        ws.import_file("b", out, ImportOptions(format=fmt, **options))
        expected = _snapshot(ws, "a", tmp)
        if fmt == "csv":  # a CSV cell a spreadsheet would run as a formula comes back quoted
            expected = {k: (defuse_formula(t), *rest) for k, (t, *rest) in expected.items()}
        assert _snapshot(ws, "b", tmp) == expected
    finally:
        ws.close()


def test_parquet_export_with_suggestions_and_model_versions(sqlite_workspace, tmp_path: Path):
    pq = pytest.importorskip("pyarrow.parquet")
    ws = sqlite_workspace
    ws.create_project("a", labels="sports,tech,politics", backbone="fake")
    ws.import_file(
        "a", labelled_csv(tmp_path / "p.csv", 12), ImportOptions(id_field="id", label_field="label")
    )
    new = write_csv(tmp_path / "u.csv", [{"id": "u", "text": "a new match"}])
    ws.import_file("a", new, ImportOptions(id_field="id"))
    ws.train("a")
    item = ws.next_items("a", n=1, annotator="x")[0]
    ws.submit("a", item.item_id, item.suggestion.value, annotator="x")  # carries a model version
    ws.export("a", tmp_path / "out.parquet", format="parquet")
    table = pq.read_table(tmp_path / "out.parquet").to_pylist()
    accepted = next(r for r in table if r["id"] == "u")
    assert accepted["provenance"]["source"] == "model_accepted"
    assert accepted["provenance"]["model_version"] == str(ws.status("a").champion)


def test_csv_export_defuses_cells_a_spreadsheet_would_run(sqlite_workspace, tmp_path: Path):
    import csv

    ws = sqlite_workspace
    ws.create_project("a", labels=["=risky", "safe"])
    texts = ['=HYPERLINK("http://evil.example","click")', "+1+1", "-2", "@SUM(A1:A9)", "a=b"]
    rows = [{"id": f"=id{i}", "text": t, "label": "=risky"} for i, t in enumerate(texts)]
    source = write_csv(tmp_path / "in.csv", rows)
    ws.import_file(
        "a", source, ImportOptions(id_field="id", label_field="label", annotator="@mallory")
    )
    ws.export("a", tmp_path / "out.csv", format="csv")
    with (tmp_path / "out.csv").open(newline="", encoding="utf-8") as f:
        exported = list(csv.DictReader(f))
    assert [r["text"] for r in exported] == [
        "'=HYPERLINK(\"http://evil.example\",\"click\")", "'+1+1", "'-2", "'@SUM(A1:A9)", "a=b"
    ]  # fmt: skip
    assert {r["id"] for r in exported} == {f"'=id{i}" for i in range(len(texts))}
    assert {(r["label"], r["annotator"]) for r in exported} == {("'=risky", "'@mallory")}
    # JSONL (and Parquet) keep the values exactly: they are for programs, not spreadsheets
    ws.export("a", tmp_path / "out.jsonl", format="jsonl")
    lines = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["text"] for r in lines] == texts
