from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from labelloop.backbones import FakeEncoder
from labelloop.errors import InvalidInput
from labelloop.learn import label_prompts, zero_shot_pred_probs
from labelloop.schema import LabelSchema

DATA = os.environ.get(
    "LABELLOOP_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data")
)


def _zero_shot_accuracy(encoder, texts, labels, schema) -> float:
    prompts = label_prompts(schema)
    label_emb = [encoder.encode(p) for p in prompts]
    p = zero_shot_pred_probs(encoder.encode(texts), label_emb)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-5)
    return float((p.argmax(axis=1) == np.array([schema.index(lab) for lab in labels])).mean())


def test_zero_shot_beats_chance_on_toy_texts_with_the_fake_encoder():
    schema = LabelSchema(
        task="text-classification",
        labels=["sports", "finance", "weather"],
        descriptions={"sports": "football match goal team", "finance": "stock market bank money"},
    )
    texts = [
        "the team scored a late goal",
        "stock prices fell at the bank",
        "heavy rain and wind",
        "football fans at the match",
        "money markets and the bank rate",
        "sunny weather today",
    ]
    labels = ["sports", "finance", "weather"] * 2
    assert _zero_shot_accuracy(FakeEncoder(dim=256), texts, labels, schema) > 0.6


def test_zero_shot_validates_shapes():
    with pytest.raises(InvalidInput):
        zero_shot_pred_probs(np.ones((2, 4)), np.ones((3, 5)))
    with pytest.raises(InvalidInput):
        zero_shot_pred_probs(np.ones((2, 4)), np.ones((3, 4)), temperature=0.0)
    p = zero_shot_pred_probs(np.eye(3), np.eye(3), temperature=0.01)
    np.testing.assert_array_equal(p.argmax(axis=1), [0, 1, 2])


@pytest.mark.real_model
def test_zero_shot_beats_chance_on_real_ag_news_with_minilm():
    path = os.path.join(DATA, "agnews", "eval.csv")
    if not os.path.exists(path):
        pytest.skip(f"benchmark data not found at {path}")
    from labelloop.backbones import get_encoder

    df = pd.read_csv(path).groupby("label").head(10)  # 40 items, 10 per class
    schema = LabelSchema(task="text-classification", labels=sorted(df.label.unique()))
    acc = _zero_shot_accuracy(get_encoder("minilm-l6"), df.text.tolist(), df.label.tolist(), schema)
    assert acc > 0.5  # chance is 0.25
