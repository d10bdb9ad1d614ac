"""Encoding throughput: labelloop's default backbone against plain sentence-transformers.

Usage:
    python benchmarks/encode_throughput.py [--data ../shared/data] [--n 2000] [--repeats 3]
        [--batch-size 64] [--backbones minilm-l6,minilm-l6-int8,...] [--out result.json]

For each dataset (AG News pool, banking77 train; the first N texts of each) it times, in one process
and alternating so machine load hits both alike:

- ``SentenceTransformer.encode(texts, batch_size=B, normalize_embeddings=True)`` (the baseline),
- ``get_encoder("minilm-l6").encode(texts, batch_size=B)`` on the same model object,

``--repeats`` times each, and reports the median texts/s and the ratio (ours / plain). Then it
times an :class:`EmbeddingCache` first call (computes) and second call (all cached). Other backbones
named with ``--backbones`` are timed once each. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATASETS = {"agnews": ("agnews/pool.csv", "text"), "banking77": ("banking77/train.csv", "text")}


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _bench_dataset(texts: list[str], repeats: int, batch_size: int) -> dict[str, Any]:
    from labelloop.backbones import EmbeddingCache, get_encoder

    encoder = get_encoder("minilm-l6")
    model = encoder.model  # type: ignore[attr-defined]
    plain_s: list[float] = []
    ours_s: list[float] = []
    max_diff = 0.0
    for _ in range(repeats):
        t_plain, plain = _timed(
            lambda: model.encode(
                texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False
            )
        )
        t_ours, ours = _timed(lambda: encoder.encode(texts, batch_size=batch_size))
        plain_s.append(t_plain)
        ours_s.append(t_ours)
        max_diff = max(max_diff, float(np.abs(plain - ours).max()))
    n = len(texts)
    plain_rate = n / statistics.median(plain_s)
    ours_rate = n / statistics.median(ours_s)
    hashes = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    with tempfile.TemporaryDirectory(dir=ROOT / ".bench-cache") as tmp:
        cache = EmbeddingCache(tmp)
        t_first, _ = _timed(lambda: cache.embed(encoder, texts, hashes, batch_size=batch_size))
        t_second, _ = _timed(lambda: cache.embed(encoder, texts, hashes, batch_size=batch_size))
    return {
        "n": n,
        "mean_chars": round(float(np.mean([len(t) for t in texts])), 1),
        "plain_st_texts_per_s": round(plain_rate, 1),
        "labelloop_texts_per_s": round(ours_rate, 1),
        "ratio_labelloop_over_plain": round(ours_rate / plain_rate, 3),
        "plain_st_seconds": [round(s, 2) for s in plain_s],
        "labelloop_seconds": [round(s, 2) for s in ours_s],
        "max_abs_diff": max_diff,
        "cache_first_call_s": round(t_first, 2),
        "cache_second_call_s": round(t_second, 4),
        "cache_second_call_texts_per_s": round(n / t_second, 0),
    }


def _bench_other(name: str, texts: list[str], batch_size: int) -> dict[str, Any]:
    from labelloop.backbones import get_encoder
    from labelloop.errors import MissingDependency

    try:
        t_load, encoder = _timed(lambda: get_encoder(name))
    except MissingDependency as exc:
        return {"skipped": str(exc)}
    encoder.encode(texts[:8])  # warm-up
    t_enc, _ = _timed(lambda: encoder.encode(texts, batch_size=batch_size))
    return {"load_s": round(t_load, 1), "texts_per_s": round(len(texts) / t_enc, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=2000, help="texts per dataset")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--backbones", default="", help="comma-separated extra backbones to time")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    args = parser.parse_args()

    import torch

    from labelloop.backbones import get_encoder

    (ROOT / ".bench-cache").mkdir(exist_ok=True)
    t_load, _ = _timed(lambda: get_encoder("minilm-l6"))
    summary: dict[str, Any] = {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "load_avg_start": os.getloadavg()[0],
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "minilm_load_s": round(t_load, 1),
        "datasets": {},
        "other_backbones": {},
    }
    texts_by_set: dict[str, list[str]] = {}
    for name, (rel, column) in DATASETS.items():
        frame = pd.read_csv(args.data / rel)
        texts = frame[column].astype(str).tolist()[: args.n]
        texts_by_set[name] = texts
        summary["datasets"][name] = _bench_dataset(texts, args.repeats, args.batch_size)
    for name in filter(None, args.backbones.split(",")):
        summary["other_backbones"][name] = {
            ds: _bench_other(name, texts, args.batch_size) for ds, texts in texts_by_set.items()
        }
    summary["machine"]["load_avg_end"] = os.getloadavg()[0]
    text = json.dumps(summary, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
