"""The spans task: answers are token-snapped character spans; bad spans are refused by index."""

from __future__ import annotations

import pytest

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema
from labelloop.tasks import Where, task_for
from labelloop.tasks.spans import bio_tags, from_bio, to_bio, token_offsets

SCHEMA = LabelSchema(task="spans", labels=["PER", "LOC", "ORG"])
ITEM = {"text": "Peter Blackburn flew to Brussels."}
TASK = task_for(SCHEMA)


def test_spans_are_snapped_to_tokens_and_sorted() -> None:
    value = [[24, 30, "LOC"], {"start": 2, "end": 8, "label": "PER"}]
    assert TASK.check_answer(SCHEMA, value, data=ITEM) == [
        {"start": 0, "end": 15, "label": "PER"},
        {"start": 24, "end": 32, "label": "LOC"},  # "Brussels", not the full stop after it
    ]


def test_an_empty_answer_means_no_entity() -> None:
    assert TASK.check_answer(SCHEMA, [], data=ITEM) == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("PER", "must be a list"),
        ([[0, 5]], "span 0 must be"),
        ([[0, 5, "PER"], ["a", 9, "LOC"]], "span 1: start and end must be integers"),
        ([[0, 99, "PER"]], r"span 0 \(0-99\) is out of range of a text of 33 characters"),
        ([[5, 5, "PER"]], "out of range"),
        ([[5, 6, "PER"]], r"span 0 \(5-6\) covers no token"),
        ([[0, 5, "DATE"]], "span 0 .*unknown label 'DATE'; the project's labels are PER, LOC, ORG"),
        ([[0, 5, "PER"], [0, 5, "PER"]], "given twice"),
        ([[0, 15, "PER"], [6, 15, "ORG"]], "overlap; the project does not allow"),
    ],
)
def test_bad_spans_are_refused_naming_the_span(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as info:
        TASK.check_answer(SCHEMA, value, data=ITEM, where=Where("x.jsonl", 3, field="spans"))
    assert (info.value.file, info.value.line, info.value.field) == ("x.jsonl", 3, "spans")


def test_overlap_is_a_schema_setting() -> None:
    schema = LabelSchema(task="spans", labels=["PER", "ORG"], allow_overlap=True)
    value = [[0, 15, "PER"], [6, 15, "ORG"]]
    assert len(TASK.check_answer(schema, value, data=ITEM)) == 2


def test_agreement_is_exact_span_set_equality() -> None:
    a = [{"start": 0, "end": 15, "label": "PER"}]
    assert TASK.agree(SCHEMA, a, [[0, 15, "PER"]])
    assert not TASK.agree(SCHEMA, a, [[0, 5, "PER"]])
    assert not TASK.agree(SCHEMA, a, [])
    assert not TASK.agree(SCHEMA, a, None)


def test_corpus_tokens_are_kept_and_bio_round_trips() -> None:
    item = {"text": "EU rejects German call", "tokens": ["EU", "rejects", "German", "call"]}
    offsets = token_offsets(item)
    tags = ["B-ORG", "O", "B-MISC", "O"]
    spans = from_bio(offsets, tags)
    assert spans == [
        {"start": 0, "end": 2, "label": "ORG"},
        {"start": 11, "end": 17, "label": "MISC"},
    ]
    assert to_bio(offsets, spans) == tags
    assert bio_tags(SCHEMA) == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    with pytest.raises(InvalidInput, match=r"token 1 .* is not in the item's text"):
        token_offsets({"text": "EU", "tokens": ["EU", "rejects"]})


def test_label_studio_regions_round_trip() -> None:
    value = TASK.check_answer(SCHEMA, [[0, 15, "PER"], [24, 32, "LOC"]], data=ITEM)
    result = TASK.label_studio_result(SCHEMA, value, to_name="text", text=ITEM["text"])
    first = {"start": 0, "end": 15, "labels": ["PER"], "text": "Peter Blackburn"}
    assert result[0]["value"] == first
    assert TASK.value_from_label_studio(SCHEMA, result) == value
    assert TASK.value_from_label_studio(SCHEMA, [{"type": "choices"}]) is None
    assert "<Labels" in TASK.label_studio_config(SCHEMA)


def test_classification_outputs_are_refused() -> None:
    import numpy as np

    with pytest.raises(InvalidInput, match="span model"):
        TASK.decode(SCHEMA, np.zeros((1, 3)))
    assert TASK.strategy_name(SCHEMA, "margin") == "mnlp"
    assert TASK.strategy_name(SCHEMA, "entropy") == "token_entropy"
