"""CoNLL-2003 learning curves for span projects (issue 20).

The pool is CoNLL-2003 train (a seeded sample of ``--pool`` sentences), the held-out set is test;
entity F1 is strict (seqeval, IOB2). For each candidate (spaCy's recogniser resumed on the labels,
MiniLM token classification) and each strategy (random sentences, or the model's MNLP ranking
after each step, the first step ranked by the mapped pre-trained recogniser), labels grow through
``--sizes``; each step refits from the pre-trained starting point on every label so far.

With ``--autoaccept`` the spaCy candidate also runs the product's sentence-level auto-accept at
each size: 3-fold out-of-fold predictions on the labelled sentences calibrate the sentence
confidence and are the Learn-then-Test evidence; for each of ``--targets`` the chosen threshold is
applied to the unlabelled rest of the pool (what the product would accept) and to the test
sentences, and the accepted sentences' measured precision (exact span sets) and coverage are
reported beside it.

    python benchmarks/ner_curves.py --candidate spacy-finetuned --seeds 0 1 2 --autoaccept
    python benchmarks/ner_curves.py --candidate minilm-tokens --seeds 0 1 2
    python benchmarks/ner_curves.py --strategies random --sizes 200 1000 --autoaccept \
        --targets 0.8 0.9 0.95

Prints one JSON object per line (one per run and size), then a summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

LABELS = ["PER", "LOC", "ORG", "MISC"]


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL-2003 file: (words, IOB tags), ``-DOCSTART-`` skipped."""
    sentences, words, tags = [], [], []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("-DOCSTART-"):
            if words:
                sentences.append((words, tags))
                words, tags = [], []
            continue
        parts = line.split()
        words.append(parts[0])
        tags.append(parts[-1])
    if words:
        sentences.append((words, tags))
    return sentences


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--candidate", default="spacy-finetuned",
                        choices=["spacy-finetuned", "minilm-tokens"])  # fmt: skip
    parser.add_argument("--strategies", nargs="+", default=["random", "mnlp"])
    parser.add_argument("--sizes", nargs="+", type=int, default=[50, 100, 200, 500, 1000])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--pool", type=int, default=4000, help="pool sentences sampled from train")
    parser.add_argument("--test", type=int, default=0, help="test sentences (0: all)")
    parser.add_argument("--autoaccept", action="store_true")
    parser.add_argument("--targets", nargs="+", type=float, default=[0.95])
    args = parser.parse_args()

    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    from labelloop.learn.spans import (
        Candidate,
        Sentence,
        SpacySpanModel,
        SpanArgs,
        TransformerSpanModel,
        cross_validate_spans,
    )
    from labelloop.learn.spans.model import SentenceCalibrator
    from labelloop.quality.autoaccept import choose_threshold
    from labelloop.services.models.spans import sequence_priority
    from labelloop.tasks.spans import from_bio, to_bio

    root = args.data / "conll2003"
    train = read_conll(root / "train.txt")
    test = read_conll(root / "test.txt")
    if args.test:
        test = test[: args.test]

    def sentence(words: list[str]) -> Sentence:
        return Sentence(tuple(words), tuple([True] * (len(words) - 1) + [False]))

    def unit(n: int) -> list[tuple[int, int]]:  # token i as the "characters" [i, i + 1)
        return [(i, i + 1) for i in range(n)]

    def spans(tags: list[str]) -> list[tuple[int, int, str]]:
        return [(s["start"], s["end"], s["label"]) for s in from_bio(unit(len(tags)), tags)]

    def tags_of(n: int, token_spans: list[tuple[int, int, str]]) -> list[str]:
        return to_bio(unit(n), [{"start": s, "end": e, "label": lab} for s, e, lab in token_spans])

    test_sentences = [sentence(w) for w, _ in test]
    test_tags = [t for _, t in test]
    base = SpacySpanModel.pretrained(LABELS)

    def fit(seed: int, sentences: list[Sentence], gold: list[list[tuple[int, int, str]]]):
        if args.candidate == "spacy-finetuned":
            return base.fit(sentences, gold, args=SpanArgs(seed=seed))
        untrained = TransformerSpanModel.untrained(
            LABELS, args=SpanArgs(epochs=10, batch_size=8, seed=seed), learning_rate=1e-4
        )
        return untrained.fit(sentences, gold)

    def f1(model) -> float:
        predicted = [
            tags_of(len(s.words), sorted(p.span_set()))
            for s, p in zip(test_sentences, model.predict(test_sentences), strict=True)
        ]
        return float(f1_score(test_tags, predicted, mode="strict", scheme=IOB2))

    pretrained_f1 = f1(base)
    print(json.dumps({"candidate": "spacy-pretrained", "n_labels": 0, "f1": pretrained_f1}))
    rows = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        pool_idx = rng.choice(len(train), size=min(args.pool, len(train)), replace=False)
        pool = [train[i] for i in pool_idx]
        pool_sentences = [sentence(w) for w, _ in pool]
        pool_gold = [spans(t) for _, t in pool]
        for strategy in args.strategies:
            labelled: list[int] = []
            scorer = base
            for size in args.sizes:
                rest = np.setdiff1d(np.arange(len(pool)), labelled)
                need = size - len(labelled)
                if strategy == "random":
                    picked = rng.permutation(rest)[:need]
                else:
                    preds = scorer.predict([pool_sentences[i] for i in rest])
                    order = np.argsort(-sequence_priority(preds, strategy), kind="stable")
                    picked = rest[order[:need]]
                labelled.extend(int(i) for i in picked)
                sentences = [pool_sentences[i] for i in labelled]
                gold = [pool_gold[i] for i in labelled]
                start = time.perf_counter()
                model = fit(seed, sentences, gold)
                fit_seconds = time.perf_counter() - start
                row = {
                    "candidate": args.candidate,
                    "strategy": strategy,
                    "seed": seed,
                    "n_labels": size,
                    "f1": f1(model),
                    "fit_seconds": round(fit_seconds, 1),
                }
                if args.autoaccept and strategy == "random":
                    cand = Candidate(
                        args.candidate, lambda s, g, seed=seed: fit(seed, list(s), list(g))
                    )
                    _, oof = cross_validate_spans(cand, sentences, gold, folds=3, seed=seed)
                    correct = [p.span_set() == set(g) for p, g in zip(oof, gold, strict=True)]
                    cal = SentenceCalibrator.fit([p.raw_confidence for p in oof], correct)
                    evidence = np.array([cal(p.raw_confidence) for p in oof])
                    row["oof_exact_sentences"] = round(float(np.mean(correct)), 4)
                    row["oof_max_confidence"] = round(float(evidence.max()), 4)
                    calibrated = model.with_calibrator(cal)
                    # where the product auto-accepts: the unlabelled rest of the same pool (its
                    # sentences are exchangeable with the evidence); and the test set, which
                    # CoNLL-2003 draws from later news (a shift the guarantee does not cover)
                    rest = np.setdiff1d(np.arange(len(pool)), labelled)
                    targets_on = {
                        "pool": (
                            calibrated.predict([pool_sentences[i] for i in rest]),
                            [set(pool_gold[i]) for i in rest],
                        ),
                        "test": (
                            calibrated.predict(test_sentences),
                            [set(spans(t)) for t in test_tags],
                        ),
                    }
                    for target in args.targets:
                        decision = choose_threshold(
                            evidence, np.array(correct), target_precision=target,
                            confidence=0.95, min_evidence=50,
                        )  # fmt: skip
                        result: dict[str, object] = {"threshold": decision.threshold}
                        if decision.threshold is not None:
                            for where, (preds, truth) in targets_on.items():
                                accepted = [
                                    p.span_set() == g
                                    for p, g in zip(preds, truth, strict=True)
                                    if p.confidence >= decision.threshold
                                ]
                                result[f"{where}_coverage"] = len(accepted) / len(truth)
                                result[f"{where}_precision"] = (
                                    float(np.mean(accepted)) if accepted else None
                                )
                        row[f"autoaccept@{target}"] = result
                print(json.dumps(row), flush=True)
                rows.append(row)
                scorer = model
    summary: dict[str, dict[str, object]] = {}
    for strategy in args.strategies:
        for size in args.sizes:
            values = [r["f1"] for r in rows if r["strategy"] == strategy and r["n_labels"] == size]
            if values:
                summary[f"{strategy}@{size}"] = {
                    "mean": round(float(np.mean(values)), 4),
                    "std": round(float(np.std(values)), 4),
                    "n": len(values),
                }
    areas = {}
    for strategy in args.strategies:
        for seed in args.seeds:
            curve = [r["f1"] for r in rows if r["strategy"] == strategy and r["seed"] == seed]
            areas[f"{strategy}/seed{seed}"] = round(float(np.trapezoid(curve, args.sizes)), 2)
    json.dump({"candidate": args.candidate, "pretrained_f1": pretrained_f1,
               "summary": summary, "areas": areas}, sys.stdout)  # fmt: skip
    print()


if __name__ == "__main__":
    main()
