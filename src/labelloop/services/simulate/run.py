"""One simulated annotation run (one strategy, one seed) through the product's own services.

A temporary workspace holds the pool (imported without labels); a simulated annotator answers
each item the queue hands out with its gold label (wrong at the ``noise`` rate, drawn once per
item and seed). Phase 1 (active learning): ``next_items`` -> ``submit`` -> ``train`` until the
budget is spent, scoring the champion on the evaluation set after every batch. Phase 2 (end to
end): auto-accept what the precision guarantee allows; the queue switches to
``review_strategy`` (default random order, so that what people review is an unbiased sample of
what is left and doubles as evidence for auto-accept); people review the next ``review_batch``
items in queue order (confirming or correcting the suggestion); retrain; repeat until every pool
item is labelled.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import PoolExhausted
from labelloop.services.data.importing import ImportOptions
from labelloop.services.models.registry import champion_model
from labelloop.services.workspace import Workspace
from labelloop.store import ModelKind, ModelStatus, Source, repo
from labelloop.store.queries import simulate as queries

__all__ = ["GoldData", "RunConfig", "run_simulation"]

logger = logging.getLogger(__name__)

PROJECT = "sim"
ANNOTATOR = "simulated-annotator"


@dataclass(frozen=True)
class GoldData:
    """Gold labels of the pool (by content hash) and the evaluation set's embeddings and ids."""

    labels: tuple[str, ...]
    pool_gold: dict[str, str]  # content hash -> gold label
    eval_embeddings: np.ndarray  # (m, d)
    eval_labels: np.ndarray  # (m,) label ids


@dataclass(frozen=True)
class RunConfig:
    """Options of one run (the orchestrator fills them from the CLI)."""

    pool: Path
    text_field: str
    backbone: str
    strategy: str
    seed: int
    budget: int
    batch_size: int
    initial: int = 0
    noise: float = 0.0
    end_to_end: bool = True
    review_batch: int = 200
    review_strategy: str | None = "random"
    target_precision: float = 0.98
    confidence: float = 0.95
    fixed_C_after: int | None = 100
    id_field: str | None = None
    task: str = "text-classification"  # or "image-classification" (a pool of image files)


@dataclass
class _Tally:
    submits: int = 0
    with_suggestion: int = 0
    confirmed: int = 0
    noisy: int = 0
    phase: dict[str, dict[str, int]] = field(default_factory=dict)
    queried: list[int] = field(default_factory=list)

    def add(self, phase: str, *, had_suggestion: bool, confirmed: bool, noisy: bool) -> None:
        counts = self.phase.setdefault(phase, {"submits": 0, "confirmed": 0, "typed": 0})
        counts["submits"] += 1
        counts["confirmed" if confirmed else "typed"] += 1
        self.submits += 1
        self.with_suggestion += int(had_suggestion)
        self.confirmed += int(confirmed)
        self.noisy += int(noisy)


class _FrozenC:
    """Once ``after`` labels exist, reuse the champion's cross-validated ``C`` instead of
    searching the grid every round (the search dominates retraining time on CPU): the value to
    pass as ``Workspace.train(C=...)``, and :meth:`update` to call after each training."""

    def __init__(self, ws: Workspace, after: int | None) -> None:
        self.ws = ws
        self.after = after
        self.C: float | None = None

    def update(self) -> None:
        if self.after is None or self.C is not None:
            return
        models = [
            m
            for m in self.ws.models(PROJECT)
            if m.status == ModelStatus.CHAMPION and m.kind == ModelKind.HEAD
        ]
        if models and models[0].n_labels >= self.after:
            _, loaded, _ = champion_model(self.ws, PROJECT)
            if loaded.model is not None and loaded.model.C is not None:
                self.C = float(loaded.model.C)


def _eval_point(ws: Workspace, gold: GoldData, n_labels: int) -> dict[str, Any]:
    from labelloop.learn import classification_metrics

    version, model, _ = champion_model(ws, PROJECT)
    pred_probs = model.predict_proba(gold.eval_embeddings)
    m = classification_metrics(gold.eval_labels, pred_probs, label_names=list(gold.labels))
    return {
        "labels": n_labels,
        "accuracy": m.accuracy,
        "macro_f1": m.macro_f1,
        "model_version": version,
        "kind": model.kind,
    }


class _Annotator:
    """Answers with the gold label; a fixed set of items (rate ``noise``) gets a wrong one."""

    def __init__(self, items: dict[int, str], labels: tuple[str, ...], noise: float, seed: int):
        rng = np.random.default_rng([seed, 7919])
        ids = sorted(items)
        flip = rng.random(len(ids)) < noise
        self.answers: dict[int, str] = {}
        self.noisy: set[int] = set()
        for item_id, f in zip(ids, flip, strict=True):
            truth = items[item_id]
            if f and len(labels) > 1:
                others = [label for label in labels if label != truth]
                self.answers[item_id] = others[int(rng.integers(len(others)))]
                self.noisy.add(item_id)
            else:
                self.answers[item_id] = truth


