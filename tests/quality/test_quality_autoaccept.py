"""Auto-accept threshold: bounds, refusal, and the precision guarantee by simulation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.errors import InvalidInput
from labelloop.quality import (
    audit_precision,
    choose_threshold,
    precision_lower_bound,
    should_pause,
)
from labelloop.quality.autoaccept import certifiable_size


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 500), st.data(), st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_lower_bound_below_observed_precision(n: int, data: st.DataObject, conf: float) -> None:
    x = data.draw(st.integers(0, n))
    lb = precision_lower_bound(x, n, confidence=conf)
    assert 0.0 <= lb <= x / n


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 300), st.floats(0.05, 1.0))
def test_lower_bound_grows_with_evidence(n: int, rate: float) -> None:
    # same observed precision, more evidence -> tighter (higher) lower bound
    x = round(rate * n)
    assert precision_lower_bound(2 * x, 2 * n) >= precision_lower_bound(x, n) - 1e-12


def test_lower_bound_known_value() -> None:
    # all 59 correct: one-sided 95% bound is 0.05 ** (1 / 59)
    assert precision_lower_bound(59, 59) == pytest.approx(0.05 ** (1 / 59))


def _simulate(n: int, rng: np.random.Generator, power: float) -> tuple[np.ndarray, np.ndarray]:
    conf = rng.uniform(0.5, 1.0, n)
    return conf, rng.random(n) < conf**power


def _true_precision(t: float, power: float) -> float:
    # E[c^power | c >= t] for c ~ U(0.5, 1)
    return (1 - t ** (power + 1)) / ((power + 1) * (1 - t))


@pytest.mark.parametrize("power", [1.0, 3.0])
def test_chosen_threshold_meets_target_with_stated_confidence(power: float) -> None:
    rng = np.random.default_rng(12345)
    target, conf, trials = 0.9, 0.9, 300
    ok = chosen = 0
    for _ in range(trials):
        d = choose_threshold(*_simulate(1000, rng, power), target_precision=target, confidence=conf)
        if d.threshold is None:
            ok += 1  # refusing is always safe
            continue
        chosen += 1
        ok += _true_precision(d.threshold, power) >= target
    assert chosen > trials // 3  # it does accept when the evidence allows
    assert ok / trials >= conf - 0.03


def test_threshold_is_useful_when_evidence_is_plentiful() -> None:
    rng = np.random.default_rng(0)
    d = choose_threshold(*_simulate(20_000, rng, 1.0), target_precision=0.9)
    # true boundary: (1 + t) / 2 = 0.9 -> t = 0.8
    assert d.threshold is not None and 0.79 <= d.threshold < 0.85
    assert d.precision_lower_bound is not None and d.precision_lower_bound >= 0.9
    assert d.estimated_precision is not None and d.estimated_precision >= d.precision_lower_bound
    assert 0 < d.coverage < 1 and d.n_accepted == round(d.coverage * d.n_evidence)


def test_refuses_with_too_little_evidence() -> None:
    d = choose_threshold(np.full(10, 0.99), np.ones(10, bool), target_precision=0.9)
    assert d.threshold is None and "evidence" in (d.reason or "")


def test_refuses_when_model_is_bad_everywhere() -> None:
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.5, 1, 2000)
    d = choose_threshold(conf, rng.random(2000) < 0.5, target_precision=0.9)
    assert d.threshold is None and "lower bound" in (d.reason or "")


def test_fixed_sequence_stops_at_first_failure() -> None:
    # top 100 perfect, next 100 all wrong, then 800 perfect: stepping past the bad band is
    # not allowed even though lower thresholds would look fine again overall.
    conf = np.concatenate(
        [np.linspace(0.99, 0.95, 100), np.linspace(0.94, 0.90, 100), np.linspace(0.89, 0.5, 800)]
    )
    correct = np.concatenate([np.ones(100), np.zeros(100), np.ones(800)]).astype(bool)
    d = choose_threshold(conf, correct, target_precision=0.8, min_evidence=50)
    assert d.threshold is not None and d.threshold >= 0.9


@pytest.mark.parametrize(("target", "confidence"), [(0.98, 0.95), (0.95, 0.9), (0.9, 0.99)])
def test_certifiable_size_is_the_smallest_provable_record(target, confidence):
    n = certifiable_size(target, confidence)
    assert precision_lower_bound(n, n, confidence=confidence) >= target
    assert precision_lower_bound(n - 1, n - 1, confidence=confidence) < target


def test_sequence_starts_where_the_target_can_be_proven() -> None:
    # 300 answers above 0.9, one of them wrong at rank 250, then 300 wrong ones. Proving 0.98
    # takes 149 right answers: a sequence starting at 50 items (min_evidence) would fail its
    # first test and stop; it starts at 149 and certifies the top band instead.
    conf = np.concatenate([np.linspace(0.999, 0.9, 300), np.linspace(0.89, 0.5, 300)])
    correct = np.concatenate([np.ones(300), np.zeros(300)]).astype(bool)
    correct[249] = False
    d = choose_threshold(conf, correct, target_precision=0.98, confidence=0.95, min_evidence=50)
    assert d.threshold is not None and d.n_accepted >= certifiable_size(0.98, 0.95)
    assert d.precision_lower_bound is not None and d.precision_lower_bound >= 0.98
    few = choose_threshold(conf[:148], np.ones(148, bool), target_precision=0.98)
    assert few.threshold is None and "149" in (few.reason or "")


def test_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput):
        choose_threshold(np.array([0.5, 1.2]), np.array([True, False]), target_precision=0.9)
    with pytest.raises(InvalidInput):
        choose_threshold(np.ones(3), np.ones(4, bool), target_precision=0.9)
    with pytest.raises(InvalidInput):
        choose_threshold(np.ones(3), np.ones(3, bool), target_precision=1.0)
    with pytest.raises(InvalidInput):
        precision_lower_bound(5, 3)


def test_audit_interval_and_pause() -> None:
    a = audit_precision(90, 100)
    assert a.lower < 0.9 < a.upper and a.estimate == 0.9
    assert not should_pause(a, 0.9)
    assert should_pause(audit_precision(70, 100), 0.9)
    assert not should_pause(audit_precision(2, 3), 0.95)  # tiny audits do not pause
    empty = audit_precision(0, 0)
    assert np.isnan(empty.estimate) and not should_pause(empty, 0.9)
