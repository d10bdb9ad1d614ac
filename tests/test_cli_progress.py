"""The CLI's progress reporter: periodic plain lines when piped, true totals when a stage ends,
and what a long command prints through it in a real (piped) subprocess."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from factories import labelled_csv
from labelloop.cli._progress import Reporter


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def piped(interval: float = 15.0) -> tuple[Reporter, io.StringIO, Clock]:
    buffer = io.StringIO()
    clock = Clock()
    console = Console(file=buffer, force_terminal=False, soft_wrap=True)
    return Reporter(console, live=False, interval=interval, clock=clock), buffer, clock


def test_piped_lines_each_tenth_and_the_total_at_the_end():
    reporter, buffer, clock = piped()
    with reporter:
        advance = reporter.stage("embedding", 5600)
        for _ in range(5600 // 100):
            clock.now += 0.5
            advance(100)
    lines = buffer.getvalue().splitlines()
    # a line per tenth passed (9: reaching the total prints the end line instead)
    assert len(lines) == 10, lines
    assert lines[0] == "embedding 600/5,600 items (200/s)"  # the first tenth is 560
    assert all(re.fullmatch(r"embedding [\d,]+/5,600 items \([\d.,]+/s\)", x) for x in lines[:9])
    assert lines[-1] == "embedding: 5,600 items in 28.0 s (200/s)"


def test_piped_lines_on_time_when_the_total_is_unknown():
    reporter, buffer, clock = piped(interval=10.0)
    with reporter:
        advance = reporter.stage("importing", None, unit="rows")
        for _ in range(25):
            clock.now += 1.0
            advance(40)
    assert buffer.getvalue().splitlines() == [
        "importing 400 rows (40/s)",
        "importing 800 rows (40/s)",
        "importing: 1,000 rows in 25.0 s (40/s)",
    ]


def test_a_new_stage_ends_the_last_and_empty_stages_print_nothing():
    reporter, buffer, clock = piped()
    with reporter:
        reporter.stage("embedding labelled items", 3)(3)
        reporter.stage("embedding unlabelled items", 0)
        clock.now += 2.0
        reporter.stage("fitting the head", None)
        clock.now += 1.5
    assert buffer.getvalue().splitlines() == [
        "embedding labelled items: 3 items in 0.0 s",
        "fitting the head: 1.5 s",
    ]


def test_a_late_advance_of_an_ended_stage_is_ignored():
    reporter, buffer, _ = piped()
    with reporter:
        first = reporter.stage("a", 10)
        reporter.stage("b", 10)(10)
        first(10)
    assert buffer.getvalue().splitlines() == ["a: 0 items in 0.0 s", "b: 10 items in 0.0 s"]


def test_a_failed_command_prints_no_total():
    reporter, buffer, _ = piped()
    try:
        with reporter:
            reporter.stage("embedding", 10)(5)
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert "embedding:" not in buffer.getvalue()


def test_live_bar_on_a_terminal_ends_each_stage_with_its_total():
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, width=100)
    with Reporter(console, live=True) as reporter:
        advance = reporter.stage("embedding", 200)
        advance(120)
        advance(80)
    text = buffer.getvalue()
    assert "embedding: 200 items in" in text


def _cli(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def test_piped_predict_and_train_show_periodic_lines_and_true_totals(tmp_path: Path):
    ws = tmp_path / "ws"
    pool = labelled_csv(tmp_path / "pool.csv", 300)
    _cli(ws, "project", "create", "news", "--labels", "sports,tech,politics", "--backbone", "fake")
    imported = _cli(ws, "import", "news", str(pool), "--id-field", "id").stderr
    assert "importing: 300 rows in" in imported

    first = _cli(ws, "predict", "news").stderr.splitlines()
    # the fake backbone embeds in batches of 64: a line per tenth passed, then the total
    assert "embedding 64/300 items" in first[0]
    assert any(line.startswith("embedding: 300 items in") for line in first)
    assert first[-1].startswith("300 suggestions from model version 1 (zero-shot); ")
    assert "300 items embedded, 0 from the cache" in first[-1]

    again = _cli(ws, "predict", "news").stderr.splitlines()
    assert not any(line.startswith("embedding ") for line in again)  # all cached: no periodic
    assert "300 items embedded, 300 from the cache" in again[-1]

    labelled = labelled_csv(tmp_path / "labels.csv", 30)
    _cli(ws, "import", "news", str(labelled), "--id-field", "id", "--label-field", "label")
    trained = _cli(ws, "train", "news").stderr
    assert "embedding labelled items: 30 items in" in trained
    assert "fitting the head: " in trained
    assert "suggesting: 270 items in" in trained  # the promoted head refreshes the suggestions
