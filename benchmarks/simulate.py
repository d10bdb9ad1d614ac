"""Active-learning and auto-accept benchmark: `labelloop simulate` on AG News and banking77.

Usage:
    python benchmarks/simulate.py agnews    [--data DIR] [--out DIR] [--strategies random,margin]
                                            [--seeds 3] [--budget 500] [--batch-size 10] ...
    python benchmarks/simulate.py banking77 [--budget 1000] ...
    python benchmarks/simulate.py merge DIR_A DIR_B[:strategy] ... --out DIR   (separate runs)

The simulation's embedding cache is pre-filled from the MiniLM matrices that
``benchmarks/_embed_data.py`` wrote to ``.bench-cache/`` (rows in CSV order), so no text is
encoded again; only the zero-shot label prompts go through the real backbone. Prints the summary
JSON on stdout and writes ``results.json`` + ``learning_curve.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
DATASETS = {
    # name: (pool file, eval file, text field, label field, npy pool, npy eval, default budget)
    "agnews": ("agnews/pool.csv", "agnews/eval.csv", "text", "label",
               "agnews_pool", "agnews_eval", 500),
    "banking77": ("banking77/train.csv", "banking77/test.csv", "text", "category",
                  "banking77_train", "banking77_test", 1000),
}  # fmt: skip


class _Lookup:
    """An encoder that serves precomputed rows by content hash (fails loudly on a miss)."""

    def __init__(self, name: str, rows: dict[str, np.ndarray], dim: int) -> None:
        from labelloop.schema import Modality

        self.name, self.dim, self.modality, self.rows = name, dim, Modality.TEXT, rows

    def encode(self, inputs, *, batch_size: int = 64, progress=None) -> np.ndarray:
        from labelloop.tasks import text_hash

        out = np.stack([self.rows[text_hash(str(t))] for t in inputs]).astype(np.float32)
        if progress is not None:
            progress(len(inputs))
        return out


def prefill(cache_dir: Path, backbone: str, pairs: list[tuple[Path, Path, str]]) -> None:
    """Store the rows of each ``(csv, npy, text_field)`` in the embedding cache at ``cache_dir``."""
    from labelloop.backbones import EmbeddingCache
    from labelloop.tasks import text_hash

    cache = EmbeddingCache(cache_dir)
    for csv_path, npy_path, field in pairs:
        with csv_path.open(newline="", encoding="utf-8") as f:
            texts = [row[field] for row in csv.DictReader(f)]
        matrix = np.load(npy_path)
        if len(texts) != len(matrix):
            sys.exit(f"{npy_path} has {len(matrix)} rows but {csv_path} has {len(texts)}")
        hashes = [text_hash(t) for t in texts]
        encoder = _Lookup(backbone, dict(zip(hashes, matrix, strict=True)), matrix.shape[1])
        cache.embed(encoder, texts, hashes)


def merge(folders: list[Path], out: Path) -> dict:
    """Merge the results.json of runs made in separate processes (e.g. one per seed)."""
    from labelloop.services.simulate.curves import _plot, summarise

    # FOLDER:strategy takes only that strategy's runs from FOLDER
    parts = [(Path(str(f).split(":")[0]), str(f).partition(":")[2] or None) for f in folders]
    loaded = [json.loads((f / "results.json").read_text()) for f, _ in parts]
    runs: dict[str, list[dict]] = {}
    for payload, (_, only) in zip(loaded, parts, strict=True):
        for name, detail in payload["strategies"].items():
            if only is None or name == only:
                runs.setdefault(name, []).extend(detail["runs"])
    summary = dict(loaded[0]["summary"])
    strategies = {}
    detail = {}
    for name, records in runs.items():
        records.sort(key=lambda r: r["seed"])
        means, stds = summarise([r["metrics"] for r in records])
        strategies[name] = means
        detail[name] = {"mean": means, "std": stds, "runs": records}
    summary["strategies"] = strategies
    summary["seconds"] = sum(p["summary"]["seconds"] for p in loaded)
    out.mkdir(parents=True, exist_ok=True)
    summary["results"] = str(out / "results.json")
    summary["plot"] = str(_plot(runs, summary["ceiling_accuracy"], out / "learning_curve.png"))
    config = {**loaded[0]["config"], "merged_from": [str(f) for f in folders]}
    payload = {"config": config, "summary": summary, "strategies": detail}
    (out / "results.json").write_text(json.dumps(payload, indent=1))
    return summary


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "merge":  # merge OUT_1 OUT_2 ... --out DIR
        split = argv.index("--out")
        summary = merge([Path(a) for a in argv[1:split]], Path(argv[split + 1]))
        print(json.dumps(summary, indent=1))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", choices=sorted(DATASETS))
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--bench-cache", type=Path, default=ROOT / ".bench-cache")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--strategies", default="random,margin")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--initial", type=int, default=0)
    parser.add_argument("--noise", type=float, default=0.0)
    parser.add_argument("--review-batch", type=int, default=200)
    parser.add_argument("--review-strategy", default="random", help="'same': keep the strategy")
    parser.add_argument("--fixed-c-after", type=int, default=100)
    parser.add_argument("--no-end-to-end", action="store_true")
    parser.add_argument("--end-to-end-strategies", default=None,
                        help="comma-separated; default: every strategy")  # fmt: skip
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(asctime)s %(message)s")
    logging.getLogger("labelloop.services").setLevel(logging.INFO)

    from labelloop.services.simulate.curves import SimulationConfig, simulate

    pool, evals, text, label, npy_pool, npy_eval, budget = DATASETS[args.dataset]
    out = args.out or ROOT / ".bench-cache" / f"simulate-{args.dataset}"
    cache_dir = args.bench_cache / "sim-embeddings"
    prefill(cache_dir, "minilm-l6", [
        (args.data / pool, args.bench_cache / f"{npy_pool}.minilm-l6.npy", text),
        (args.data / evals, args.bench_cache / f"{npy_eval}.minilm-l6.npy", text),
    ])  # fmt: skip
    config = SimulationConfig(
        pool=args.data / pool, eval=args.data / evals, out=out, text_field=text,
        label_field=label, strategies=tuple(args.strategies.split(",")), seeds=args.seeds,
        first_seed=args.first_seed,
        budget=args.budget or budget, batch_size=args.batch_size, initial=args.initial,
        noise=args.noise, backbone="minilm-l6", end_to_end=not args.no_end_to_end,
        end_to_end_strategies=tuple(args.end_to_end_strategies.split(","))
        if args.end_to_end_strategies else None,
        review_batch=args.review_batch,
        review_strategy=None if args.review_strategy == "same" else args.review_strategy,
        fixed_C_after=args.fixed_c_after, cache_dir=cache_dir,
    )  # fmt: skip
    start = time.perf_counter()
    summary = simulate(config)
    print(json.dumps(summary.model_dump(mode="json"), indent=1))
    print(f"total {time.perf_counter() - start:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