def _label_batch(ws: Workspace, annotator: _Annotator, tally: _Tally, phase: str, n: int) -> int:
    try:
        batch = ws.next_items(PROJECT, n=n, annotator=ANNOTATOR)
    except PoolExhausted:
        return 0
    for item in batch:
        tally.queried.append(item.item_id)
        answer = annotator.answers[item.item_id]
        result = ws.submit(PROJECT, item.item_id, answer, annotator=ANNOTATOR)
        tally.add(
            phase,
            had_suggestion=item.suggestion is not None,
            confirmed=result.source == Source.MODEL_ACCEPTED,
            noisy=item.item_id in annotator.noisy,
        )
    return len(batch)


def _items(ws: Workspace) -> dict[int, str]:
    with ws.transaction() as session:
        project = repo.get_project(session, PROJECT)
        return queries.content_hashes(session, project.id)


def _current(ws: Workspace) -> dict[int, tuple[str, list[str]]]:
    with ws.transaction() as session:
        project = repo.get_project(session, PROJECT)
        return queries.current_labels(session, project.id)


def run_simulation(
    config: RunConfig,
    gold: GoldData,
    folder: Path,
    *,
    cache: Any,
    progress: Callable[[str], None] | None = None,
    keep_workspace: bool = False,
) -> dict[str, Any]:
    """Run one strategy with one seed; returns its JSON-ready record (curve, effort, quality)."""
    from labelloop.services.workspace import open_workspace

    if folder.exists():
        shutil.rmtree(folder)
    ws = open_workspace(folder / "workspace")
    ws._cache = cache  # every run shares one embedding cache: each text is encoded once
    try:
        return _run(
            ws, config, gold, _FrozenC(ws, config.fixed_C_after), progress or (lambda _: None)
        )
    finally:
        ws.close()
        if not keep_workspace:
            shutil.rmtree(folder / "workspace", ignore_errors=True)


