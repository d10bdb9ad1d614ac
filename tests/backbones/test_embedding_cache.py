"""EmbeddingCache: compute once, resume after a crash, survive damage and concurrent writers."""

from __future__ import annotations

import logging
import multiprocessing
import tempfile
from pathlib import Path

import numpy as np
import pytest
from backbone_factories import CountingEncoder, make_hashes, make_texts
from hypothesis import given, settings
from hypothesis import strategies as st

from labelloop.backbones import EmbeddingCache, FakeEncoder
from labelloop.errors import Conflict, InvalidInput


def _chunk_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("chunk-*.npy"))


def test_returns_what_the_encoder_returns_in_input_order(tmp_path: Path) -> None:
    texts = make_texts(10)
    enc = CountingEncoder()
    emb = EmbeddingCache(tmp_path).embed(enc, texts, make_hashes(texts))
    np.testing.assert_allclose(emb, FakeEncoder(dim=16).encode(texts), atol=1e-6)
    assert emb.dtype == np.float32 and emb.flags["C_CONTIGUOUS"]


def test_second_call_computes_nothing(tmp_path: Path) -> None:
    texts = make_texts(20)
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    first = cache.embed(enc, texts, make_hashes(texts))
    assert enc.n_encoded == 20
    second = EmbeddingCache(tmp_path).embed(enc, texts[::-1], make_hashes(texts[::-1]))
    assert enc.n_encoded == 20
    np.testing.assert_array_equal(second, first[::-1])


def test_only_new_items_are_computed(tmp_path: Path) -> None:
    texts = make_texts(12)
    enc = CountingEncoder()
    cache = EmbeddingCache(tmp_path)
    cache.embed(enc, texts[:8], make_hashes(texts[:8]))
    cache.embed(enc, texts, make_hashes(texts))
    assert enc.calls[-1] == texts[8:]
    assert cache.count("fake") == 12


def test_duplicates_in_one_call_are_embedded_once(tmp_path: Path) -> None:
    texts = ["a cat", "a dog", "a cat", "a cat", "a bird"]
    enc = CountingEncoder()
    emb = EmbeddingCache(tmp_path).embed(enc, texts, make_hashes(texts))
    assert enc.n_encoded == 3
    np.testing.assert_array_equal(emb[0], emb[2])
    np.testing.assert_array_equal(emb[0], emb[3])
    assert not np.allclose(emb[0], emb[1])


def test_progress_sums_to_n_with_cached_and_duplicate_rows(tmp_path: Path) -> None:
    texts = make_texts(10)
    cache = EmbeddingCache(tmp_path, commit_rows=3)
    cache.embed(CountingEncoder(), texts[:4], make_hashes(texts[:4]))
    seen: list[int] = []
    both = texts + texts[:2]
    cache.embed(CountingEncoder(), both, make_hashes(both), batch_size=2, progress=seen.append)
    assert sum(seen) == len(both)
    assert seen[0] == 6  # 4 cached + 2 duplicates, reported up front


def test_resumes_after_a_crash_mid_way(tmp_path: Path) -> None:
    texts = make_texts(10)
    hashes = make_hashes(texts)
    crashing = CountingEncoder(fail_on_call=2)
    with pytest.raises(KeyboardInterrupt):
        EmbeddingCache(tmp_path, commit_rows=4).embed(crashing, texts, hashes)
    cache = EmbeddingCache(tmp_path, commit_rows=4)
    assert cache.count("fake") == 4  # the first chunk was committed
    healthy = CountingEncoder()
    emb = cache.embed(healthy, texts, hashes)
    assert healthy.n_encoded == 6
    np.testing.assert_allclose(emb, FakeEncoder(dim=16).encode(texts), atol=1e-6)


