"""The README's five-minute tour, on a sample of its AG News pool with the default backbone: it
must leave suggestions at least as good as the zero-shot ones it found."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.real_model, pytest.mark.slow]

DATA = Path(os.environ.get("LABELLOOP_DATA", Path(__file__).parent / "../../shared/data"))
POOL_ITEMS = 300
EVAL_ITEMS = 200


def _sample(source: Path, out: Path, n: int) -> Path:
    with source.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))[:n]
    with out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return out


def _cli(workspace: Path, *args: str) -> str:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, f"{args}: exit {proc.returncode}: {proc.stderr}"
    return proc.stdout


def test_the_readme_tour_leaves_suggestions_no_worse_than_zero_shot(tmp_path: Path):
    if not (DATA / "agnews" / "pool.csv").exists():
        pytest.skip(f"benchmark data not found at {DATA / 'agnews'}")
    pool = _sample(DATA / "agnews" / "pool.csv", tmp_path / "pool.csv", POOL_ITEMS)
    held_out = _sample(DATA / "agnews" / "eval.csv", tmp_path / "eval.csv", EVAL_ITEMS)
    ws = tmp_path / "tour"
    evaluate = ("evaluate", "news", str(held_out), "--text-field", "text", "--label-field", "label")

    _cli(ws, "project", "create", "news", "--labels", "World,Sports,Business,Sci/Tech")
    _cli(ws, "import", "news", str(pool), "--id-field", "id")
    _cli(ws, "predict", "news")
    zero_shot = json.loads(_cli(ws, *evaluate, "--json"))["accuracy"]
    _cli(ws, "next", "news", "--n", "5")
    _cli(ws, "label", "news", "17", "Sports")
    trained = json.loads(_cli(ws, "train", "news", "--json"))
    after = json.loads(_cli(ws, *evaluate, "--json"))["accuracy"]

    assert zero_shot > 0.4  # four classes: chance is 0.25
    assert after >= zero_shot, trained["reason"]
    _cli(ws, "export", "news", str(tmp_path / "out.jsonl"))
    assert (tmp_path / "out.jsonl").read_text().count("\n") == POOL_ITEMS
