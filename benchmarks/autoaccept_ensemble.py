"""Auto-accept on AG News after 500 random labels with several frozen backbones at once.

Usage: python benchmarks/autoaccept_ensemble.py [--data DIR] [--cache DIR] [--seeds 0,1,2]
    [--backbones minilm-l6,e5-small-multilingual,mpnet-base] [--labels 500] [--show 0]

For each backbone alone, for the mean of their heads' probabilities and for one head on their
concatenated embeddings (plain logistic heads, labelloop's defaults): accuracy on the rest of the
pool, the true precision of its most confident 10% / 25% / 35% *with hindsight* (against the gold
labels), the out-of-fold evidence above the threshold that covers 25% (count, errors) and the
Learn-then-Test decision at 0.98 / 0.95 on that evidence. ``errors_top25`` counts the mean model's
mistakes in its most confident quarter by (gold -> predicted) label; ``--show N`` prints N of them
to stderr, so one can read whether the model or the gold label is wrong.

Embeddings are read from ``CACHE/agnews_pool.<backbone>.npy`` and computed there when missing
(``mpnet-base`` takes about 10 minutes for the 5,600 texts on 2 cores). Prints one JSON document.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from autoaccept_headroom import arguments, load_split, random_labels

os.environ.setdefault("HF_HUB_OFFLINE", "1")
COVERAGES = (0.10, 0.25, 0.35)


def _embeddings(cache: Path, backbone: str, texts: list[str]) -> np.ndarray:
    path = cache / f"agnews_pool.{backbone}.npy"
    if not path.exists():
        from labelloop.backbones import get_encoder

        cache.mkdir(parents=True, exist_ok=True)
        emb = np.asarray(get_encoder(backbone).encode(texts), dtype=np.float32)
        np.save(path.with_suffix(".tmp.npy"), emb)
        path.with_suffix(".tmp.npy").rename(path)
    return np.load(path)


def _probs(x: np.ndarray, y: np.ndarray, train: np.ndarray, target: np.ndarray) -> np.ndarray:
    from labelloop.learn import LogisticHead

    head = LogisticHead(n_labels=int(y.max()) + 1).fit(x[train], y[train])
    return head.predict_proba(x[target])


def _out_of_fold(x: np.ndarray, y: np.ndarray, labelled: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    out = np.zeros((len(labelled), int(y.max()) + 1))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    for train, test in folds.split(labelled, y[labelled]):
        out[test] = _probs(x, y, labelled[train], labelled[test])
    return out


def _report(
    probs: np.ndarray, oof: np.ndarray, y_rest: np.ndarray, y_labelled: np.ndarray
) -> dict[str, Any]:
    from labelloop.quality.autoaccept import choose_threshold

    conf, ok = probs.max(axis=1), probs.argmax(axis=1) == y_rest
    order = np.argsort(-conf, kind="stable")
    row: dict[str, Any] = {"accuracy": round(float(ok.mean()), 4)}
    for coverage in COVERAGES:
        top = order[: int(coverage * len(order))]
        row[f"precision_top{round(coverage * 100)}"] = round(float(ok[top].mean()), 4)
    t25 = conf[order[int(0.25 * len(order))]]
    evidence_conf = oof.max(axis=1)
    evidence_ok = oof.argmax(axis=1) == y_labelled
    above = evidence_conf >= t25
    errors = int((~evidence_ok[above]).sum())
    row["evidence_above_top25"] = {"n": int(above.sum()), "errors": errors}
    decision = choose_threshold(evidence_conf, evidence_ok, target_precision=0.98, confidence=0.95)
    row["decision"] = decision.reason or f"threshold {decision.threshold}"
    return row


def main() -> None:
    p = arguments(__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--backbones", default="minilm-l6,e5-small-multilingual,mpnet-base")
    p.add_argument("--show", type=int, default=0, help="print this many top-quarter errors")
    opts = p.parse_args()

    frame, names, y = load_split(opts.data)
    texts = frame.text.astype(str).tolist()
    backbones = opts.backbones.split(",")
    x = {b: _embeddings(opts.cache, b, texts) for b in backbones}
    unit = [v / np.linalg.norm(v, axis=1, keepdims=True) for v in x.values()]
    x["concat"] = np.hstack(unit)
    results: dict[str, dict[int, Any]] = {}
    errors: dict[int, dict[str, int]] = {}
    for seed in (int(s) for s in opts.seeds.split(",")):
        labelled = random_labels(len(y), opts.labels, np.random.default_rng(seed))
        rest = np.setdiff1d(np.arange(len(y)), labelled)
        probs = {name: _probs(v, y, labelled, rest) for name, v in x.items()}
        oof = {name: _out_of_fold(v, y, labelled, seed) for name, v in x.items()}
        probs["mean"] = np.mean([probs[b] for b in backbones], axis=0)
        oof["mean"] = np.mean([oof[b] for b in backbones], axis=0)
        for name in probs:
            report = _report(probs[name], oof[name], y[rest], y[labelled])
            results.setdefault(name, {})[seed] = report
        conf = probs["mean"].max(axis=1)
        top = np.argsort(-conf, kind="stable")[: int(0.25 * len(rest))]
        wrong = [i for i in top if probs["mean"][i].argmax() != y[rest[i]]]
        pairs = Counter(f"{names[y[rest[i]]]} -> {names[probs['mean'][i].argmax()]}" for i in wrong)
        errors[seed] = dict(pairs.most_common())
        for i in wrong[: opts.show]:
            gold, said = names[y[rest[i]]], names[probs["mean"][i].argmax()]
            print(f"seed {seed} gold={gold} model={said} {conf[i]:.3f} | {texts[rest[i]][:120]}",
                  file=sys.stderr)  # fmt: skip
    out = {"labels": opts.labels, "backbones": backbones, "results": results,
           "errors_top25": errors}  # fmt: skip
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
