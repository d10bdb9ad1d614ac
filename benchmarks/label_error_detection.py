"""Label-error detection through the QA service, with injected noise on real data.

Usage: python benchmarks/label_error_detection.py [DATA_DIR] [--cache DIR] [--seeds 0 1 2]

Same protocol as ``benchmarks/label_errors.py`` (AG News pool with 10% of labels flipped to a
random other class, banking77 train with 5%, the same flips per seed), but run end to end through
the services a user runs: a fresh workspace per seed whose embedding cache is pre-filled from
``.bench-cache/<set>.minilm-l6.npy`` (rows in CSV order, keyed by the item's content hash), import
of the noisy labels, ``train`` (the champion's own head and C), then
``services.quality.qa.after_training`` (cleanlab over out-of-fold pred_probs of that head) and,
as the baseline, ``qa.label_issues(method="low_confidence")`` (given label's probability < 0.5).
Precision and recall of the flagged set against the flipped items, mean +- std over seeds. The
datasets carry label errors of their own, which count as false positives, so precision is a lower
bound. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from labelloop.services.data.importing import ImportOptions

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "agnews": ("agnews/pool.csv", "label", "agnews_pool", 0.10),
    "banking77": ("banking77/train.csv", "category", "banking77_train", 0.05),
}
BACKBONE = "minilm-l6"


def _flip(y: np.ndarray, rate: float, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The flips of benchmarks/label_errors.py: same seed, same items, same new labels."""
    rng = np.random.default_rng(seed)
    flipped = np.zeros(y.size, dtype=bool)
    flipped[rng.choice(y.size, round(rate * y.size), replace=False)] = True
    noisy = y.copy()
    noisy[flipped] = (noisy[flipped] + rng.integers(1, k, flipped.sum())) % k
    return noisy, flipped


def _prefill(ws, texts: list[str], embeddings: np.ndarray) -> None:
    from labelloop.backbones._chunks import backbone_lock, write_chunk
    from labelloop.tasks import text_hash

    folder = ws.artifacts.embeddings / BACKBONE
    folder.mkdir(parents=True, exist_ok=True)
    keys = np.array([text_hash(t).encode() for t in texts], dtype="S")
    with backbone_lock(folder, exclusive=True):
        write_chunk(folder, keys, np.ascontiguousarray(embeddings, dtype=np.float32))


def _pr(flagged: set[int], flipped: set[int]) -> tuple[float, float, int]:
    hit = len(flagged & flipped)
    return hit / max(len(flagged), 1), hit / max(len(flipped), 1), len(flagged)


def run_one(
    data_dir: Path, cache: Path, name: str, seed: int
) -> dict[str, tuple[float, float, int]]:
    import labelloop
    from labelloop.services.quality import qa

    rel, column, cache_name, rate = SETS[name]
    frame = pd.read_csv(data_dir / rel)
    texts = frame["text"].astype(str).tolist()
    y_true, classes = pd.factorize(frame[column], sort=True)
    noisy, flipped = _flip(np.asarray(y_true), rate, len(classes), seed)
    embeddings = np.load(cache / f"{cache_name}.minilm-l6.npy")
    with tempfile.TemporaryDirectory() as tmp:
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        try:
            _prefill(ws, texts, embeddings)
            ws.create_project("bench", labels=[str(c) for c in classes], backbone=BACKBONE)
            rows = pd.DataFrame(
                {
                    "id": [f"r{i}" for i in range(len(texts))],
                    "text": texts,
                    "label": [str(classes[j]) for j in noisy],
                }
            )
            path = Path(tmp) / "noisy.csv"
            rows.to_csv(path, index=False)
            ws.import_file("bench", path, ImportOptions(id_field="id", label_field="label"))
            ws.train("bench")
            issues = qa.after_training(ws, "bench")
            baseline = qa.label_issues(ws, "bench", method="low_confidence")
        finally:
            ws.close()
    flipped_ids = {f"r{i}" for i in np.flatnonzero(flipped)}
    return {
        "labelloop qa (after_training)": _pr({i.external_id for i in issues.issues}, flipped_ids),
        "baseline p(given) < 0.5": _pr({i.external_id for i in baseline.issues}, flipped_ids),
    }


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--cache", default=str(ROOT / ".bench-cache"))
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--sets", nargs="*", default=list(SETS))
    args = parser.parse_args()
    out: dict[str, dict] = {}
    for name in args.sets:
        runs: dict[str, list[tuple[float, float, int]]] = {}
        start = time.perf_counter()
        for seed in args.seeds:
            for method, result in run_one(
                Path(args.data_dir), Path(args.cache), name, seed
            ).items():
                runs.setdefault(method, []).append(result)
        out[name] = {
            "seconds_per_seed": round((time.perf_counter() - start) / len(args.seeds), 1),
            **{
                method: {
                    "precision": _mean_std([r[0] for r in rs]),
                    "recall": _mean_std([r[1] for r in rs]),
                    "n_flagged": float(np.mean([r[2] for r in rs])),
                }
                for method, rs in runs.items()
            },
        }
    print(json.dumps({"seeds": args.seeds, "results": out}, indent=2))


if __name__ == "__main__":
    main()
