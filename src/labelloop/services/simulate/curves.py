"""Simulate annotation on already-labelled data: compare query strategies and measure effort.

:func:`simulate` replays a labelled pool through the same services people use (a temporary
workspace per run: import, queue, submit, train, predict, auto-accept) with a simulated annotator
(see :mod:`labelloop.services.simulate.run`), for every strategy and seed, and writes
``results.json`` and ``learning_curve.png`` to the output folder. docs/simulate.md describes the
protocol and every number.

Example:
    >>> summary = simulate(SimulationConfig(pool=Path("pool.csv"), eval=Path("eval.csv"),
    ...     out=Path("sim-out"), label_field="label", strategies=("random", "margin")))
    ...     # doctest: +SKIP
    >>> summary.strategies["margin"]["auc"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from labelloop.errors import InvalidInput
from labelloop.schema import TaskType
from labelloop.services.progress import Advance, Progress, stage
from labelloop.services.simulate.run import GoldData, RunConfig, run_simulation
from labelloop.tasks import get_task

__all__ = ["SimulationConfig", "SimulationSummary", "simulate", "summarise"]

logger = logging.getLogger(__name__)

CEILING_FRACTIONS = (0.95, 0.97, 0.98)
# the simulator replays labelled text files
_TASK = get_task(TaskType.TEXT_CLASSIFICATION)


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. ``seeds`` is a count: runs use seeds ``first_seed .. first_seed+seeds-1``.

    ``fixed_C_after``: once the champion has this many labels, its cross-validated ``C`` is
    reused for the rest of the run instead of searching the grid every round (None: search
    every round, as the product does).
    ``review_strategy``: queue order in the end-to-end phase (None: keep the run's strategy).
    ``end_to_end_strategies``: run the end-to-end phase only for these (None: every strategy).
    ``cache_dir``: embedding cache shared by every run (default ``out/embeddings``).
    """

    pool: Path
    eval: Path
    out: Path
    label_field: str
    text_field: str = "text"
    strategies: tuple[str, ...] = ("random", "margin")
    seeds: int = 3
    first_seed: int = 0
    budget: int = 500
    batch_size: int = 10
    initial: int = 0
    noise: float = 0.0
    backbone: str = "minilm-l6"
    end_to_end: bool = True
    end_to_end_strategies: tuple[str, ...] | None = None
    review_batch: int = 200
    review_strategy: str | None = "random"
    target_precision: float = 0.98
    confidence: float = 0.95
    fixed_C_after: int | None = 100
    cache_dir: Path | None = None
    keep_workspaces: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def check(self) -> None:
        from labelloop.active import list_strategies

        known = set(list_strategies())
        for s in self.strategies:
            if s not in known:
                raise InvalidInput(
                    f"unknown strategy {s!r}; known: {', '.join(sorted(known))}", field="strategies"
                )
        if not self.strategies:
            raise InvalidInput("give at least one strategy", field="strategies")
        for name in ("seeds", "budget", "batch_size", "review_batch"):
            if int(getattr(self, name)) < 1:
                raise InvalidInput(f"{name} must be at least 1", field=name)
        if self.initial < 0 or self.initial > self.budget:
            raise InvalidInput("initial must lie between 0 and the budget", field="initial")
        if not 0.0 <= self.noise < 1.0:
            raise InvalidInput("noise must lie in [0, 1)", field="noise")
        for path in (self.pool, self.eval):
            if not Path(path).is_file():
                raise InvalidInput("no such file", file=str(path))

    def rounds(self) -> int:
        """Active-learning rounds of every run together (fewer when a pool runs out)."""
        per_run = -(-(self.budget - self.initial) // self.batch_size)
        return len(self.strategies) * self.seeds * per_run


class SimulationSummary(BaseModel):
    """Means over seeds per strategy (per-seed values and standard deviations in results.json)."""

    ceiling_accuracy: float
    ceiling_macro_f1: float
    pool_items: int
    eval_items: int
    budget: int
    strategies: dict[str, dict[str, Any]]
    results: str
    plot: str | None
    seconds: float


def _read_gold(path: Path, text_field: str, label_field: str) -> list[tuple[str, Any, str]]:
    """(content hash, item data, label) per row of a labelled file."""
    from labelloop.services.data.formats.readers import read_records

    rows = []
    for record in read_records(path, text_field=text_field, label_field=label_field):
        if not record.annotations:
            raise InvalidInput("row has no label", file=str(path), line=record.line,
                               field=label_field)  # fmt: skip
        label = record.annotations[-1].value[0]
        rows.append((_TASK.content_hash(record.data, media_root=path.parent), record.data, label))
    return rows


def _embed(
    cache: Any, backbone: str, rows: list[tuple[str, Any, str]], advance: Advance | None
) -> np.ndarray:
    from labelloop.backbones import get_encoder

    inputs = [_TASK.encoder_input(d) for _, d, _ in rows]
    hashes = [h for h, _, _ in rows]
    return np.asarray(cache.embed(get_encoder(backbone), inputs, hashes, progress=advance))


def _ceiling(pool_x: np.ndarray, pool_y: np.ndarray, gold: GoldData) -> tuple[float, float]:
    """Eval accuracy and macro-F1 of the default head trained on every pool label."""
    from labelloop.learn import TrainingArgs, classification_metrics, fit_model

    model = fit_model(pool_x, pool_y, n_labels=len(gold.labels), args=TrainingArgs())
    m = classification_metrics(gold.eval_labels, model.predict_proba(gold.eval_embeddings),
                               label_names=list(gold.labels))  # fmt: skip
    return m.accuracy, m.macro_f1


def _prepare(
    config: SimulationConfig, cache: Any, progress: Progress | None
) -> tuple[GoldData, float, float, int]:
    pool = _read_gold(config.pool, config.text_field, config.label_field)
    evals = _read_gold(config.eval, config.text_field, config.label_field)
    labels = tuple(sorted({label for _, _, label in pool}))
    pool_gold: dict[str, str] = {}
    for h, _, label in pool:
        pool_gold.setdefault(h, label)  # duplicates: the first row's label (as the import keeps)
    index = {label: j for j, label in enumerate(labels)}
    kept = [r for r in evals if r[2] in index]
    if len(kept) < len(evals):
        logger.warning("%d eval rows have labels absent from the pool; ignored",
                       len(evals) - len(kept))  # fmt: skip
    if not kept:
        raise InvalidInput("no eval row has a label that occurs in the pool", file=str(config.eval))
    unique_pool = [(h, d, pool_gold[h]) for h, d, _ in {r[0]: r for r in pool}.values()]
    gold = GoldData(
        labels=labels,
        pool_gold=pool_gold,
        eval_embeddings=_embed(
            cache, config.backbone, kept, stage(progress, "embedding eval items", len(kept))
        ),
        eval_labels=np.array([index[r[2]] for r in kept], dtype=np.int64),
    )
    pool_x = _embed(
        cache, config.backbone, unique_pool, stage(progress, "embedding pool", len(unique_pool))
    )
    pool_y = np.array([index[r[2]] for r in unique_pool], dtype=np.int64)
    acc, f1 = _ceiling(pool_x, pool_y, gold)
    return gold, acc, f1, len(unique_pool)


def _auc(curve: list[dict[str, Any]], key: str = "accuracy") -> float:
    x = np.array([p["labels"] for p in curve], dtype=np.float64)
    y = np.array([p[key] for p in curve], dtype=np.float64)
    if len(x) < 2 or x[-1] == x[0]:
        return float(y[-1])
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)) / (x[-1] - x[0]))


