from __future__ import annotations

import numpy as np
import pytest

from labelloop.errors import InvalidInput
from labelloop.learn import promotion_decision


def _pair(n: int, champion_only: int, challenger_only: int) -> tuple[np.ndarray, np.ndarray]:
    champ = np.ones(n, bool)
    chall = np.ones(n, bool)
    chall[:champion_only] = False
    champ[champion_only : champion_only + challenger_only] = False
    return champ, chall


def test_better_or_equal_challenger_is_promoted():
    d = promotion_decision(*_pair(200, 2, 10))
    assert d.promote and d.challenger_accuracy > d.champion_accuracy
    assert "promoted" in d.reason
    assert promotion_decision(*_pair(50, 0, 0)).promote


def test_slightly_worse_challenger_is_promoted_as_noise():
    d = promotion_decision(*_pair(200, 6, 3))  # z = 3 / 3 = 1.0
    assert d.promote and "noise" in d.reason
    assert d.z == pytest.approx(1.0)


def test_clearly_worse_challenger_is_refused():
    d = promotion_decision(*_pair(200, 20, 5))  # z = 15 / 5 = 3.0
    assert not d.promote
    assert "refused" in d.reason and "3.00" in d.reason


def test_threshold_is_respected_and_empty_comparison_promotes():
    champ, chall = _pair(200, 20, 5)
    assert promotion_decision(champ, chall, z_threshold=3.5).promote
    empty = promotion_decision(np.array([], bool), np.array([], bool))
    assert empty.promote and empty.n == 0


def test_mismatched_inputs_are_rejected():
    with pytest.raises(InvalidInput):
        promotion_decision(np.ones(3, bool), np.ones(4, bool))