def test_interrupted_commit_leaves_an_orphan_that_is_ignored(tmp_path: Path) -> None:
    texts = make_texts(6)
    cache = EmbeddingCache(tmp_path, commit_rows=3)
    cache.embed(CountingEncoder(), texts, make_hashes(texts))
    folder = tmp_path / "fake"
    (folder / "chunk-00000002.keys.npy").unlink()  # killed between the two renames
    assert cache.count("fake") == 3
    enc = CountingEncoder()
    emb = cache.embed(enc, texts, make_hashes(texts))
    assert enc.n_encoded == 3
    np.testing.assert_allclose(emb, FakeEncoder(dim=16).encode(texts), atol=1e-6)
    assert not (folder / "chunk-00000002.npy").exists()  # orphan cleaned by the next commit


@pytest.mark.parametrize("damage", ["keys_garbage", "emb_truncated", "emb_missing"])
def test_damaged_chunk_is_ignored_and_recomputed(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    texts = make_texts(6)
    cache = EmbeddingCache(tmp_path, commit_rows=3)
    cache.embed(CountingEncoder(), texts, make_hashes(texts))
    folder = tmp_path / "fake"
    if damage == "keys_garbage":
        (folder / "chunk-00000001.keys.npy").write_bytes(b"not a numpy file")
    elif damage == "emb_truncated":
        path = folder / "chunk-00000001.npy"
        path.write_bytes(path.read_bytes()[:200])
    else:
        (folder / "chunk-00000001.npy").unlink()
    with caplog.at_level(logging.WARNING):
        assert cache.count("fake") == 3
    assert "unreadable chunk 1" in caplog.text
    enc = CountingEncoder()
    emb = cache.embed(enc, texts, make_hashes(texts))
    assert enc.calls == [texts[:3]]
    np.testing.assert_allclose(emb, FakeEncoder(dim=16).encode(texts), atol=1e-6)
    assert cache.count("fake") == 6


def test_backbones_are_kept_apart(tmp_path: Path) -> None:
    texts = make_texts(5)
    cache = EmbeddingCache(tmp_path)
    a = cache.embed(CountingEncoder(name="alpha", dim=8), texts, make_hashes(texts))
    b_enc = CountingEncoder(name="beta", dim=24)
    b = cache.embed(b_enc, texts, make_hashes(texts))
    assert b_enc.n_encoded == 5
    assert a.shape == (5, 8) and b.shape == (5, 24)
    assert cache.count("alpha") == 5 and cache.count("beta") == 5
    cache.clear("alpha")
    assert cache.count("alpha") == 0 and cache.count("beta") == 5
    assert cache.backbone_names() == ["alpha", "beta"]


def test_lookup_returns_rows_and_found_mask(tmp_path: Path) -> None:
    texts = make_texts(4)
    hashes = make_hashes(texts)
    cache = EmbeddingCache(tmp_path)
    emb = cache.embed(CountingEncoder(), texts[:3], hashes[:3])
    rows, found = cache.lookup("fake", [hashes[2], hashes[3], hashes[0]])
    assert found.tolist() == [True, False, True]
    np.testing.assert_array_equal(rows[0], emb[2])
    np.testing.assert_array_equal(rows[1], np.zeros(16, dtype=np.float32))
    np.testing.assert_array_equal(rows[2], emb[0])


def test_lookup_of_an_unknown_backbone(tmp_path: Path) -> None:
    rows, found = EmbeddingCache(tmp_path).lookup("nothing", ["h1", "h2"], dim=5)
    assert rows.shape == (2, 5) and not found.any()
    assert EmbeddingCache(tmp_path).count("nothing") == 0


def test_width_change_under_one_name_is_a_conflict(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    cache.embed(CountingEncoder(dim=8), ["a"], ["h"])
    with pytest.raises(Conflict, match="clear it"):
        cache.embed(CountingEncoder(dim=16), ["b"], ["h2"])


@pytest.mark.parametrize(
    ("inputs", "hashes", "match"),
    [
        (["a", "b"], ["h1"], "2 inputs but 1 hashes"),
        (["a"], [""], "non-empty"),
        (["a"], [3], "hash 0"),
    ],
)
def test_bad_hashes_are_rejected(tmp_path: Path, inputs: list, hashes: list, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        EmbeddingCache(tmp_path).embed(CountingEncoder(), inputs, hashes)


@pytest.mark.parametrize("name", ["../evil", "a/b", "", ".hidden"])
def test_unsafe_backbone_names_are_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidInput, match="cache folder"):
        EmbeddingCache(tmp_path).embed(CountingEncoder(name=name), ["a"], ["h"])


def test_empty_call(tmp_path: Path) -> None:
    emb = EmbeddingCache(tmp_path).embed(CountingEncoder(), [], [])
    assert emb.shape == (0, 16)


def test_many_small_chunks_are_merged(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path, commit_rows=1)
    texts = make_texts(70)
    first = cache.embed(CountingEncoder(), texts, make_hashes(texts))
    assert len(_chunk_files(tmp_path / "fake")) == 2  # one merged chunk: embeddings + keys
    enc = CountingEncoder()
    np.testing.assert_array_equal(cache.embed(enc, texts, make_hashes(texts)), first)
    assert enc.n_encoded == 0


def _fill(directory: str, start: int, stop: int) -> None:
    texts = [f"text {i}" for i in range(start, stop)]
    EmbeddingCache(directory, commit_rows=7).embed(FakeEncoder(dim=16), texts, texts)


def test_two_processes_filling_one_cache(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_fill, args=(str(tmp_path), s, s + 120)) for s in (0, 60)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    texts = [f"text {i}" for i in range(180)]
    cache = EmbeddingCache(tmp_path)
    assert cache.count("fake") == 180
    rows, found = cache.lookup("fake", texts)
    assert found.all()
    np.testing.assert_allclose(rows, FakeEncoder(dim=16).encode(texts), atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(0, 15), max_size=40),
    st.lists(st.integers(0, 15), max_size=40),
    st.integers(1, 6),
)
def test_cached_result_always_equals_direct_encoding(
    first: list[int], second: list[int], commit_rows: int
) -> None:
    enc = FakeEncoder(dim=16)
    with tempfile.TemporaryDirectory() as tmp:
        cache = EmbeddingCache(tmp, commit_rows=commit_rows)
        for ids in (first, second):
            texts = [f"word{i} shared" for i in ids]
            emb = cache.embed(enc, texts, [str(i) for i in ids])
            np.testing.assert_allclose(emb, enc.encode(texts).reshape(-1, 16), atol=1e-6)
        assert cache.count("fake") == len(set(first) | set(second))


def test_fingerprint_clashes_are_resolved_by_the_full_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labelloop.backbones import _chunks

    monkeypatch.setattr(_chunks, "fingerprint", lambda keys: np.zeros(len(keys), dtype=np.uint64))
    texts = make_texts(9)
    hashes = make_hashes(texts)
    cache = EmbeddingCache(tmp_path, commit_rows=4)
    first = cache.embed(CountingEncoder(), texts[:6], hashes[:6])
    enc = CountingEncoder()
    second = cache.embed(enc, texts[::-1], hashes[::-1])
    assert enc.calls == [texts[8:5:-1]]
    np.testing.assert_array_equal(second[3:], first[::-1])
    assert cache.count("fake") == 9


def test_overlong_hash_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="at most 256 bytes"):
        EmbeddingCache(tmp_path).embed(CountingEncoder(), ["a"], ["x" * 300])


def test_cached_duplicates_and_gaps_are_gathered_right(tmp_path: Path) -> None:
    texts = make_texts(3)
    hashes = make_hashes(texts)
    cache = EmbeddingCache(tmp_path)
    stored = cache.embed(CountingEncoder(), texts, hashes)
    picks = [0, 0, 2]
    emb = cache.embed(CountingEncoder(), [texts[i] for i in picks], [hashes[i] for i in picks])
    np.testing.assert_array_equal(emb, stored[picks])
