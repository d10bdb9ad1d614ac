"""Token-level label issues in span answers (cleanlab's token_classification module)."""

from __future__ import annotations

import numpy as np
import pytest

from labelloop.errors import InvalidInput
from labelloop.quality import find_span_label_issues, token_labels
from labelloop.quality.span_issues import SPAN_ISSUE_METHODS

LABELS = ["PER", "LOC"]  # classes: 0 = O, 1 = PER, 2 = LOC


def _corpus(n: int = 12, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Sentences whose model agrees with their labels (probability 0.9 on the given class)."""
    rng = np.random.default_rng(seed)
    labels, probs = [], []
    for _ in range(n):
        y = rng.choice([0, 0, 0, 1, 2], size=int(rng.integers(3, 7)))
        labels.append(y)
        probs.append(np.full((len(y), 3), 0.05) + np.eye(3)[y] * 0.85)
    return labels, probs


def test_a_wrong_label_is_flagged_first_with_the_models_class() -> None:
    labels, probs = _corpus()
    labels[4] = labels[4].copy()
    probs[4] = probs[4].copy()
    labels[4][1] = 2  # labelled LOC ...
    probs[4][1] = [0.03, 0.95, 0.02]  # ... where the model is sure it is PER
    labels[7] = labels[7].copy()
    probs[7] = probs[7].copy()
    labels[7][0] = 0  # a missed entity: labelled O
    probs[7][0] = [0.04, 0.0, 0.96]
    found = find_span_label_issues(labels, probs)
    assert [s.index for s in found] == [4, 7]
    first = found[0].tokens[0]
    assert (first.token, first.given, first.suggested) == (1, 2, 1)
    assert first.score == pytest.approx(0.02) and found[0].score == pytest.approx(0.02)
    assert found[1].tokens[0].given == 0 and found[1].tokens[0].suggested == 2


def test_clean_labels_give_no_issue_and_every_method_runs() -> None:
    labels, probs = _corpus()
    for method in SPAN_ISSUE_METHODS:
        assert find_span_label_issues(labels, probs, method=method) == []


def test_the_baseline_flags_tokens_below_one_half() -> None:
    labels, probs = _corpus()
    probs[2] = probs[2].copy()
    probs[2][0] = np.roll(probs[2][0], 1)  # the given class now has 0.05
    found = find_span_label_issues(labels, probs, method="low_confidence")
    assert [(s.index, s.tokens[0].token) for s in found] == [(2, 0)]


def test_empty_sentences_are_skipped_and_indices_kept() -> None:
    labels, probs = _corpus(8)
    labels.insert(0, np.zeros(0, dtype=np.int64))
    probs.insert(0, np.zeros((0, 3)))
    labels[3] = labels[3].copy()
    labels[3][0] = (labels[3][0] + 1) % 3
    found = find_span_label_issues(labels, probs)
    assert [s.index for s in found] == [3]


@pytest.mark.parametrize(
    ("labels", "probs", "message"),
    [
        ([[0, 1]], [np.full((3, 2), 0.5)], r"labels\[0\] must hold one class per token \(3\)"),
        ([[0, 5]], [np.full((2, 2), 0.5)], r"labels\[0\] must be class ids in \[0, 2\)"),
        ([[0, 1]], [np.full((2, 2), 0.7)], "summing to 1"),
        ([[0]], [np.full((1, 1), 1.0)], "k >= 2"),
        ([[0, 0]], [np.tile([0.9, 0.1], (2, 1))], "two or more token classes"),
        ([[0]], [], "1 label sequences but 0 pred_probs"),
    ],
)
def test_bad_input_is_refused_naming_it(labels: list, probs: list, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        find_span_label_issues(labels, probs)


def test_unknown_method_is_refused() -> None:
    labels, probs = _corpus()
    with pytest.raises(InvalidInput, match="unknown method 'vote'"):
        find_span_label_issues(labels, probs, method="vote")


def test_token_labels() -> None:
    assert token_labels(5, [(0, 2, "PER"), (3, 4, "LOC")], LABELS).tolist() == [1, 1, 0, 2, 0]
    assert token_labels(2, [], LABELS).tolist() == [0, 0]
    with pytest.raises(InvalidInput, match="overlaps another span"):
        token_labels(4, [(0, 3, "PER"), (1, 2, "LOC")], LABELS)
    with pytest.raises(InvalidInput, match="unknown label 'ORG'"):
        token_labels(4, [(0, 1, "ORG")], LABELS)
    with pytest.raises(InvalidInput, match="out of range of a sentence of 4 tokens"):
        token_labels(4, [(3, 5, "PER")], LABELS)
