"""Time every query strategy choosing a batch from a large synthetic pool.

Usage: python benchmarks/strategy_speed.py [--n-items 1000000] [--batch 100] [--repeats 3]

Synthetic inputs: softmax-of-Gaussian pred_probs with k=4 and k=77 classes (float32), 384-d float32
embeddings drawn around 200 Gaussian centres, independent per-label probabilities (k=20) for the
multi-label strategies. Every item is a candidate except 1,000 random ones marked labelled
(k-center treats them as centres: its set-up costs n_candidates x 1,000 x d). Prints one
JSON document: the best-of-``repeats`` wall time per (strategy, k) in seconds.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from labelloop.active import get_strategy, list_strategies


def _make_inputs(n_items: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for k in (4, 77):
        logits = rng.standard_normal((n_items, k), dtype=np.float32) * 2.0
        logits -= logits.max(axis=1, keepdims=True)
        np.exp(logits, out=logits)
        logits /= logits.sum(axis=1, keepdims=True)
        out[f"probs{k}"] = logits
    centres = rng.standard_normal((200, 384), dtype=np.float32)
    emb = centres[rng.integers(200, size=n_items)]
    emb += 0.5 * rng.standard_normal((n_items, 384), dtype=np.float32)
    out["embeddings"] = emb
    out["multilabel"] = rng.random((n_items, 20), dtype=np.float32)
    mask = np.ones(n_items, dtype=bool)
    mask[rng.choice(n_items, min(1000, n_items // 10), replace=False)] = False
    out["candidates"] = mask
    return out


def _time(fn: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-items", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="strategy names to skip")
    args = parser.parse_args()
    data = _make_inputs(args.n_items, seed=0)
    results: dict[str, dict[str, float]] = {}
    for name in list_strategies():
        if name in args.skip:
            continue
        strategy = get_strategy(name)
        if name.startswith("multilabel"):
            variants = {"k20": data["multilabel"]}
        elif "pred_probs" in strategy.needs:
            variants = {"k4": data["probs4"], "k77": data["probs77"]}
        else:
            variants = {"-": data["probs4"]}
        results[name] = {}
        for label, probs in variants.items():
            repeats = 1 if name == "kcenter" else args.repeats

            def run(s=strategy, p=probs) -> np.ndarray:
                return s.select(
                    pred_probs=p,
                    embeddings=data["embeddings"],
                    candidates=data["candidates"],
                    n=args.batch,
                    seed=0,
                )

            results[name][label] = round(_time(run, repeats), 4)
    print(
        json.dumps(
            {
                "n_items": args.n_items,
                "batch": args.batch,
                "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
                "seconds": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
