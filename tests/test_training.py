"""Training, prediction and the model registry through the service layer (fake backbone)."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from factories import TOPICS, topic_texts, write_csv
from labelloop.errors import InvalidInput, NotFound
from labelloop.services.data.importing import ImportOptions


def _project(ws, tmp_path: Path, *, n: int = 60, labelled: int = 0, name: str = "p"):
    ws.create_project(name, labels="sports,tech,politics", backbone="fake")
    rows = [
        {"id": f"i{i}", "text": t, "label": label if i < labelled else ""}
        for i, (t, label) in enumerate(topic_texts(n))
    ]
    ws.import_file(
        name,
        write_csv(tmp_path / f"{name}.csv", rows),
        ImportOptions(id_field="id", label_field="label", annotator="alice"),
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


def test_a_fixed_C_replaces_the_cross_validated_search(sqlite_workspace, tmp_path):
    ws = _project(sqlite_workspace, tmp_path, n=60, labelled=45)
    searched = ws.train("p")
    fixed = ws.train("p", C=0.125)
    params = {m.version: m.params for m in ws.models("p")}
    assert params[fixed.model_version]["C"] == 0.125
    assert params[searched.model_version]["C"] != 0.125  # the grid holds no 0.125
    with pytest.raises(InvalidInput, match="positive"):
        ws.train("p", C=-1.0)


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
    import labelloop.services.models.training as training

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
        "m",
        write_csv(tmp_path / "m.csv", rows),
        ImportOptions(label_field="label", label_separator=","),
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
    ws.import_file("ft", write_csv(tmp_path / "ft.csv", rows), ImportOptions(label_field="label"))
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


def test_semi_supervised_setting_decides_whether_unlabelled_items_are_used(
    sqlite_workspace, tmp_path
):
    ws = _project(sqlite_workspace, tmp_path, n=90, labelled=15)
    assert ws.project("p").settings["semi_supervised"] == "auto"
    ws.train("p")  # auto: 15 labels is far below the threshold
    params = ws.models("p")[0].params
    assert params["args"]["semi_supervised"] is True
    ws.update_project("p", settings={"semi_supervised": "off"})
    ws.train("p")
    newest = max(ws.models("p"), key=lambda m: m.version)
    assert newest.params["args"]["semi_supervised"] is False
    with pytest.raises(InvalidInput, match="semi_supervised"):
        ws.update_project("p", settings={"semi_supervised": "sometimes"})


def test_semi_supervised_auto_turns_off_with_many_labels(sqlite_workspace, tmp_path, monkeypatch):
    from labelloop.services import projects
    from labelloop.services.models import training

    monkeypatch.setattr(training, "SEMI_SUPERVISED_BELOW", 10)
    assert projects.SEMI_SUPERVISED_BELOW == 2000  # the documented default
    ws = _project(sqlite_workspace, tmp_path, n=60, labelled=30)
    ws.train("p")
    assert ws.models("p")[0].params["args"]["semi_supervised"] is False


def _suggestions(ws, name: str) -> dict[int, tuple]:
    """item id -> (model version, value, pred_probs, confidence, priority) of every suggestion."""
    from sqlalchemy import select

    from labelloop.store import ModelVersion, Project, Suggestion

    with ws.transaction() as session:
        rows = session.execute(
            select(
                Suggestion.item_id,
                ModelVersion.version,
                Suggestion.value,
                Suggestion.pred_probs,
                Suggestion.confidence,
                Suggestion.priority,
            )
            .join(ModelVersion, ModelVersion.id == Suggestion.model_version_id)
            .join(Project, Project.id == Suggestion.project_id)
            .where(Project.name == name)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_predict_lets_a_submit_commit_between_its_batches(workspace, tmp_path, monkeypatch):
    from labelloop.services.models import suggestions as writer

    ws = _project(workspace, tmp_path, n=300, labelled=60)
    v1 = ws.train("p").model_version
    for it in ws.next_items("p", n=30, annotator="a"):
        ws.submit("p", it.item_id, it.suggestion.value, annotator="a")
    ws.update_project("p", settings={"strategy": "random"})  # v2 ranks unlike v1
    v2 = ws.train("p").model_version
    # the single-transaction version: v2's suggestions written at once
    monkeypatch.setattr(writer, "SUGGESTION_BATCH", 10**6)
    ws.promote("p", v2)
    expected = _suggestions(ws, "p")
    assert len(expected) == 300 - 90  # the unlabelled items only
    ws.rollback("p")  # back to v1's suggestions
    assert {s[0] for s in _suggestions(ws, "p").values()} == {v1}

    # now in batches of 50, pausing after the first one while another annotator works
    monkeypatch.setattr(writer, "SUGGESTION_BATCH", 50)
    batches: list[int] = []
    upsert = writer.upsert_suggestions

    def counting_upsert(session, rows):
        batches.append(len(rows))
        upsert(session, rows)

    monkeypatch.setattr(writer, "upsert_suggestions", counting_upsert)
    paused, resume = threading.Event(), threading.Event()
    transaction = ws.transaction

    @contextmanager
    def pausing_transaction():
        with transaction() as session:
            yield session
        if threading.current_thread() is worker and len(batches) == 1 and not paused.is_set():
            paused.set()  # the first batch is committed
            assert resume.wait(60)

    monkeypatch.setattr(ws, "transaction", pausing_transaction)
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(errors, ws.promote, "p", v2))
    worker.start()
    try:
        assert paused.wait(120), errors
        # mid-predict: every unlabelled item still has its suggestion, the top is the new one's
        unlabelled = set(expected)
        assert unlabelled <= set(_suggestions(ws, "p"))
        ranked = sorted(expected, key=lambda i: -expected[i][4])
        top = ws.next_items("p", n=10, annotator="carol")
        assert [it.item_id for it in top] == ranked[:10]
        assert {it.suggestion.model_version for it in top} == {v2}
        ws.submit("p", ranked[-1], "tech", annotator="bob")  # of the last batch: commits now
        assert worker.is_alive() and len(batches) == 1
    finally:
        resume.set()
        worker.join(120)
    assert errors == []
    assert len(batches) > 1
    assert _suggestions(ws, "p") == expected  # as if the label had come after the predict
    assert ws.status("p").labelled == 91


def _capture(errors: list[BaseException], function, *args) -> None:
    try:
        function(*args)
    except BaseException as exc:
        errors.append(exc)


def test_an_uncomparable_model_that_knows_fewer_classes_keeps_the_zero_shot_champion(
    sqlite_workspace, tmp_path
):
    # the README tour: one label of one class must not replace zero-shot suggestions for all three
    ws = _project(sqlite_workspace, tmp_path, n=60)
    ws.update_project("p", descriptions={label: " ".join(words) for label, words in TOPICS.items()})
    zero = ws.predict("p")
    assert zero.kind == "zero-shot"
    item = ws.next_items("p", n=1, annotator="me")[0]
    ws.submit("p", item.item_id, "sports", annotator="me")
    result = ws.train("p")
    assert not result.promoted
    assert "1 of the 3 classes" in result.reason
    champion = [m for m in ws.models("p") if m.status == "champion"]
    assert [m.kind for m in champion] == ["zero-shot"]
    suggested = {it.suggestion.value[0] for it in ws.next_items("p", n=30, annotator="you")}
    assert len(suggested) > 1  # still more than one class suggested
