"""The contract every query strategy honours, run against each registered strategy."""

from __future__ import annotations

import numpy as np
import pytest
from active_factories import make_pool

from labelloop.active import QueryStrategy, get_strategy, list_strategies
from labelloop.errors import InvalidInput, PoolExhausted

ALL = list_strategies()


def _inputs(strategy: QueryStrategy, **overrides: object) -> dict:
    pool = make_pool(multi_label=strategy.name.startswith("multilabel"))
    pool.update(overrides)
    return pool


@pytest.fixture(params=ALL)
def strategy(request: pytest.FixtureRequest) -> QueryStrategy:
    return get_strategy(request.param)


def test_registry_lists_the_documented_strategies() -> None:
    expected = {
        "random",
        "least_confidence",
        "margin",
        "entropy",
        "kcenter",
        "cold_start",
        "hybrid",
    }
    assert expected <= set(ALL)
    for name in ALL:
        assert get_strategy(name).name == name


def test_unknown_strategy_is_invalid_input() -> None:
    with pytest.raises(InvalidInput, match="unknown strategy"):
        get_strategy("telepathy")


def test_returns_distinct_candidates_up_to_n(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    chosen = strategy.select(**pool, n=7, seed=0)
    assert chosen.dtype == np.int64
    assert chosen.shape == (7,)
    assert len(set(chosen.tolist())) == 7
    assert pool["candidates"][chosen].all()


def test_accepts_indices_as_candidates(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    idx = np.flatnonzero(pool["candidates"])[::2]
    pool["candidates"] = idx
    chosen = strategy.select(**pool, n=5, seed=1)
    assert set(chosen.tolist()) <= set(idx.tolist())
    assert len(set(chosen.tolist())) == 5


def test_n_larger_than_pool_returns_every_candidate(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    chosen = strategy.select(**pool, n=1000, seed=0)
    assert sorted(chosen.tolist()) == np.flatnonzero(pool["candidates"]).tolist()


def test_deterministic_for_a_seed(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    first = strategy.select(**pool, n=6, seed=3)
    again = strategy.select(**pool, n=6, seed=3)
    np.testing.assert_array_equal(first, again)


def test_random_differs_across_seeds() -> None:
    pool = make_pool(n=500)
    s = get_strategy("random")
    assert not np.array_equal(s.select(**pool, n=20, seed=0), s.select(**pool, n=20, seed=1))


def test_exhausted_pool_raises(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    pool["candidates"] = np.zeros_like(pool["candidates"])
    with pytest.raises(PoolExhausted):
        strategy.select(**pool, n=3, seed=0)
    pool["candidates"] = np.array([], dtype=np.int64)
    with pytest.raises(PoolExhausted):
        strategy.select(**pool, n=3, seed=0)


def test_bad_n_is_invalid_input(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    for bad in (0, -2, 2.5, True):
        with pytest.raises(InvalidInput):
            strategy.select(**pool, n=bad, seed=0)  # type: ignore[arg-type]


def test_wrong_mask_length_is_invalid_input(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    pool["candidates"] = np.ones(len(pool["candidates"]) + 1, dtype=bool)
    with pytest.raises(InvalidInput, match="candidates"):
        strategy.select(**pool, n=3, seed=0)


def test_out_of_range_or_repeated_indices_are_invalid_input(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    n_items = len(pool["candidates"])
    for bad in (np.array([0, n_items]), np.array([-1, 2]), np.array([1, 1, 2])):
        pool["candidates"] = bad
        with pytest.raises(InvalidInput):
            strategy.select(**pool, n=2, seed=0)


def test_bad_shapes_are_invalid_input(strategy: QueryStrategy) -> None:
    pool = _inputs(strategy)
    if "pred_probs" in strategy.needs:
        with pytest.raises(InvalidInput, match="pred_probs"):
            strategy.select(**{**pool, "pred_probs": pool["pred_probs"][:, 0]}, n=2, seed=0)
        with pytest.raises(InvalidInput, match="pred_probs"):
            strategy.select(**{**pool, "pred_probs": None}, n=2, seed=0)
    if "embeddings" in strategy.needs:
        with pytest.raises(InvalidInput, match="embeddings"):
            strategy.select(**{**pool, "embeddings": pool["embeddings"][0]}, n=2, seed=0)
        with pytest.raises(InvalidInput, match="embeddings"):
            strategy.select(**{**pool, "embeddings": None}, n=2, seed=0)
    if strategy.needs == {"pred_probs", "embeddings"}:
        with pytest.raises(InvalidInput, match="rows"):
            strategy.select(**{**pool, "embeddings": pool["embeddings"][:-1]}, n=2, seed=0)


def test_single_label_strategies_reject_rows_not_summing_to_one() -> None:
    pool = make_pool()
    pool["pred_probs"] = pool["pred_probs"] * 0.5
    for name in ("least_confidence", "margin", "entropy", "hybrid"):
        with pytest.raises(InvalidInput, match="sum to 1"):
            get_strategy(name).select(**pool, n=2, seed=0)


def test_probabilities_outside_unit_interval_are_invalid_input() -> None:
    pool = make_pool(multi_label=True)
    pool["pred_probs"][0, 0] = 1.5
    with pytest.raises(InvalidInput, match=r"\[0, 1\]"):
        get_strategy("multilabel_entropy").select(**pool, n=2, seed=0)
    pool["pred_probs"][0, 0] = np.nan
    with pytest.raises(InvalidInput):
        get_strategy("multilabel_uncertainty").select(**pool, n=2, seed=0)
