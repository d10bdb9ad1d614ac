"""One contract every backbone passes: the fake one always, real ones where installed."""

from __future__ import annotations

import numpy as np
import pytest
from backbone_factories import make_texts

from labelloop.backbones import Encoder, get_encoder, list_backbones
from labelloop.errors import InvalidInput
from labelloop.schema import Modality


def _param(name: str) -> object:
    info = next(b for b in list_backbones() if b.name == name)
    marks = []
    if name != "fake":
        marks.append(pytest.mark.real_model)
    if info.extra is not None:
        marks.append(pytest.mark.slow)
    if not info.installed:
        reason = f"{name} not installed (pip install 'labelloop[{info.extra}]')"
        marks.append(pytest.mark.skip(reason=reason))
    return pytest.param(name, marks=marks, id=name)


TEXT_BACKBONES = [_param(b.name) for b in list_backbones() if b.modality == Modality.TEXT]

SIMILAR = ("My card has not arrived yet", "Where is my new card? It still has not arrived")
UNRELATED = "The football team won the match with a late goal"


@pytest.fixture(scope="module", params=TEXT_BACKBONES)
def encoder(request: pytest.FixtureRequest) -> Encoder:
    return get_encoder(request.param)


def test_satisfies_protocol_and_declared_dim(encoder: Encoder) -> None:
    info = next(b for b in list_backbones() if b.name == encoder.name)
    assert isinstance(encoder, Encoder)
    assert encoder.dim == info.dim
    assert encoder.modality == Modality.TEXT


def test_shape_dtype_contiguous_unit_norm(encoder: Encoder) -> None:
    texts = make_texts(7)
    emb = encoder.encode(texts, batch_size=3)
    assert emb.shape == (7, encoder.dim)
    assert emb.dtype == np.float32
    assert emb.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_order_preserved_despite_length_sorting(encoder: Encoder) -> None:
    texts = make_texts(9, seed=1)
    batched = encoder.encode(texts, batch_size=4)
    one_by_one = np.vstack([encoder.encode([t]) for t in texts])
    cosine = (batched * one_by_one).sum(axis=1)
    assert cosine.min() > 0.999


def test_deterministic(encoder: Encoder) -> None:
    texts = make_texts(5, seed=2)
    np.testing.assert_allclose(encoder.encode(texts), encoder.encode(texts), atol=1e-6)


def test_empty_input_gives_zero_rows(encoder: Encoder) -> None:
    emb = encoder.encode([])
    assert emb.shape == (0, encoder.dim)
    assert emb.dtype == np.float32


def test_empty_string_still_unit_norm(encoder: Encoder) -> None:
    emb = encoder.encode(["", "x"])
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_similar_texts_are_closer_than_unrelated(encoder: Encoder) -> None:
    a, b, c = encoder.encode([*SIMILAR, UNRELATED])
    assert a @ b > a @ c + 0.1
    assert a @ b > b @ c + 0.1


def test_progress_increments_sum_to_n(encoder: Encoder) -> None:
    seen: list[int] = []
    encoder.encode(make_texts(11), batch_size=4, progress=seen.append)
    assert sum(seen) == 11
    assert len(seen) == 3


@pytest.mark.parametrize("bad", ["a single string", ["ok", 3], ["ok", None]])
def test_rejects_non_text_inputs(encoder: Encoder, bad: object) -> None:
    with pytest.raises(InvalidInput):
        encoder.encode(bad)  # type: ignore[arg-type]


def test_rejects_bad_batch_size(encoder: Encoder) -> None:
    with pytest.raises(InvalidInput, match="batch_size"):
        encoder.encode(["a"], batch_size=0)
