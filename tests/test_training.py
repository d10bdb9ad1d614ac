"""Training, prediction and the model registry through the service layer (fake backbone)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factories import TOPICS, topic_texts, write_csv
from labelloop.errors import InvalidInput, NotFound


def _project(ws, tmp_path: Path, *, n: int = 60, labelled: int = 0, name: str = "p"):
    ws.create_project(name, labels="sports,tech,politics", backbone="fake")
    rows = [
        {"id": f"i{i}", "text": t, "label": label if i < labelled else ""}
        for i, (t, label) in enumerate(topic_texts(n))
    ]
    ws.import_file(
        name,
        write_csv(tmp_path / f"{name}.csv", rows),
        id_field="id",
        label_field="label",
        annotator="alice",
    )
    return ws


def test_zero_shot_start_gives_better_than_chance_suggestions(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=60)
    # the fake encoder knows words, not meanings: describe each label with its typical words
    ws.update_project("p", descriptions={label: " ".join(words) for label, words in TOPICS.items()})
    result = ws.predict("p")
    assert result.kind == "zero-shot"
    assert result.items == 60
    items = ws.next_items("p", n=60)
    truth = dict(topic_texts(60))
    hits = sum(it.suggestion.value[0] == truth[it.data["text"]] for it in items)
    assert hits / 60 > 0.5  # chance is 1/3


def test_train_promotes_first_model_and_refreshes_suggestions(workspace, tmp_path):
    ws = _project(workspace, tmp_path, n=90, labelled=30)
    result = ws.train("p")
    assert result.promoted and result.kind == "head" and result.n_labels == 30
    assert 0.0 <= result.metrics["accuracy"] <= 1.0
    assert result.metrics["ece"] is not None
    status = ws.status("p")
    assert status.champion == result.model_version
    assert status.suggestions == 60  # unlabelled items only
    models = ws.models("p")
    assert [m.status for m in models] == ["champion"]


def test_second_predict_embeds_nothing_new(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=40, labelled=12)
    ws.train("p")
    again = ws.predict("p")
    assert again.embedded == 0


def test_promotion_rule_keeps_a_worse_challenger(sqlite_workspace, tmp_path, monkeypatch):
    ws = _project(sqlite_workspace, tmp_path, n=150, labelled=60)
    first = ws.train("p")
    truth = dict(topic_texts(150))
    for it in ws.next_items("p", n=60):
        ws.submit("p", it.item_id, truth[it.data["text"]], annotator="alice")

    import labelloop.learn

    real_fit = labelloop.learn.fit_model

    def sabotaged_fit(embeddings, labels, **kwargs):
        # a challenger that learned shuffled labels: clearly worse on the new held-out labels
        shuffled = np.random.default_rng(0).permutation(labels)
        return real_fit(embeddings, shuffled, **kwargs)

    monkeypatch.setattr(labelloop.learn, "fit_model", sabotaged_fit)
    second = ws.train("p")
    assert not second.promoted, second.reason
    statuses = {m.version: m.status for m in ws.models("p")}
    assert statuses[first.model_version] == "champion"
    assert statuses[second.model_version] == "challenger"
    assert ws.status("p").champion == first.model_version


def test_promote_and_rollback(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=60, labelled=30)
    v1 = ws.train("p").model_version
    items = ws.next_items("p", n=5)
    for it in items:
        ws.submit("p", it.item_id, it.suggestion.value, annotator="a")
    v2 = ws.train("p").model_version
    assert ws.status("p").champion == v2
    back = ws.rollback("p")
    assert back.version == v1 and ws.status("p").champion == v1
    ws.promote("p", v2)
    assert ws.status("p").champion == v2
    with pytest.raises(NotFound):
        ws.promote("p", 99)


def test_interrupted_training_leaves_champion_intact(sqlite_workspace, tmp_path, monkeypatch):
    ws = _project(sqlite_workspace, tmp_path, n=60, labelled=30)
    v1 = ws.train("p").model_version
    import labelloop.services.training as training

    def broken_save(folder, model):
        (folder / "partial").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "save_head_model", broken_save)
    with pytest.raises(KeyboardInterrupt):
        ws.train("p")
    assert ws.status("p").champion == v1
    assert [m.version for m in ws.models("p")] == [v1]
    model_root = ws.artifacts.root / "models"
    assert not [p for p in model_root.rglob("*") if p.name.startswith(".tmp")]
    # and the champion still predicts
    assert ws.predict("p").model_version == v1


def test_evaluate_on_external_file(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=60, labelled=45)
    ws.train("p")
    rows = [{"text": f"{t} extra", "label": label} for t, label in topic_texts(30, seed=7)]
    result = ws.evaluate("p", write_csv(tmp_path / "eval.csv", rows))
    assert result.n == 30 and result.accuracy > 0.6
    bad = write_csv(tmp_path / "bad.csv", [{"text": "x", "label": "cooking"}])
    with pytest.raises(InvalidInput, match=r"bad\.csv:2"):
        ws.evaluate("p", bad)


def test_evaluate_without_model(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=10)
    with pytest.raises(NotFound, match="no trained model"):
        ws.evaluate("p", write_csv(tmp_path / "e.csv", [{"text": "x", "label": "tech"}]))


def test_multi_label_training(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("m", labels="sports,tech,politics", multi_label=True, backbone="fake")
    rows = []
    for i, (t, label) in enumerate(topic_texts(60)):
        labels = label if i % 4 else f"{label},tech" if label != "tech" else "tech,politics"
        rows.append({"text": t, "label": labels if i < 40 else ""})
    ws.import_file(
        "m", write_csv(tmp_path / "m.csv", rows), label_field="label", label_separator=","
    )
    result = ws.train("m")
    assert result.promoted
    items = ws.next_items("m", n=5)
    assert all(isinstance(it.suggestion.value, list) for it in items)
    probs = np.array([list(it.suggestion.pred_probs.values()) for it in items])
    assert probs.shape == (5, 3)


def test_switching_backbone_compares_champion_on_its_own_embeddings(sqlite_workspace, tmp_path):
    from labelloop.backbones import BackboneInfo, FakeEncoder, register_backbone
    from labelloop.schema import Modality

    register_backbone(
        BackboneInfo("fake-wide", Modality.TEXT, 96),
        lambda: FakeEncoder(dim=96, name="fake-wide"),
        replace=True,
    )
    ws = _project(sqlite_workspace, tmp_path, n=90, labelled=30)
    ws.train("p")
    truth = dict(topic_texts(90))
    for it in ws.next_items("p", n=10):
        ws.submit("p", it.item_id, truth[it.data["text"]], annotator="a")
    ws.update_project("p", backbone="fake-wide")
    result = ws.train("p")  # the 64-d champion is scored on 64-d embeddings of the new labels
    assert result.n_labels == 40
    assert [m.backbone for m in ws.models("p")][-1] == "fake-wide"


@pytest.mark.slow
@pytest.mark.real_model
def test_finetuning_stage_trains_on_a_fine_tuned_backbone(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("ft", labels="sports,tech,politics")
    rows = [{"text": t, "label": label} for t, label in topic_texts(12)]
    ws.import_file("ft", write_csv(tmp_path / "ft.csv", rows), label_field="label")
    ws.update_project(
        "ft", settings={"finetune": True, "finetune_min_labels": 8, "finetune_max_pairs": 16}
    )
    result = ws.train("ft")
    assert result.kind == "finetuned"
    champion = next(m for m in ws.models("ft") if m.version == result.model_version)
    assert champion.backbone.startswith("ft-")
    assert (ws.artifacts.root / "encoders" / champion.backbone / "modules.json").exists()
    # a new process knows nothing of the fine-tuned backbone: predict registers it from disk
    from labelloop.backbones._registry import unregister_backbone

    unregister_backbone(champion.backbone)
    ws.import_file("ft", write_csv(tmp_path / "more.csv", [{"text": "a new goal for the team"}]))
    assert ws.predict("ft").items >= 1
