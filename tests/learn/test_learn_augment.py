from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from learn_factories import blobs

from labelloop.learn import eda_augment, mixup


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(st.text(alphabet="abc ", min_size=0, max_size=30), min_size=1, max_size=8),
    factor=st.integers(0, 3),
    seed=st.integers(0, 100),
)
def test_eda_copies_are_edits_of_their_source(texts, factor, seed):
    labels = np.arange(len(texts))
    new, new_labels, source = eda_augment(texts, labels, factor=factor, seed=seed)
    assert len(new) == len(texts) * factor
    np.testing.assert_array_equal(new_labels, labels[source])
    for text, src in zip(new, source, strict=True):
        original = texts[src].split()
        assert set(text.split()) <= set(original)
        if original:
            assert text.split()  # never emptied
    again = eda_augment(texts, labels, factor=factor, seed=seed)
    assert again[0] == new


def test_eda_changes_most_long_texts():
    texts = ["please tell me why my card payment was declined at the shop today"] * 10
    new, _, _ = eda_augment(texts, np.zeros(10, int), factor=1, seed=0)
    assert sum(t != texts[0] for t in new) >= 8


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 20), factor=st.integers(0, 3), alpha=st.floats(0.05, 2.0))
def test_mixup_gives_convex_mixes_with_soft_labels(n, factor, alpha):
    x, y = blobs(n, 2, dim=4)
    mx, my = mixup(x, y, n_labels=3, alpha=alpha, factor=factor, seed=0)
    assert mx.shape == (2 * n * (1 + factor), 4) and my.shape == (len(mx), 3)
    np.testing.assert_allclose(mx[: 2 * n], x)
    np.testing.assert_allclose(my.sum(axis=1), 1.0, atol=1e-5)
    assert my[:, 2].max() == 0.0
    # each mixed row lies within the bounding box of the data
    assert (mx.min(axis=0) >= x.min(axis=0) - 1e-5).all()
    assert (mx.max(axis=0) <= x.max(axis=0) + 1e-5).all()
