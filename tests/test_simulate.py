"""The simulator: a replay of labelled data through the product's services, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories import topic_texts, write_csv
from labelloop.errors import InvalidInput
from labelloop.services.simulate.curves import SimulationConfig, simulate, summarise
from labelloop.services.simulate.run import _Annotator


def data(tmp_path: Path, n_pool: int = 60, n_eval: int = 30) -> tuple[Path, Path]:
    rows = topic_texts(n_pool + n_eval, seed=5)
    pool = write_csv(tmp_path / "pool.csv", [{"text": t, "topic": y} for t, y in rows[:n_pool]])
    evals = write_csv(tmp_path / "eval.csv", [{"text": t, "topic": y} for t, y in rows[n_pool:]])
    return pool, evals


def config(tmp_path: Path, **changes) -> SimulationConfig:
    pool, evals = data(tmp_path)
    options = {
        "pool": pool,
        "eval": evals,
        "out": tmp_path / "out",
        "label_field": "topic",
        "strategies": ("random", "margin"),
        "seeds": 1,
        "budget": 20,
        "batch_size": 10,
        "backbone": "fake",
        "review_batch": 20,
        "fixed_C_after": 10,
    }
    return SimulationConfig(**{**options, **changes})


def test_simulation_end_to_end_writes_results_and_plot(tmp_path):
    cfg = config(tmp_path)
    summary = simulate(cfg)
    out = tmp_path / "out"
    assert (out / "learning_curve.png").stat().st_size > 1000
    results = json.loads((out / "results.json").read_text())
    assert set(results["strategies"]) == {"random", "margin"} == set(summary.strategies)
    assert summary.pool_items == 60 and summary.eval_items == 30
    assert 0.5 < summary.ceiling_accuracy <= 1.0
    for name, m in summary.strategies.items():
        runs = results["strategies"][name]["runs"]
        curve = runs[0]["curve"]
        # one point for the first model, then one per batch, up to the budget
        assert [p["labels"] for p in curve] == [0, 10, 20]
        assert 0.0 <= m["auc"] <= 1.0 and 0.0 <= m["final_accuracy"] <= 1.0
        assert m["final_accuracy"] == curve[-1]["accuracy"]
        assert 0.0 <= m["acceptance_rate"] <= 1.0
        # the whole pool ends labelled, and each item was labelled one way
        e2e = runs[0]["end_to_end"]
        assert e2e["unlabelled_left"] == 0
        assert e2e["confirmed_share"] + e2e["typed_share"] + e2e["auto_share"] == pytest.approx(1)
        assert m["human_actions"] == e2e["confirmations"] + e2e["typed"]
        assert m["human_actions"] + e2e["auto_accepted"] == 60
        # a noiseless annotator and too little evidence to auto-accept: every label is right
        assert m["pool_label_accuracy"] == 1.0
        assert "std" in results["strategies"][name]


def test_noisy_annotator_errs_at_the_given_rate():
    truth = {i: ("a", "b", "c")[i % 3] for i in range(4000)}
    annotator = _Annotator(truth, ("a", "b", "c"), 0.1, seed=1)
    wrong = [i for i, answer in annotator.answers.items() if answer != truth[i]]
    assert set(wrong) == annotator.noisy
    assert abs(len(wrong) / len(truth) - 0.1) < 0.015
    # the same seed gives the same mistakes; another seed other ones
    assert _Annotator(truth, ("a", "b", "c"), 0.1, seed=1).noisy == annotator.noisy
    assert _Annotator(truth, ("a", "b", "c"), 0.1, seed=2).noisy != annotator.noisy
    assert _Annotator(truth, ("a", "b", "c"), 0.0, seed=1).noisy == set()


def test_noise_shows_in_the_pool_labels(tmp_path):
    summary = simulate(config(tmp_path, strategies=("margin",), noise=0.5))
    accuracy = summary.strategies["margin"]["pool_label_accuracy"]
    # 60 items answered by people, each wrong with probability 0.5
    assert 0.2 < accuracy < 0.8


def test_summary_means_and_stds_over_seeds():
    runs = [
        {"auc": 0.6, "labels_to_95pct_ceiling": 100, "auto_accept": {"coverage": 0.2}},
        {"auc": 0.8, "labels_to_95pct_ceiling": None, "auto_accept": {"coverage": 0.4}},
    ]
    means, stds = summarise(runs)
    assert means["auc"] == pytest.approx(0.7) and stds["auc"] == pytest.approx(0.1)
    assert means["labels_to_95pct_ceiling"] is None  # not reached on every seed
    assert means["auto_accept"]["coverage"] == pytest.approx(0.3)


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(InvalidInput, match="unknown strategy"):
        simulate(config(tmp_path, strategies=("nope",)))
    with pytest.raises(InvalidInput, match="noise"):
        simulate(config(tmp_path, noise=1.5))
    assert not (tmp_path / "out" / "results.json").exists()


@pytest.mark.slow
def test_seed_drives_the_random_strategy_and_runs_repeat(tmp_path):
    cfg = config(tmp_path, strategies=("random",), seeds=2, end_to_end=False)
    first = json.loads(Path(simulate(cfg).results).read_text())["strategies"]["random"]["runs"]
    again = json.loads(Path(simulate(cfg).results).read_text())["strategies"]["random"]["runs"]
    assert [r["seed"] for r in first] == [0, 1]
    assert "end_to_end" not in first[0]
    assert len(first[0]["queried"]) == 20
    # another seed picks other items; the same seed the same ones, in the same order
    assert first[0]["queried"] != first[1]["queried"]
    assert [r["queried"] for r in again] == [r["queried"] for r in first]


class RecordingProgress:
    """A :class:`labelloop.services.progress.Progress` that keeps each stage and its count."""

    def __init__(self) -> None:
        self.stages: list[list] = []

    def stage(self, name, total, *, unit="items"):
        record = [name, total, unit, 0]
        self.stages.append(record)

        def advance(n: int) -> None:
            record[3] += n

        return advance


def test_progress_hears_embedding_and_rounds_with_true_totals(tmp_path):
    shown = RecordingProgress()
    simulate(config(tmp_path, strategies=("margin",), end_to_end=False), progress=shown)
    assert shown.stages == [
        ["embedding eval items", 30, "items", 30],
        ["embedding pool", 60, "items", 60],
        ["simulating", 2, "rounds", 2],  # (budget 20 - initial 0) / batch 10, one run
    ]
