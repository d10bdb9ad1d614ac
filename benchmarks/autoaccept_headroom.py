"""How much auto-accept could certify on AG News after 500 labels, and why it refuses.

Usage: python benchmarks/autoaccept_headroom.py [--data DIR] [--cache DIR] [--seed 0]
    [--backbone minilm-l6]

For 500 labels drawn at random and 500 chosen by margin sampling (plain logistic head, batches of
10, as a cheap stand-in for the simulator's queue), with the plain head and with the
semi-supervised one: the out-of-fold evidence auto-accept sees (accuracy, errors among the most
confident items, the Learn-then-Test decision at 0.98 / 0.95) next to what a threshold would give
on the rest of the pool *with hindsight* (coverage and true precision against the gold labels).
Needs cached embeddings ``CACHE/agnews_pool.<backbone>.npy`` (``benchmarks/_embed_data.py`` writes
the MiniLM ones). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = (0.9, 0.95, 0.98, 0.99, 0.995)


def _margin_labels(x: np.ndarray, y: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    from labelloop.learn import LogisticHead

    chosen = list(rng.choice(len(x), 10, replace=False))
    while len(chosen) < n:
        head = LogisticHead(n_labels=int(y.max()) + 1, C=10.0).fit(x[chosen], y[chosen])
        p = np.sort(head.predict_proba(x), axis=1)
        margin = p[:, -1] - p[:, -2]
        margin[chosen] = np.inf
        chosen += list(np.argsort(margin, kind="stable")[:10])
    return np.array(chosen[:n])


def load_split(data: Path, split: str = "pool") -> tuple[pd.DataFrame, list[str], np.ndarray]:
    """AG News ``split`` (``pool`` or ``eval``): the frame, sorted label names, label ids."""
    frame = pd.read_csv(data / "agnews" / f"{split}.csv")
    names = sorted(frame.label.unique())
    return frame, names, frame.label.map({c: i for i, c in enumerate(names)}).to_numpy()


def random_labels(n_pool: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """The random arm's labelled rows (the first draw of ``np.random.default_rng(seed)``)."""
    return rng.choice(n_pool, n, replace=False)


def fit_arm(
    x: np.ndarray, y: np.ndarray, labelled: np.ndarray, *, n_labels: int, semi: bool, seed: int
) -> Any:
    """The head trained on ``labelled`` rows (semi-supervised: also on the rest of ``x``)."""
    from labelloop.learn import TrainingArgs, fit_model

    rest = np.setdiff1d(np.arange(len(x)), labelled)
    return fit_model(
        x[labelled],
        y[labelled],
        n_labels=n_labels,
        args=TrainingArgs(semi_supervised=semi, seed=seed),
        unlabelled=x[rest],
    )


def arm_report(model: Any, x: np.ndarray, y: np.ndarray, labelled: np.ndarray) -> dict[str, Any]:
    """Out-of-fold evidence, the 0.98 / 0.95 decision and hindsight pool coverage / precision."""
    from labelloop.quality.autoaccept import choose_threshold

    rest = np.setdiff1d(np.arange(len(x)), labelled)
    assert model.oof_confidence is not None and model.oof_predictions is not None
    conf = model.oof_confidence
    correct = model.oof_predictions == y[labelled]
    order = np.argsort(-conf, kind="stable")
    probs = model.predict_proba(x[rest])
    pool_conf = probs.max(axis=1)
    pool_ok = probs.argmax(axis=1) == y[rest]
    decision = choose_threshold(conf, correct, target_precision=0.98, confidence=0.95)
    return {
        "oof_accuracy": round(float(correct.mean()), 4),
        "first_error_ranks": np.flatnonzero(~correct[order])[:5].tolist(),
        "decision": decision.reason or f"threshold {decision.threshold}",
        "by_threshold": [
            {
                "threshold": t,
                "evidence_above": int((conf >= t).sum()),
                "evidence_errors": int((~correct[conf >= t]).sum()),
                "pool_coverage": round(float((pool_conf >= t).mean()), 4),
                "pool_precision": round(float(pool_ok[pool_conf >= t].mean()), 4)
                if (pool_conf >= t).any()
                else None,
            }
            for t in THRESHOLDS
        ],
    }


def arguments(description: str) -> argparse.ArgumentParser:
    """The options both auto-accept scripts take: data and cache folders, seed, label count."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--cache", type=Path, default=ROOT / ".bench-cache")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--labels", type=int, default=500)
    return p


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--backbone", default="minilm-l6")
    opts = p.parse_args()

    from labelloop.quality.autoaccept import certifiable_size

    _, names, y = load_split(opts.data)
    x = np.load(opts.cache / f"agnews_pool.{opts.backbone}.npy")
    rng = np.random.default_rng(opts.seed)
    sets = {
        "random": random_labels(len(x), opts.labels, rng),
        "margin": _margin_labels(x, y, opts.labels, rng),
    }
    runs: dict[str, object] = {}
    out: dict[str, object] = {
        "labels": opts.labels,
        "backbone": opts.backbone,
        "seed": opts.seed,
        "certifiable_size_0.98_0.95": certifiable_size(0.98, 0.95),
        "runs": runs,
    }
    for set_name, labelled in sets.items():
        for semi in (False, True):
            model = fit_arm(x, y, labelled, n_labels=len(names), semi=semi, seed=opts.seed)
            runs[f"{set_name}/{'semi' if semi else 'plain'}"] = arm_report(model, x, y, labelled)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
