"""Does fine-tuning MiniLM on 500 AG News labels make auto-accept at 0.98 / 0.95 possible?

Usage: python benchmarks/autoaccept_finetuned.py [--data DIR] [--cache DIR] [--seed 0]
    [--labels 500] [--max-pairs 4000] [--epochs 1] [--fresh-evidence 500] [--refit]

The random arm of ``benchmarks/autoaccept_headroom.py`` (the same ``--labels`` pool items, drawn by
``np.random.default_rng(seed)``), with the backbone fine-tuned on them first: labelloop's own
``finetune_setfit`` (SetFit contrastive pairs, capped at ``--max-pairs``) starting from the
default ``minilm-l6`` folder, then the fine-tuned body encodes the 5,600-item pool and the
2,000-item eval set. For the frozen and the fine-tuned embeddings, with the plain and the
semi-supervised head: the headroom report (out-of-fold evidence, the Learn-then-Test decision at
0.98 / 0.95, hindsight pool coverage and true precision by threshold), plus eval accuracy, true
precision of the most confident 25% / 30% of the rest of the pool, and the decision a batch of
``--fresh-evidence`` further random pool items would give (scored by the trained model, as
auto-accept scores labels that arrived after training; the backbone never saw them, unlike the
out-of-fold evidence, whose labels it was fine-tuned on).

Needs the frozen caches ``CACHE/agnews_{pool,eval}.minilm-l6.npy`` (``benchmarks/_embed_data.py``).
Writes ``CACHE/agnews_{pool,eval}.minilm-l6-ft-seed{S}.npy`` (plus a ``.json`` with the settings
and timings) and the model folder ``CACHE/minilm-l6-ft-seed{S}``; a rerun with the same settings
reuses them (``--refit`` forces a new fine-tune). Prints one JSON document.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from typing import Any

import numpy as np
from autoaccept_headroom import (
    arguments,
    arm_report,
    fit_arm,
    load_split,
    random_labels,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

COVERAGES = (0.25, 0.30)


def _finetune_and_encode(
    opts: argparse.Namespace, texts: list[str], labels: np.ndarray, tag: str
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Fine-tuned pool and eval embeddings (cached under ``tag``) and the run's settings/timings."""
    settings = {
        "labels": opts.labels,
        "seed": opts.seed,
        "max_pairs": opts.max_pairs,
        "epochs": opts.epochs,
        "batch_size": opts.batch_size,
    }
    meta_path = opts.cache / f"agnews.{tag}.json"
    pool_path = opts.cache / f"agnews_pool.{tag}.npy"
    eval_path = opts.cache / f"agnews_eval.{tag}.npy"
    if not opts.refit and meta_path.exists() and pool_path.exists() and eval_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("settings") == settings:
            meta["reused"] = True
            return np.load(pool_path), np.load(eval_path), meta

    from labelloop.backbones import DEFAULT_BACKBONE, SentenceTransformerEncoder, get_encoder
    from labelloop.learn import TrainingArgs, finetune_setfit

    base = getattr(get_encoder(DEFAULT_BACKBONE), "model_path", None)  # as training._finetune
    assert base is not None, "the default backbone has no model folder to fine-tune"
    args = TrainingArgs(
        seed=opts.seed,
        finetune_max_pairs=opts.max_pairs,
        finetune_epochs=opts.epochs,
        finetune_batch_size=opts.batch_size,
    )

    def progress(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"fine-tune step {done}/{total}", file=sys.stderr, flush=True)

    start = time.perf_counter()
    with contextlib.redirect_stdout(sys.stderr):  # SetFit prints its training log on stdout
        folder = finetune_setfit(
            texts,
            labels,
            base_model_path=base,
            out_dir=opts.cache / tag,
            args=args,
            progress=progress,
        )
    finetune_s = time.perf_counter() - start
    encoder = SentenceTransformerEncoder(folder, name=tag)
    pool_texts = load_split(opts.data, "pool")[0].text.astype(str).tolist()
    eval_texts = load_split(opts.data, "eval")[0].text.astype(str).tolist()
    start = time.perf_counter()
    pool = encoder.encode(pool_texts)
    pool_s = time.perf_counter() - start
    start = time.perf_counter()
    evals = encoder.encode(eval_texts)
    eval_s = time.perf_counter() - start
    np.save(pool_path, pool)
    np.save(eval_path, evals)
    meta = {
        "settings": settings,
        "base_model_path": str(base),
        "model_folder": str(folder),
        "seconds": {
            "finetune": round(finetune_s, 1),
            "encode_pool": round(pool_s, 1),
            "encode_eval": round(eval_s, 1),
        },
        "pool_items": len(pool_texts),
        "eval_items": len(eval_texts),
    }
    meta_path.write_text(json.dumps(meta, indent=2))
    meta["reused"] = False
    return pool, evals, meta


def _decision(conf: np.ndarray, correct: np.ndarray) -> Any:
    from labelloop.quality.autoaccept import choose_threshold

    return choose_threshold(conf, correct, target_precision=0.98, confidence=0.95)