def _run(
    ws: Workspace,
    config: RunConfig,
    gold: GoldData,
    frozen: _FrozenC,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    # the project's seed drives the strategy's draws (random order, k-means starts), mixed with
    # the model version at every re-rank, as in any project
    settings: dict[str, Any] = {"strategy": config.strategy, "seed": config.seed}
    ws.create_project(PROJECT, labels=list(gold.labels), task=config.task,
                      backbone=config.backbone, settings=settings)  # fmt: skip
    ws.import_file(
        PROJECT, config.pool, ImportOptions(text_field=config.text_field, id_field=config.id_field)
    )
    hashes = _items(ws)
    truth = {i: gold.pool_gold[h] for i, h in hashes.items()}
    annotator = _Annotator(truth, gold.labels, config.noise, config.seed)
    tally = _Tally()
    start = time.perf_counter()

    # -- phase 1: active learning up to the budget -------------------------------------------
    rng = np.random.default_rng([config.seed, 104729])
    n_labels = 0
    if config.initial > 0:
        ids = np.array(sorted(truth))
        for item_id in rng.choice(ids, min(config.initial, len(ids)), replace=False):
            ws.submit(PROJECT, int(item_id), annotator.answers[int(item_id)], annotator=ANNOTATOR)
            tally.add("initial", had_suggestion=False, confirmed=False,
                      noisy=int(item_id) in annotator.noisy)  # fmt: skip
            n_labels += 1
    curve = []
    if n_labels == 0 and not _reads_label_names(config.task):
        ws.predict(PROJECT)  # no zero-shot model: the first batches come from cluster cold start
    else:
        ws.train(PROJECT, C=frozen.C)
        frozen.update()
        curve.append(_eval_point(ws, gold, n_labels))
    train_seconds = []
    while n_labels < config.budget:
        done = _label_batch(ws, annotator, tally, "active",
                            min(config.batch_size, config.budget - n_labels))  # fmt: skip
        if done == 0:
            break
        n_labels += done
        t0 = time.perf_counter()
        ws.train(PROJECT, C=frozen.C)
        train_seconds.append(time.perf_counter() - t0)
        frozen.update()
        curve.append(_eval_point(ws, gold, n_labels))
        logger.info(
            "%s seed %d: %d labels, accuracy %.4f, round %.1fs",
            config.strategy,
            config.seed,
            n_labels,
            curve[-1]["accuracy"],
            time.perf_counter() - t0,
        )
        progress("round")
    active_tally = {"submits": tally.submits, "with_suggestion": tally.with_suggestion,
                    "confirmed": tally.confirmed}  # fmt: skip
    record: dict[str, Any] = {
        "strategy": config.strategy,
        "seed": config.seed,
        "pool_items": len(truth),
        "curve": curve,
        "acceptance_rate": (
            active_tally["confirmed"] / active_tally["with_suggestion"]
            if active_tally["with_suggestion"]
            else None
        ),
        "queried": list(tally.queried),  # item ids in the order the queue handed them out
        "active_seconds": time.perf_counter() - start,
        "mean_round_seconds": float(np.mean(train_seconds)) if train_seconds else None,
    }
    if config.end_to_end:
        record.update(_end_to_end(ws, config, truth, annotator, tally, frozen, progress))
    else:  # still measure what auto-accept would take right after the budget
        record["auto_accept"] = _auto_accept_round(ws, config, truth)
    record["noisy_answers"] = tally.noisy
    record["answers"] = tally.submits
    return record


def _reads_label_names(task: str) -> bool:
    """Whether a project of ``task`` has a zero-shot model (text tasks: label-name prompts)."""
    from labelloop.schema import Modality, TaskType
    from labelloop.tasks import get_task

    return get_task(TaskType(task)).tags.modality is Modality.TEXT


def _auto_accept_round(ws: Workspace, config: RunConfig, truth: dict[int, str]) -> dict[str, Any]:
    from labelloop.services.quality.autoaccept import AutoAcceptRefused

    before = {i for i, (s, _) in _current(ws).items() if s == Source.AUTO}
    try:
        result = ws.auto_accept(
            PROJECT, target_precision=config.target_precision, confidence=config.confidence
        )
    except AutoAcceptRefused as exc:
        return {"refused": exc.reason, "n_accepted": 0, "coverage": 0.0, "precision": None}
    now = _current(ws)
    new = [i for i, (s, _) in now.items() if s == Source.AUTO and i not in before]
    right = sum(now[i][1] == [truth[i]] for i in new)
    return {
        "refused": None,
        "threshold": result.threshold,
        "n_accepted": result.n_accepted,
        "n_unlabelled": result.n_unlabelled,
        "coverage": result.coverage,
        "precision": right / len(new) if new else None,
        "precision_lower_bound": result.precision_lower_bound,
        "n_evidence": result.n_evidence,
    }


def _end_to_end(
    ws: Workspace,
    config: RunConfig,
    truth: dict[int, str],
    annotator: _Annotator,
    tally: _Tally,
    frozen: _FrozenC,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    start = time.perf_counter()
    first = _auto_accept_round(ws, config, truth)
    rounds = [first]
    if config.review_strategy and config.review_strategy != config.strategy:
        # people now review in this order (random: their answers are exchangeable evidence)
        ws.update_project(PROJECT, settings={"strategy": config.review_strategy})
        ws.predict(PROJECT)
    while True:
        remaining = len(truth) - len(_current(ws))
        if remaining == 0:
            break
        done = _label_batch(ws, annotator, tally, "review", min(config.review_batch, remaining))
        if done == 0:
            break
        if len(truth) - len(_current(ws)) == 0:
            break
        ws.train(PROJECT, C=frozen.C)
        rounds.append(_auto_accept_round(ws, config, truth))
        logger.info(
            "%s seed %d: review round, %d left, auto %s",
            config.strategy,
            config.seed,
            remaining - done,
            rounds[-1].get("n_accepted"),
        )
        progress("review")
    final = _current(ws)
    n = len(truth)
    counts: dict[str, int] = dict.fromkeys(Source, 0)
    correct: dict[str, int] = dict.fromkeys(Source, 0)
    for i, (source, value) in final.items():
        counts[source] = counts.get(source, 0) + 1
        correct[source] = correct.get(source, 0) + int(value == [truth[i]])
    review = tally.phase.get("review", {"submits": 0, "confirmed": 0, "typed": 0})
    auto_right = correct[Source.AUTO]
    return {
        "auto_accept": first,
        "end_to_end": {
            "rounds": len(rounds),
            "labelled": len(final),
            "unlabelled_left": n - len(final),
            "confirmations": counts[Source.MODEL_ACCEPTED],
            "typed": counts[Source.HUMAN],
            "corrections": review["typed"],
            "auto_accepted": counts[Source.AUTO],
            "confirmed_share": counts[Source.MODEL_ACCEPTED] / n,
            "typed_share": counts[Source.HUMAN] / n,
            "auto_share": counts[Source.AUTO] / n,
            "auto_precision": auto_right / counts[Source.AUTO] if counts[Source.AUTO] else None,
            "human_actions": counts[Source.MODEL_ACCEPTED] + counts[Source.HUMAN],
            "pool_label_accuracy": sum(correct.values()) / n,
            "auto_rounds": [r for r in rounds if r.get("refused") is None],
            "seconds": time.perf_counter() - start,
        },
    }