def _labels_to(curve: list[dict[str, Any]], level: float) -> int | None:
    return next((int(p["labels"]) for p in curve if p["accuracy"] >= level), None)


def _run_metrics(record: dict[str, Any], ceiling: float) -> dict[str, Any]:
    curve = record["curve"]
    out: dict[str, Any] = {
        "auc": _auc(curve),
        "auc_macro_f1": _auc(curve, "macro_f1"),
        "final_accuracy": curve[-1]["accuracy"],
        "final_macro_f1": curve[-1]["macro_f1"],
        "best_fraction_of_ceiling": max(p["accuracy"] for p in curve) / ceiling,
        "final_fraction_of_ceiling": curve[-1]["accuracy"] / ceiling,
        "acceptance_rate": record["acceptance_rate"],
    }
    for f in CEILING_FRACTIONS:
        out[f"labels_to_{round(f * 100)}pct_ceiling"] = _labels_to(curve, f * ceiling)
    if "auto_accept" in record:
        aa = record["auto_accept"]
        out["auto_accept"] = {"coverage": aa["coverage"], "precision": aa["precision"],
                              "threshold": aa.get("threshold")}  # fmt: skip
    if "end_to_end" in record:
        e2e = record["end_to_end"]
        for key in ("human_actions", "pool_label_accuracy", "typed_share", "confirmed_share",
                    "auto_share", "auto_precision"):  # fmt: skip
            out[key] = e2e[key]
    return out


def _mean_std(values: list[Any]) -> tuple[float | None, float | None]:
    nums = [float(v) for v in values if v is not None]
    if not nums or len(nums) < len(values):
        return None, None
    return float(np.mean(nums)), float(np.std(nums))