def _hindsight(t: float | None, conf: np.ndarray, ok: np.ndarray) -> dict[str, Any]:
    """Coverage and true precision on pool items with confidence >= t (None: refused)."""
    if t is None:
        return {"pool_coverage": 0.0, "pool_precision": None}
    keep = conf >= t
    return {
        "pool_coverage": round(float(keep.mean()), 4),
        "pool_precision": round(float(ok[keep].mean()), 4) if keep.any() else None,
    }


def _decision_report(decision: Any, conf: np.ndarray, ok: np.ndarray) -> dict[str, Any]:
    errors = None
    if decision.threshold is not None and decision.estimated_precision is not None:
        errors = round(decision.n_accepted * (1 - decision.estimated_precision))
    return {
        "threshold": decision.threshold,
        "reason": decision.reason,
        "evidence": decision.n_evidence,
        "evidence_accepted": decision.n_accepted,
        "evidence_errors_accepted": errors,
        "precision_lower_bound": None
        if decision.precision_lower_bound is None
        else round(decision.precision_lower_bound, 4),
        **_hindsight(decision.threshold, conf, ok),
    }


def extras(
    model: Any,
    x: np.ndarray,
    y: np.ndarray,
    labelled: np.ndarray,
    x_eval: np.ndarray,
    y_eval: np.ndarray,
    fresh_n: int,
    seed: int,
) -> dict[str, Any]:
    """Eval accuracy, top-25% / 30% hindsight precision, decisions with their evidence counts."""
    rest = np.setdiff1d(np.arange(len(x)), labelled)
    assert model.oof_confidence is not None and model.oof_predictions is not None
    oof_conf = model.oof_confidence
    oof_ok = model.oof_predictions == y[labelled]
    probs = model.predict_proba(x[rest])
    conf, ok = probs.max(axis=1), probs.argmax(axis=1) == y[rest]
    order = np.argsort(-conf, kind="stable")
    at_coverage = []
    for share in COVERAGES:
        k = round(share * len(rest))
        cut = float(conf[order[k - 1]])
        at_coverage.append(
            {
                "coverage": share,
                "items": k,
                "confidence_cutoff": round(cut, 4),
                "pool_precision": round(float(ok[order[:k]].mean()), 4),
                "pool_errors": int((~ok[order[:k]]).sum()),
                "evidence_above_cutoff": int((oof_conf >= cut).sum()),
                "evidence_errors_above_cutoff": int((~oof_ok[oof_conf >= cut]).sum()),
            }
        )
    # further random labels after training: scored by the model itself (never fitted on them)
    fresh = np.random.default_rng([seed, 1]).choice(len(rest), fresh_n, replace=False)
    others = np.setdiff1d(np.arange(len(rest)), fresh)
    fresh_decision = _decision(conf[fresh], ok[fresh])
    return {
        "eval_accuracy": round(float((model.predict(x_eval) == y_eval).mean()), 4),
        "pool_accuracy": round(float(ok.mean()), 4),
        "oof_decision": _decision_report(_decision(oof_conf, oof_ok), conf, ok),
        "at_coverage": at_coverage,
        f"fresh_evidence_{fresh_n}": {
            "accuracy": round(float(ok[fresh].mean()), 4),
            **_decision_report(fresh_decision, conf[others], ok[others]),
        },
    }


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--max-pairs", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--fresh-evidence", type=int, default=500)
    p.add_argument("--refit", action="store_true", help="fine-tune again even if cached")
    opts = p.parse_args()

    from labelloop.quality.autoaccept import certifiable_size

    pool, names, y = load_split(opts.data, "pool")
    _, eval_names, y_eval = load_split(opts.data, "eval")
    assert eval_names == names, (eval_names, names)
    frozen = np.load(opts.cache / "agnews_pool.minilm-l6.npy")
    frozen_eval = np.load(opts.cache / "agnews_eval.minilm-l6.npy")
    labelled = random_labels(len(pool), opts.labels, np.random.default_rng(opts.seed))
    tag = f"minilm-l6-ft-seed{opts.seed}"
    texts = pool.text.astype(str).tolist()
    tuned, tuned_eval, meta = _finetune_and_encode(
        opts, [texts[i] for i in labelled], y[labelled], tag
    )
    runs: dict[str, Any] = {}
    out: dict[str, Any] = {
        "labels": opts.labels,
        "seed": opts.seed,
        "finetune": meta,
        "certifiable_size_0.98_0.95": certifiable_size(0.98, 0.95),
        "runs": runs,
    }
    embeddings = {"frozen": (frozen, frozen_eval), "finetuned": (tuned, tuned_eval)}
    for emb_name, (x, x_eval) in embeddings.items():
        for semi in (False, True):
            start = time.perf_counter()
            model = fit_arm(x, y, labelled, n_labels=len(names), semi=semi, seed=opts.seed)
            fit_s = time.perf_counter() - start
            runs[f"{emb_name}/{'semi' if semi else 'plain'}"] = {
                "fit_seconds": round(fit_s, 1),
                **extras(model, x, y, labelled, x_eval, y_eval, opts.fresh_evidence, opts.seed),
                **arm_report(model, x, y, labelled),
            }
            print(f"{emb_name}/{'semi' if semi else 'plain'} done", file=sys.stderr, flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
