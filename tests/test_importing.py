"""Import through the service layer: counts, duplicates, labels, idempotence and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import labelled_csv, topic_texts, write_csv, write_jsonl
from labelloop.errors import InvalidInput
from labelloop.services.data.importing import ImportOptions


@pytest.fixture
def news(workspace):
    workspace.create_project("news", labels="sports,tech,politics")
    return workspace


def test_import_csv_with_labels(news, tmp_path: Path):
    path = labelled_csv(tmp_path / "pool.csv", 30)
    result = news.import_file(
        "news", path, ImportOptions(id_field="id", label_field="label", annotator="alice")
    )
    assert (result.rows, result.items_added, result.annotations_added) == (30, 30, 30)
    status = news.status("news")
    assert status.items == 30
    assert status.labelled == 30
    assert status.by_source == {"human": 30, "model_accepted": 0, "auto": 0}
    assert status.label_counts == {"sports": 10, "tech": 10, "politics": 10}


def test_reimport_is_a_noop(news, tmp_path: Path):
    path = labelled_csv(tmp_path / "pool.csv", 12)
    news.import_file("news", path, ImportOptions(label_field="label"))
    again = news.import_file("news", path, ImportOptions(label_field="label"))
    assert again.already_imported
    assert news.status("news").items == 12


def test_duplicates_are_reported_and_skipped(news, tmp_path: Path):
    rows = [{"text": "same words here"}, {"text": "other words"}, {"text": "same words here"}]
    result = news.import_file("news", write_csv(tmp_path / "d.csv", rows))
    assert (result.items_added, result.duplicates) == (2, 1)
    # the same content from another file is also a duplicate
    result = news.import_file("news", write_jsonl(tmp_path / "d.jsonl", rows[:1]))
    assert (result.items_added, result.duplicates) == (0, 1)


def test_labels_arrive_later_for_known_items(news, tmp_path: Path):
    rows = [{"text": t, "label": label} for t, label in topic_texts(6)]
    news.import_file("news", write_csv(tmp_path / "a.csv", [{"text": r["text"]} for r in rows]))
    result = news.import_file(
        "news", write_csv(tmp_path / "b.csv", rows), ImportOptions(label_field="label")
    )
    assert (result.items_added, result.duplicates, result.annotations_added) == (0, 6, 6)
    assert news.status("news").labelled == 6


def test_imported_labels_take_items_out_of_the_queue(workspace, tmp_path: Path):
    from labelloop.services.quality import review

    workspace.create_project("q", labels="sports,tech,politics", backbone="fake")
    rows = [
        {"id": f"i{i}", "text": t, "label": label} for i, (t, label) in enumerate(topic_texts(8))
    ]
    unlabelled = [{"id": r["id"], "text": r["text"]} for r in rows]
    workspace.import_file(
        "q", write_csv(tmp_path / "a.csv", unlabelled), ImportOptions(id_field="id")
    )
    workspace.predict("q")
    assert len(review.list_suggestions(workspace, "q")) == 8
    workspace.import_file(
        "q",
        write_csv(tmp_path / "b.csv", rows[:3]),
        ImportOptions(id_field="id", label_field="label"),
    )
    assert len(review.list_suggestions(workspace, "q")) == 5
    queued = {it.item_id for it in workspace.next_items("q", n=8)}
    assert len(queued) == 5


def test_changed_label_keeps_history(news, tmp_path: Path):
    first = [{"id": "x", "text": "a goal for the team", "label": "sports"}]
    second = [{"id": "x", "text": "a goal for the team", "label": "politics"}]
    news.import_file(
        "news",
        write_csv(tmp_path / "1.csv", first),
        ImportOptions(id_field="id", label_field="label"),
    )
    news.import_file(
        "news",
        write_csv(tmp_path / "2.csv", second),
        ImportOptions(id_field="id", label_field="label"),
    )
    assert news.status("news").label_counts["politics"] == 1
    out = tmp_path / "out.jsonl"
    news.export("news", out, format="jsonl")
    row = json.loads(out.read_text().splitlines()[0])
    assert [h["value"] for h in row["history"]] == [["sports"], ["politics"]]


def test_multi_label_import(workspace, tmp_path: Path):
    workspace.create_project("tags", labels="red,green,blue", multi_label=True)
    rows = [{"text": "one", "label": "red,blue"}, {"text": "two", "label": "green"}]
    workspace.import_file(
        "tags",
        write_csv(tmp_path / "m.csv", rows),
        ImportOptions(label_field="label", label_separator=","),
    )
    assert workspace.status("tags").label_counts == {"red": 1, "green": 1, "blue": 1}


BAD_CASES = {
    "unknown label": (
        [{"text": "ok", "label": "sports"}, {"text": "bad", "label": "cooking"}],
        {"label_field": "label"},
        r"bad\.csv:3: field 'label': unknown label 'cooking'",
    ),
    "missing text column": (
        [{"body": "x"}],
        {},
        r"bad\.csv.*'text'.*body",
    ),
    "missing label column": (
        [{"text": "x"}],
        {"label_field": "label"},
        r"bad\.csv.*'label'",
    ),
    "empty text": (
        [{"text": "fine"}, {"text": ""}],
        {},
        r"bad\.csv:3: field 'text'.*empty",
    ),
    "two labels in a single-label project": (
        [{"text": "x", "label": "sports,tech"}],
        {"label_field": "label", "label_separator": ","},
        r"bad\.csv:2: field 'label'.*single-label",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_rows_abort_the_whole_import(news, tmp_path: Path, case: str):
    rows, options, message = BAD_CASES[case]
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(InvalidInput, match=message):
        news.import_file("news", path, ImportOptions(**options))
    status = news.status("news")
    assert (status.items, status.labelled) == (0, 0)


def test_bad_row_after_a_full_batch_leaves_nothing(news, tmp_path: Path):
    rows = [{"text": f"text {i}"} for i in range(4500)] + [{"text": ""}]
    with pytest.raises(InvalidInput, match=r":4502: field 'text'"):
        news.import_file("news", write_csv(tmp_path / "big.csv", rows))
    assert news.status("news").items == 0


def test_oversized_field(news, tmp_path: Path):
    path = write_csv(tmp_path / "big.csv", [{"text": "x" * 2000}])
    with pytest.raises(InvalidInput, match="field 'text'"):
        news.import_file("news", path, ImportOptions(max_field_bytes=1000))
    assert news.status("news").items == 0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty"),
        ("latin.csv", "text\ncaf\xe9 cr\xe8me\n".encode("latin-1"), "UTF-8"),
        ("data.xlsx", b"PK..", "format"),
        ("broken.jsonl", b'{"text": "ok"}\n{"text": \n', r"broken\.jsonl:2"),
    ],
)
def test_unreadable_files(news, tmp_path: Path, name: str, content: bytes, message: str):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InvalidInput, match=message):
        news.import_file("news", path)
    assert news.status("news").items == 0


def test_missing_file(news, tmp_path: Path):
    with pytest.raises(InvalidInput, match="no such file"):
        news.import_file("news", tmp_path / "nope.csv")


def test_same_text_twice_in_one_file_keeps_the_later_label(news, tmp_path: Path):
    rows = [{"id": "a", "text": "one goal", "label": "sports"},
            {"id": "b", "text": "one goal", "label": "tech"}]  # fmt: skip
    options = ImportOptions(id_field="id", label_field="label")
    result = news.import_file("news", write_csv(tmp_path / "d.csv", rows), options)
    assert (result.items_added, result.duplicates) == (1, 1)
    assert news.status("news").label_counts == {"sports": 0, "tech": 1, "politics": 0}
    out = tmp_path / "o.jsonl"
    news.export("news", out)
    row = json.loads(out.read_text())
    assert row["label"] == "tech"
    assert [h["value"] for h in row["history"]] == [["sports"], ["tech"]]
