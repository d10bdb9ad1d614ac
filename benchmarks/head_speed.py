"""Head retraining and prediction speed (DESIGN.md targets: retrain on 10,000 labels < 1 s,
re-predict 100,000 items < 2 s).

Usage: python benchmarks/head_speed.py [--data DIR] [--cache DIR] [--repeats 3] [--out results.json]

Uses the cached MiniLM embeddings of banking77 train.csv (10,003 x 384, 77 classes) when present
(``benchmarks/_embed_data.py`` writes them), else synthetic clusters of the same shape. Compares, in
one process: LogisticHead cold, LogisticHead warm-started from a head fitted before the last 100
labels arrived, and scikit-learn's LogisticRegression (lbfgs) from scratch, all with C=10 on
L2-normalised embeddings.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def _load(data: Path, cache: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    emb = cache / "banking77_train.minilm-l6.npy"
    if emb.exists():
        import pandas as pd

        train = pd.read_csv(data / "banking77" / "train.csv")
        test = pd.read_csv(data / "banking77" / "test.csv")
        names = sorted(train.category.unique())
        ids = {c: i for i, c in enumerate(names)}
        return (
            np.load(emb)[:10_000],
            train.category.map(ids).to_numpy()[:10_000],
            np.load(cache / "banking77_test.minilm-l6.npy"),
            test.category.map(ids).to_numpy(),
            "banking77 MiniLM embeddings",
        )
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(77, 384))
    y = rng.integers(0, 77, 13_000)
    x = (centres[y] * 0.05 + rng.normal(size=(len(y), 384)) / 20).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x[:10_000], y[:10_000], x[10_000:], y[10_000:], "synthetic clusters"


def _time(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--cache", type=Path, default=ROOT / ".bench-cache")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path)
    opts = parser.parse_args()

    from sklearn.linear_model import LogisticRegression

    from labelloop.learn import LogisticHead, TrainingArgs, fit_model

    x, y, xt, yt, source = _load(opts.data, opts.cache)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    r: dict[str, object] = {
        "data": source,
        "n": len(y),
        "dim": x.shape[1],
        "classes": int(y.max()) + 1,
        "cpu_count": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    previous = LogisticHead(77, C=10.0).fit(x[:-100], y[:-100])
    cold_s, cold = _time(lambda: LogisticHead(77, C=10.0).fit(x, y), opts.repeats)
    warm_s, warm = _time(lambda: LogisticHead(77, C=10.0).fit(x, y, init=previous), opts.repeats)
    sk_s, sk = _time(
        lambda: LogisticRegression(C=10.0, max_iter=100).fit(xn, y), max(1, opts.repeats // 2)
    )
    xtn = xt / np.linalg.norm(xt, axis=1, keepdims=True)
    r |= {
        "cold_seconds": cold_s,
        "cold_iterations": cold.n_iter_,  # type: ignore[attr-defined]
        "cold_test_accuracy": float((cold.predict(xt) == yt).mean()),  # type: ignore[attr-defined]
        "warm_seconds": warm_s,
        "warm_iterations": warm.n_iter_,  # type: ignore[attr-defined]
        "warm_test_accuracy": float((warm.predict(xt) == yt).mean()),  # type: ignore[attr-defined]
        "sklearn_seconds": sk_s,
        "sklearn_test_accuracy": float((sk.predict(xtn) == yt).mean()),  # type: ignore[attr-defined]
    }
    r["sklearn_over_cold"] = sk_s / cold_s
    r["sklearn_over_warm"] = sk_s / warm_s

    # the whole training call the services layer makes: CV (5 folds), calibration, final head
    args = TrainingArgs(C=10.0)
    start = time.perf_counter()
    model0 = fit_model(x[:-100], y[:-100], n_labels=77, args=args)
    r["fit_model_cold_seconds"] = time.perf_counter() - start
    start = time.perf_counter()
    model = fit_model(x, y, n_labels=77, args=args, init=model0)
    r["fit_model_warm_seconds"] = time.perf_counter() - start
    r["fit_model_cv_accuracy"] = model.metrics.accuracy if model.metrics else None

    rng = np.random.default_rng(0)
    big = x[rng.integers(0, len(x), 100_000)] + rng.normal(0, 0.01, (100_000, x.shape[1]))
    big = big.astype(np.float32)
    r["predict_proba_100k_seconds"], _ = _time(lambda: model.predict_proba(big), opts.repeats)
    r["load_average_at_end"] = os.getloadavg()[0]
    text = json.dumps(r, indent=2)
    if opts.out:
        opts.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
