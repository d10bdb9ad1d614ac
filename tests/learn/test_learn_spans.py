"""Span models: the type map, the calibrator, selection by cross-validation, and the two real
candidates (spaCy's recogniser resumed, MiniLM token classification) on tiny data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from labelloop.learn.spans import (
    Candidate,
    Sentence,
    SentenceCalibrator,
    SpanArgs,
    SpanPrediction,
    aliases,
    default_type_map,
    select_span_model,
    span_f1,
)

CONLL = ["PER", "LOC", "ORG", "MISC"]


def _sentence(text: str) -> Sentence:
    words = tuple(text.split())
    return Sentence(words, tuple([True] * (len(words) - 1) + [False]))


# -- the type map -------------------------------------------------------------------------------


def test_default_type_map_matches_by_name_and_meaning():
    mapping = default_type_map(CONLL)
    assert mapping["PERSON"] == "PER"
    assert mapping["GPE"] == "LOC" and mapping["LOC"] == "LOC"
    assert mapping["ORG"] == "ORG"
    assert mapping["NORP"] == "MISC" and mapping["EVENT"] == "MISC"
    # numbers and dates map to nothing: CoNLL does not annotate them
    assert "DATE" not in mapping and "CARDINAL" not in mapping


def test_type_map_overrides_and_drops():
    mapping = default_type_map(["DRUG", "PER"], {"PRODUCT": "DRUG", "PERSON": ""})
    assert mapping["PRODUCT"] == "DRUG"
    assert "PERSON" not in mapping  # an empty target drops a type


def test_aliases_pick_one_stand_in_type_per_label():
    assert aliases(CONLL, default_type_map(CONLL)) == {
        "PER": "PERSON",
        "LOC": "GPE",
        "ORG": "ORG",
        "MISC": "NORP",
    }


# -- calibration and selection (no model needed) --------------------------------------------------


def test_sentence_calibrator_is_identity_without_evidence_and_monotone_with_it():
    assert SentenceCalibrator()(0.3) == 0.3
    rng = np.random.default_rng(0)
    raw = rng.uniform(0, 1, 400)
    correct = rng.random(400) < raw**2  # over-confident raw scores
    cal = SentenceCalibrator.fit(raw, correct)
    values = [cal(x) for x in (0.1, 0.5, 0.9)]
    assert values == sorted(values)
    assert cal(0.5) < 0.45  # pulled towards the observed rate (0.25)


def test_span_f1_is_micro_over_spans():
    predicted = [{(0, 1, "PER")}, {(2, 3, "LOC"), (4, 5, "ORG")}]
    gold = [{(0, 1, "PER")}, {(2, 3, "LOC"), (5, 6, "ORG")}]
    precision, recall, f1 = span_f1(predicted, gold)
    assert precision == pytest.approx(2 / 3) and recall == pytest.approx(2 / 3)
    assert f1 == pytest.approx(2 / 3)


class _Fixed:
    """A model that answers every sentence with the same spans (confidence by sentence)."""

    def __init__(self, name: str, spans: set[tuple[int, int, str]]) -> None:
        self.name = name
        self.spans = spans
        self.calibrator = SentenceCalibrator()

    def predict(self, sentences):
        return [
            SpanPrediction(
                spans=tuple((s, e, label, 0.9) for s, e, label in sorted(self.spans)),
                confidence=self.calibrator(0.9),
                raw_confidence=0.9,
                mnlp=-0.1,
                token_entropy=0.1,
            )
            for _ in sentences
        ]

    def with_calibrator(self, calibrator):
        model = _Fixed(self.name, self.spans)
        model.calibrator = calibrator
        return model


def test_selection_lets_cross_validation_choose_and_keeps_out_of_fold_predictions():
    sentences = [_sentence(f"Ann went home {i}") for i in range(9)]
    gold = [[(0, 1, "PER")]] * 9
    right = Candidate("right", lambda s, g: _Fixed("right", {(0, 1, "PER")}))
    wrong = Candidate("wrong", lambda s, g: _Fixed("wrong", {(2, 3, "LOC")}))
    selection = select_span_model([right, wrong], sentences, gold, folds=3)
    assert selection.chosen == "right"
    assert selection.scores["right"].f1 == 1.0 and selection.scores["wrong"].f1 == 0.0
    assert selection.oof is not None and len(selection.oof) == 9


def test_selection_without_enough_sentences_fits_the_last_candidate_uncalibrated():
    fitted = []
    last = Candidate("last", lambda s, g: fitted.append(len(s)) or _Fixed("last", set()))
    selection = select_span_model([last], [_sentence("a b")], [[]], folds=3)
    assert selection.chosen == "last" and selection.oof is None and fitted == [1]


# -- the real candidates ---------------------------------------------------------------------------

spacy = pytest.importorskip("spacy")


@pytest.fixture(scope="module")
def pretrained():
    from labelloop.learn.spans import SpacySpanModel

    return SpacySpanModel.pretrained(CONLL)


@pytest.mark.real_model
def test_pretrained_recogniser_speaks_the_project_labels(pretrained):
    [prediction] = pretrained.predict([_sentence("Angela Merkel visited Paris on Monday .")])
    assert prediction.span_set() == {(0, 2, "PER"), (3, 4, "LOC")}  # DATE maps to nothing
    assert all(0.5 <= m <= 1.0 for *_, m in prediction.spans)
    assert 0.0 < prediction.confidence <= 1.0 and prediction.mnlp <= 0.0
    assert 0.0 <= prediction.token_entropy <= 1.0


@pytest.mark.real_model
def test_resumed_training_learns_a_new_label_and_survives_a_round_trip(pretrained, tmp_path: Path):
    from labelloop.learn.spans import SpacySpanModel

    model = SpacySpanModel.pretrained(["PER", "DRUG"])
    drugs = ["aspirin", "ibuprofen", "paracetamol", "warfarin"]
    texts = [f"Patients took {drugs[i % 4]} daily ." for i in range(16)]
    sentences = [_sentence(t) for t in texts]
    gold = [[(2, 3, "DRUG")] for _ in texts]
    assert not any(p.spans for p in model.predict(sentences[:4]))  # DRUG is new to the model
    tuned = model.fit(sentences, gold, args=SpanArgs(epochs=10, seed=0))
    assert tuned.fine_tuned and tuned.name == "spacy-finetuned"
    [prediction] = tuned.predict([_sentence("She took aspirin daily .")])
    assert prediction.span_set() == {(2, 3, "DRUG")}
    tuned.save(tmp_path / "m")
    again = SpacySpanModel.load(tmp_path / "m")
    assert again.predict(sentences[:3]) == tuned.predict(sentences[:3])


@pytest.mark.real_model
def test_transformer_candidate_fits_predicts_and_round_trips(tmp_path: Path):
    from labelloop.learn.spans import TransformerSpanModel

    sentences = [_sentence(f"Yesterday Anna{i % 4} met Bob in Rome .") for i in range(16)]
    gold = [[(1, 2, "PER"), (3, 4, "PER"), (5, 6, "LOC")] for _ in sentences]
    model = TransformerSpanModel.untrained(["PER", "LOC"], args=SpanArgs(epochs=12, seed=0),
                                           learning_rate=3e-4)  # fmt: skip
    tuned = model.fit(sentences, gold)
    predictions = tuned.predict(sentences[:4])
    assert sum(p.span_set() == set(gold[0]) for p in predictions) >= 3
    for p in predictions:
        assert 0.0 < p.confidence <= 1.0 and p.mnlp <= 0.0 and 0.0 <= p.token_entropy <= 1.0
        assert p.token_probs is not None and p.token_probs.shape == (7, 3)  # O, PER, LOC
        assert np.allclose(p.token_probs.sum(axis=1), 1.0)
    tuned.save(tmp_path / "t")
    assert TransformerSpanModel.is_saved_in(tmp_path / "t")
    again = TransformerSpanModel.load(tmp_path / "t")
    assert [p.span_set() for p in again.predict(sentences[:4])] == [
        p.span_set() for p in predictions
    ]
    with pytest.raises(Exception, match="unknown label"):
        model.fit(sentences[:1], [[(0, 1, "ORG")]])
