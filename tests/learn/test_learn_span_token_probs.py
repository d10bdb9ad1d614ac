"""Per-token class probabilities of a span model, from the beam's span marginals."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.learn.spans import Sentence, SpacySpanModel
from labelloop.learn.spans.model import _token_probs

LABELS = ["PER", "LOC"]


def test_token_probs_sum_the_marginals_of_the_spans_over_each_token() -> None:
    marginals = {(0, 2, "PER"): 0.9, (0, 1, "PER"): 0.05, (3, 4, "LOC"): 0.6}
    probs = _token_probs(4, marginals, LABELS)
    expected = [[0.05, 0.95, 0.0], [0.1, 0.9, 0.0], [1.0, 0.0, 0.0], [0.4, 0.0, 0.6]]
    np.testing.assert_allclose(probs, expected, atol=1e-12)  # columns: O, PER, LOC


def test_token_probs_are_renormalised_when_beam_mass_exceeds_one() -> None:
    probs = _token_probs(1, {(0, 1, "PER"): 0.8, (0, 1, "LOC"): 0.4}, LABELS)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0, 0] == 0.0
    assert probs[0, 1] == pytest.approx(2 / 3)


def test_an_empty_sentence_has_no_token_rows() -> None:
    assert _token_probs(0, {}, LABELS).shape == (0, 3)


@pytest.mark.real_model
def test_the_pretrained_model_gives_token_probs_for_every_token() -> None:
    model = SpacySpanModel.pretrained(["PER", "LOC", "ORG", "MISC"])
    words = ("Peter", "Blackburn", "in", "Brussels")
    (prediction,) = model.predict([Sentence(words, (True, True, True, False))])
    probs = prediction.token_probs
    assert probs is not None and probs.shape == (len(words), 5)  # O, PER, LOC, ORG, MISC
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert probs[0].argmax() == 1 and probs[3].argmax() == 2  # Peter: PER, Brussels: LOC
    assert probs[2].argmax() == 0  # "in" is outside any span
