"""The few-shot protocol through the CLI, as a user runs it: import, train, evaluate.

Usage: python benchmarks/few_shot_cli.py banking77|agnews [--seeds 0] [--shots 8] [--data DIR]
    [--workdir DIR] [--set KEY=VALUE ...]

Per seed: one project holding the whole pool (banking77 train.csv / AG News pool.csv), of which
``shots`` items per class carry their label (the rest are unlabelled, as in a real project);
``labelloop train`` then ``labelloop evaluate`` on the held-out file (test.csv / eval.csv). Project
settings are the defaults unless ``--set`` says otherwise (e.g. ``--set semi_supervised=off``).
Prints one JSON document with the accuracy per seed, mean and std.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "banking77": ("banking77/train.csv", "banking77/test.csv", "category"),
    "agnews": ("agnews/pool.csv", "agnews/eval.csv", "label"),
}


def _cli(workspace: Path, *args: str) -> dict:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    exe = Path(sys.executable).parent / "labelloop"
    proc = subprocess.run([str(exe), *args, "--json"], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"labelloop {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", choices=sorted(FILES))
    p.add_argument("--seeds", default="0")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--set", dest="settings", action="append", default=[])
    opts = p.parse_args()
    pool_file, test_file, column = FILES[opts.dataset]
    pool = pd.read_csv(opts.data / pool_file)
    labels = sorted(pool[column].unique())
    work = opts.workdir or Path(tempfile.mkdtemp(prefix="labelloop-fewshot-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in [int(s) for s in opts.seeds.split(",")]:
        rng = np.random.default_rng(seed)
        keep = np.concatenate(
            [
                rng.choice(np.flatnonzero(pool[column].to_numpy() == c), opts.shots, replace=False)
                for c in labels
            ]
        )
        frame = pd.DataFrame({"id": np.arange(len(pool)), "text": pool.text, "label": ""})
        frame.loc[keep, "label"] = pool[column].to_numpy()[keep]
        ws = work / f"{opts.dataset}-s{seed}"
        csv = work / f"{opts.dataset}-s{seed}.csv"
        frame.to_csv(csv, index=False)
        start = time.perf_counter()
        _cli(ws, "project", "create", "p", "--labels", ",".join(labels))
        for setting in opts.settings:
            _cli(ws, "project", "set", "p", "--set", setting)
        _cli(ws, "import", "p", str(csv), "--id-field", "id", "--label-field", "label",
             "--annotator", "gold")  # fmt: skip
        setup = time.perf_counter() - start
        trained = _cli(ws, "train", "p")
        train_seconds = time.perf_counter() - start - setup
        scored = _cli(ws, "evaluate", "p", str(opts.data / test_file),
                      "--text-field", "text", "--label-field", column)  # fmt: skip
        runs.append(
            {
                "seed": seed,
                "accuracy": scored["accuracy"],
                "macro_f1": scored["macro_f1"],
                "n": scored["n"],
                "model_version": trained["model_version"],
                "cv_accuracy": trained["metrics"]["accuracy"],
                "import_and_embed_seconds": round(setup, 1),
                "train_seconds": round(train_seconds, 1),
            }
        )
        print(json.dumps(runs[-1]), file=sys.stderr, flush=True)
    accs = [r["accuracy"] for r in runs]
    summary = {
        "dataset": opts.dataset,
        "shots": opts.shots,
        "settings": opts.settings,
        "runs": runs,
        "mean": statistics.mean(accs),
        "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
    }
    sys.stdout.write(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
