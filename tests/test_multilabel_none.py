"""Multi-label "no label applies": an empty answer is a label (not a skip), from an import
(JSONL ``[]``, a CSV cell ``[]``) and from the CLI (``label --none``); it trains as a row of
zeros and exports so that it imports back the same."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factories import write_csv, write_jsonl
from labelloop import ImportOptions
from labelloop.cli import app
from labelloop.errors import InvalidInput

LABELS = ["sports", "tech", "politics"]


def _rows(n: int = 24) -> list[dict]:
    words = ["football match", "new phone", "election vote", "quiet weather"]
    answers = [["sports"], ["tech"], ["politics"], []]  # the weather is none of them
    return [
        {"id": f"r{i}", "text": f"{words[i % 4]} story {i}", "label": answers[i % 4]}
        for i in range(n)
    ]


def test_jsonl_and_csv_import_an_empty_answer_as_none_applies(workspace, tmp_path: Path):
    workspace.create_project("m", labels=LABELS, multi_label=True, backbone="fake")
    path = write_jsonl(tmp_path / "in.jsonl", _rows())
    result = workspace.import_file("m", path, ImportOptions(id_field="id", label_field="label"))
    assert result.annotations_added == 24
    status = workspace.status("m")
    assert status.labelled == 24  # the six weather items are labelled, with no label
    assert status.label_counts == {"sports": 6, "tech": 6, "politics": 6}

    trained = workspace.train("m")  # all-zero target rows train like any other
    assert trained.n_labels == 24

    workspace.export("m", tmp_path / "out.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert sum(row["label"] == [] for row in exported) == 6

    workspace.export("m", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text().count(",[],") == 6
    workspace.create_project("copy", labels=LABELS, multi_label=True, backbone="fake")
    again = workspace.import_file(
        "copy", tmp_path / "out.csv", ImportOptions(id_field="id", label_field="label")
    )
    assert again.annotations_added == 24 and workspace.status("copy").labelled == 24


def test_an_empty_csv_cell_stays_unlabelled_and_single_label_refuses_none(
    sqlite_workspace, tmp_path: Path
):
    ws = sqlite_workspace
    ws.create_project("m", labels=LABELS, multi_label=True, backbone="fake")
    path = write_csv(
        tmp_path / "in.csv",
        [{"text": "a vote", "label": "politics"}, {"text": "rain", "label": "[]"},
         {"text": "unread", "label": ""}],
    )  # fmt: skip
    ws.import_file("m", path, ImportOptions(label_field="label"))
    assert ws.status("m").labelled == 2 and ws.status("m").items == 3

    ws.create_project("single", labels=LABELS, backbone="fake")
    with pytest.raises(InvalidInput, match=r"in\.csv:3: field 'label': empty label"):
        ws.import_file("single", path, ImportOptions(label_field="label"))
    assert ws.status("single").items == 0


def test_cli_label_none(sqlite_workspace, tmp_path: Path):
    ws = sqlite_workspace
    ws.create_project("m", labels=LABELS, multi_label=True, backbone="fake")
    ws.import_file("m", write_csv(tmp_path / "p.csv", [{"text": "rain"}, {"text": "a goal"}]))
    ws.predict("m")
    item = ws.next_items("m", n=1)[0].item_id
    runner = CliRunner()
    folder = str(ws.path)
    done = runner.invoke(app, ["-w", folder, "label", "m", str(item), "--none", "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["value"] == []
    assert ws.status("m").labelled == 1

    both = runner.invoke(app, ["-w", folder, "label", "m", str(item), "sports", "--none"])
    neither = runner.invoke(app, ["-w", folder, "label", "m", str(item)])
    for result in (both, neither):  # run_app maps InvalidInput to exit code 2
        assert isinstance(result.exception, InvalidInput), result.output
        assert "give a label, or --none" in str(result.exception)
    ws.create_project("single", labels=LABELS, backbone="fake")
    ws.import_file("single", write_csv(tmp_path / "s.csv", [{"text": "rain"}]))
    ws.predict("single")
    single = ws.next_items("single", n=1)[0].item_id
    refused = runner.invoke(app, ["-w", folder, "label", "single", str(single), "--none"])
    assert isinstance(refused.exception, InvalidInput)
    assert "no label given" in str(refused.exception)
    assert ws.status("single").labelled == 0
