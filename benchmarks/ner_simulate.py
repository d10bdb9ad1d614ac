"""Simulated annotation of a span project through the product (issue 20): effort in spans.

A pool of CoNLL-2003 train sentences is imported without labels into a fresh SQLite workspace;
the pre-trained recogniser suggests before any label. A simulated annotator takes the queue's
items ``--batch`` at a time (the project's strategy ranks them) and answers each with its gold
spans, and the loop retrains (``Workspace.train``: cross-validated choice between the candidates)
and re-predicts after each ``--retrain-every`` answers, until ``--budget`` sentences are labelled.
Then auto-accept runs at ``--target`` on what is left, and its accepted sentences are checked
against gold.

Per answer it counts, against the suggestion the annotator saw: spans **confirmed** (suggested
exactly as gold), **typed** (gold spans not suggested: selected by hand), **removed** (suggested
spans not in gold) and sentences accepted untouched; then spans **auto-accepted** with their
measured sentence and span precision.

    python benchmarks/ner_simulate.py --pool 1000 --budget 200 --seed 0
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from ner_curves import read_conll

LABELS = ["PER", "LOC", "ORG", "MISC"]


def _char_spans(words: list[str], tags: list[str]) -> tuple[str, list[dict[str, object]]]:
    from labelloop.tasks.spans import from_bio

    return " ".join(words), from_bio(_offsets(words), tags)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--pool", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--retrain-every", type=int, default=50)
    parser.add_argument("--strategy", default="margin", help="margin: MNLP for spans")
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import labelloop
    from labelloop.services.quality.autoaccept import AutoAcceptRefused

    train = read_conll(args.data / "conll2003" / "train.txt")
    rng = np.random.default_rng(args.seed)
    picked = rng.choice(len(train), size=args.pool, replace=False)
    gold: dict[str, list[dict[str, object]]] = {}
    rows = []
    for i in picked:
        text, spans = _char_spans(*train[i])
        if text in gold:
            continue
        gold[text] = spans
        rows.append({"text": text, "tokens": train[i][0]})
    with tempfile.TemporaryDirectory() as tmp:
        pool = Path(tmp) / "pool.jsonl"
        pool.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        ws = labelloop.open_workspace(Path(tmp) / "ws")
        ws.create_project("ner", labels=LABELS, task="spans",
                          settings={"strategy": args.strategy, "seed": args.seed})  # fmt: skip
        ws.import_file("ner", pool)
        ws.train("ner")
        ws.predict("ner")
        tally = {"sentences": 0, "untouched": 0, "confirmed": 0, "typed": 0, "removed": 0,
                 "gold_spans": 0, "suggested_spans": 0}  # fmt: skip
        retrains, since = [], 0
        start = time.perf_counter()
        while tally["sentences"] < args.budget:
            items = ws.next_items("ner", n=args.batch, annotator="sim")
            if not items:
                break
            for item in items:
                truth = gold[item.data["text"]]
                shown = item.suggestion.value if item.suggestion is not None else []
                want = {(s["start"], s["end"], s["label"]) for s in truth}
                got = {(s["start"], s["end"], s["label"]) for s in shown}
                tally["sentences"] += 1
                tally["untouched"] += int(want == got)
                tally["confirmed"] += len(want & got)
                tally["typed"] += len(want - got)
                tally["removed"] += len(got - want)
                tally["gold_spans"] += len(want)
                tally["suggested_spans"] += len(got)
                ws.submit("ner", item.item_id, truth, annotator="sim")
                since += 1
            if since >= args.retrain_every:
                t0 = time.perf_counter()
                result = ws.train("ner")
                if result.promoted:
                    ws.predict("ner")
                retrains.append({"labels": tally["sentences"], "seconds": round(
                    time.perf_counter() - t0, 1), "promoted": result.promoted,
                    "candidate": ws.models("ner")[-1].metrics.get("candidate")})  # fmt: skip
                since = 0
        auto: dict[str, object] = {"target": args.target}
        try:
            accepted = ws.auto_accept("ner", target_precision=args.target)
            auto.update(threshold=accepted.threshold, sentences=accepted.n_accepted,
                        coverage=accepted.coverage, evidence=accepted.n_evidence)  # fmt: skip
            right = spans_right = spans_total = n_auto = 0
            for value, data in _auto_answers(ws):
                n_auto += 1
                want = {(s["start"], s["end"], s["label"]) for s in gold[data["text"]]}
                got = {(s["start"], s["end"], s["label"]) for s in value}
                right += int(want == got)
                spans_right += len(want & got)
                spans_total += len(got)
            auto.update(
                auto_spans=spans_total,
                sentence_precision=right / n_auto if n_auto else None,
                span_precision=spans_right / spans_total if spans_total else None,
            )
        except AutoAcceptRefused as exc:
            auto["refused"] = str(exc)
        ws.close()
    print(json.dumps({"seed": args.seed, "pool": len(rows), "strategy": args.strategy,
                      "effort": tally, "retrains": retrains, "auto_accept": auto,
                      "seconds": round(time.perf_counter() - start, 1)}))  # fmt: skip


def _auto_answers(ws) -> list[tuple[list[dict[str, object]], dict[str, object]]]:
    """The current auto-accepted answers and their items' data (read from the store: the
    benchmark checks them against gold)."""
    from sqlalchemy import select

    from labelloop.store import Annotation, Item, Source

    with ws.transaction() as session:
        rows = session.execute(
            select(Annotation.value, Item.data)
            .join(Item, Item.id == Annotation.item_id)
            .where(Annotation.is_current.is_(True), Annotation.source == Source.AUTO)
        ).all()
    return [(list(r.value), dict(r.data)) for r in rows]


def _offsets(words: list[str]) -> list[tuple[int, int]]:
    out, at = [], 0
    for w in words:
        out.append((at, at + len(w)))
        at += len(w) + 1
    return out


if __name__ == "__main__":
    main()
