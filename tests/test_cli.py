"""The CLI as a user runs it: a real subprocess, JSON on stdout, one-line errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factories import labelled_csv, write_csv


def run(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def test_project_import_status_export(tmp_path: Path):
    ws = tmp_path / "ws"
    created = json.loads(
        run(ws, "project", "create", "news", "--labels", "sports,tech,politics", "--json").stdout
    )
    assert created["labels"] == ["sports", "tech", "politics"]
    pool = labelled_csv(tmp_path / "pool.csv", 30)
    imported = json.loads(
        run(
            ws,
            "import",
            "news",
            str(pool),
            "--id-field",
            "id",
            "--label-field",
            "label",
            "--annotator",
            "alice",
            "--json",
        ).stdout
    )
    assert imported["items_added"] == 30
    status = json.loads(run(ws, "status", "news", "--json").stdout)
    assert status == {
        "project": "news",
        "task": "text-classification",
        "backbone": "minilm-l6",
        "items": 30,
        "labelled": 30,
        "by_source": {"human": 30, "model_accepted": 0, "auto": 0},
        "label_counts": {"sports": 10, "tech": 10, "politics": 10},
        "champion": None,
        "suggestions": 0,
    }
    listed = json.loads(run(ws, "project", "list", "--json").stdout)
    assert [p["name"] for p in listed] == ["news"]
    out = tmp_path / "out.csv"
    exported = json.loads(run(ws, "export", "news", str(out), "--format", "csv", "--json").stdout)
    assert exported["rows"] == 30
    assert out.read_text().count("\n") >= 31


def test_bad_input_exits_nonzero_with_one_line(tmp_path: Path):
    ws = tmp_path / "ws"
    run(ws, "project", "create", "news", "--labels", "sports,tech")
    bad = write_csv(
        tmp_path / "bad.csv", [{"text": "ok", "label": "sports"}, {"text": "x", "label": "cooking"}]
    )
    proc = run(ws, "import", "news", str(bad), "--label-field", "label", check=False)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "bad.csv:3" in lines[0] and "'label'" in lines[0] and "cooking" in lines[0]
    assert proc.stdout == ""
    status = json.loads(run(ws, "status", "news", "--json").stdout)
    assert status["items"] == 0


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["status", "nope"], 3, "no project named 'nope'"),
        (["project", "create", "news", "--labels", "a"], 2, "at least two labels"),
        (["export", "nope", "x.jsonl"], 3, "no project"),
    ],
)
def test_errors_have_exit_codes(tmp_path: Path, args, code, needle):
    proc = run(tmp_path / "ws", *args, check=False)
    assert proc.returncode == code
    assert needle in proc.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["train", "--bogus"], "No such option: --bogus"),
        (["next", "news", "--n", "abc"], "Invalid value for '--n'"),
        (["label", "news"], "Missing argument 'item_id'"),
        (["nocmd"], "No such command 'nocmd'"),
        (["project", "create", "news", "--multi-label=maybe"], "--multi-label"),
        (["qa", "gold"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(tmp_path: Path, args, needle):
    proc = run(tmp_path / "ws", *args, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[0].startswith("error: ") and needle in lines[0], lines
    assert len(lines) <= 2 and (len(lines) == 1 or lines[1].startswith("Try 'labelloop"))
    assert proc.stdout == ""
    assert not (tmp_path / "ws").exists() or not list((tmp_path / "ws").iterdir())


def test_label_studio_export_names_annotators_as_the_users_file_maps_them(tmp_path: Path):
    ws = tmp_path / "ws"
    run(ws, "project", "create", "news", "--labels", "sports,tech,politics")
    pool = labelled_csv(tmp_path / "pool.csv", 6)
    run(ws, "import", "news", str(pool), "--id-field", "id", "--label-field", "label",
        "--annotator", "alice")  # fmt: skip
    users = tmp_path / "users.json"
    users.write_text(json.dumps({"alice": "alice@example.com"}))
    out = tmp_path / "ls.json"
    run(ws, "export", "news", str(out), "--label-studio-users", str(users))
    annotations = [a for t in json.loads(out.read_text()) for a in t["annotations"]]
    assert len(annotations) == 6
    assert all(a["completed_by"] == {"email": "alice@example.com"} for a in annotations)

    for content, needle in [
        ("[1, 2]", "not a JSON object"),
        ("{not json", "not a JSON object"),
        ('{"alice": "nobody"}', "a Label Studio user is an e-mail"),
    ]:
        users.write_text(content)
        proc = run(ws, "export", "news", str(tmp_path / "bad.json"), "--label-studio-users",
                   str(users), check=False)  # fmt: skip
        assert proc.returncode == 2 and needle in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and not (tmp_path / "bad.json").exists()


def test_label_takes_a_box_answer_as_json(tmp_path: Path):
    from PIL import Image

    ws, images = tmp_path / "ws", tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(images / "red.png")
    run(ws, "project", "create", "det", "--task", "image-boxes", "--labels", "cat,dog")
    run(ws, "import", "det", str(images))
    box = {"x": 2, "y": 3, "w": 20, "h": 10, "label": "dog"}

    stored = json.loads(run(ws, "label", "det", "1", json.dumps([box]), "--json").stdout)
    assert stored["value"] == [{k: float(v) if k != "label" else v for k, v in box.items()}]

    bad = run(ws, "label", "det", "1", '[{"x": 2,', check=False)
    assert bad.returncode == 2
    assert "looks like JSON but is not" in bad.stderr
    outside = run(ws, "label", "det", "1", json.dumps([{**box, "w": 200}]), check=False)
    assert outside.returncode == 2 and "outside the 64 x 48 image" in outside.stderr