def summarise(per_seed: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Means (and standard deviations) over seeds of every per-run metric: (means, stds).

    A metric missing on some seed (e.g. a ceiling fraction never reached) has mean None.
    """
    means: dict[str, Any] = {}
    stds: dict[str, Any] = {}
    for key, value in per_seed[0].items():
        if isinstance(value, dict):
            means[key], stds[key] = summarise([r[key] for r in per_seed])
        else:
            means[key], stds[key] = _mean_std([r[key] for r in per_seed])
    return means, stds


def _plot(results: dict[str, Any], ceiling: float, path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # plotting is optional; results.json still has every number
        logger.warning("matplotlib is not installed: no learning-curve plot")
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, runs in results.items():
        curves = [r["curve"] for r in runs]
        n = min(len(c) for c in curves)
        x = np.array([p["labels"] for p in curves[0][:n]])
        y = np.array([[p["accuracy"] for p in c[:n]] for c in curves])
        (line,) = ax.plot(x, y.mean(axis=0), label=f"{name} ({len(curves)} seeds)")
        ax.fill_between(x, y.min(axis=0), y.max(axis=0), alpha=0.2, color=line.get_color())
    ax.axhline(ceiling, color="grey", linestyle="--", label=f"full pool ({ceiling:.3f})")
    ax.set_xlabel("human labels")
    ax.set_ylabel("accuracy on the evaluation set")
    ax.set_title("Learning curves (band: min-max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def simulate(
    config: SimulationConfig,
    *,
    progress: Progress | None = None,
    cache: Any = None,
) -> SimulationSummary:
    """Run every strategy with every seed; write ``results.json`` and ``learning_curve.png``.

    Args:
        config: the protocol.
        progress: hears the stages: embedding the eval items, embedding the pool, then the
            active-learning rounds of every run (:meth:`SimulationConfig.rounds`).
        cache: an :class:`~labelloop.backbones.EmbeddingCache` to share (default one under
            ``config.cache_dir`` or ``out/embeddings``).
    """
    from labelloop.backbones import EmbeddingCache

    config.check()
    start = time.perf_counter()
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    cache = cache or EmbeddingCache(config.cache_dir or out / "embeddings")
    gold, ceiling, ceiling_f1, n_pool = _prepare(config, cache, progress)
    advance = stage(progress, "simulating", config.rounds(), unit="rounds")
    events = None if advance is None else _rounds(advance)
    results: dict[str, list[dict[str, Any]]] = {}
    for strategy in config.strategies:
        for seed in range(config.first_seed, config.first_seed + config.seeds):
            run = RunConfig(
                pool=config.pool, text_field=config.text_field, backbone=config.backbone,
                strategy=strategy, seed=seed, budget=config.budget,
                batch_size=config.batch_size, initial=config.initial, noise=config.noise,
                end_to_end=_end_to_end(config, strategy),
                review_batch=config.review_batch,
                review_strategy=config.review_strategy,
                target_precision=config.target_precision, confidence=config.confidence,
                fixed_C_after=config.fixed_C_after,
            )  # fmt: skip
            folder = out / "runs" / f"{strategy}-seed{seed}"
            record = run_simulation(run, gold, folder, cache=cache, progress=events,
                                    keep_workspace=config.keep_workspaces)  # fmt: skip
            record["metrics"] = _run_metrics(record, ceiling)
            results.setdefault(strategy, []).append(record)
            logger.info("simulate %s seed %d: %s", strategy, seed, record["metrics"])
            _write(out, config, gold, ceiling, ceiling_f1, n_pool, results, start)
    summary = _write(out, config, gold, ceiling, ceiling_f1, n_pool, results, start)
    plot = _plot(results, ceiling, out / "learning_curve.png")
    return summary.model_copy(update={"plot": str(plot) if plot else None})


def _rounds(advance: Advance) -> Callable[[str], None]:
    """The runs' events (``"round"``, ``"review"``) as the advance of the rounds stage."""
    return lambda event: advance(1) if event == "round" else None


def _end_to_end(config: SimulationConfig, strategy: str) -> bool:
    chosen = config.end_to_end_strategies
    return config.end_to_end and (chosen is None or strategy in chosen)


def _write(
    out: Path,
    config: SimulationConfig,
    gold: GoldData,
    ceiling: float,
    ceiling_f1: float,
    n_pool: int,
    results: dict[str, list[dict[str, Any]]],
    start: float,
) -> SimulationSummary:
    strategies: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for name, runs in results.items():
        means, stds = summarise([r["metrics"] for r in runs])
        strategies[name] = means
        detail[name] = {"mean": means, "std": stds, "runs": runs}
    summary = SimulationSummary(
        ceiling_accuracy=ceiling,
        ceiling_macro_f1=ceiling_f1,
        pool_items=n_pool,
        eval_items=len(gold.eval_labels),
        budget=config.budget,
        strategies=strategies,
        results=str(out / "results.json"),
        plot=str(out / "learning_curve.png"),
        seconds=time.perf_counter() - start,
    )
    payload = {
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "summary": summary.model_dump(mode="json"),
        "strategies": detail,
    }
    tmp = out / "results.json.tmp"
    tmp.write_text(json.dumps(payload, indent=1, default=_json_default))
    tmp.replace(out / "results.json")
    return summary


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(f"cannot serialise {type(value).__name__}")
