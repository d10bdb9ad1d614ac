"""Auto-accept with a precision guarantee, its refusals, and the audit of accepted labels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from factories import topic_texts, write_csv
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality.autoaccept import (
    MIN_AUDIT,
    AutoAcceptRefused,
    audit_report,
    audit_review_source,
    audit_sample,
    auto_accept,
)
from labelloop.store import Annotation, ModelVersion, Suggestion, repo

PROJECT = "news"


def run(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """The installed entry point (``labelloop.cli:main``), as a user runs it."""
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(workspace), "HF_HUB_OFFLINE": "1"}
    code = "from labelloop.cli import main; main()"
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=300)  # fmt: skip
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def make_project(ws, tmp_path: Path, *, n_items: int = 240, n_labelled: int = 150) -> None:
    """A fake-backbone project whose first ``n_labelled`` items carry human labels, trained."""
    rows = topic_texts(n_items, seed=3)
    data = [
        {"id": f"i{i}", "text": text, "label": label if i < n_labelled else ""}
        for i, (text, label) in enumerate(rows)
    ]
    labelled_rows = [r for r in data if r["label"]]
    unlabelled = write_csv(
        tmp_path / "pool.csv", [{"id": r["id"], "text": r["text"]} for r in data if not r["label"]]
    )
    ws.create_project(PROJECT, labels=["sports", "tech", "politics"], backbone="fake")
    if labelled_rows:
        labelled = write_csv(tmp_path / "labelled.csv", labelled_rows)
        ws.import_file(
            PROJECT, labelled, ImportOptions(id_field="id", label_field="label", annotator="alice")
        )
    ws.import_file(PROJECT, unlabelled, ImportOptions(id_field="id"))
    ws.train(PROJECT)


def annotations(ws) -> list[Annotation]:
    with ws.transaction() as session:
        return list(session.scalars(select(Annotation).order_by(Annotation.id)))


def set_settings(ws, **values) -> None:
    with ws.transaction() as session:
        project = repo.get_project(session, PROJECT)
        project.settings = {**(project.settings or {}), **values}


def test_accepts_confident_suggestions_as_auto_with_model_version(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path)
    with ws.transaction() as session:
        project = repo.get_project(session, PROJECT)
        champion = repo.champion(session, project.id)
        suggestions = {
            s.item_id: (list(s.value), s.confidence)
            for s in session.scalars(select(Suggestion).where(Suggestion.project_id == project.id))
        }
    result = auto_accept(ws, PROJECT, target_precision=0.95, confidence=0.95)
    assert result.n_accepted > 0
    assert result.precision_lower_bound >= 0.95
    assert result.n_evidence == 150
    auto = [a for a in annotations(ws) if a.source == "auto"]
    assert len(auto) == result.n_accepted
    for a in auto:
        assert a.annotator == "auto-accept"
        assert a.model_version_id == champion.id
        value, conf = suggestions[a.item_id]
        assert a.value == value and conf >= result.threshold
    # every unlabelled item above the threshold was taken, none below
    expected = {i for i, (_, c) in suggestions.items() if c >= result.threshold}
    assert {a.item_id for a in auto} == expected
    assert ws.status(PROJECT).by_source["auto"] == result.n_accepted
    assert result.coverage == pytest.approx(result.n_accepted / len(suggestions))


def test_dry_run_writes_nothing(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path)
    before = [(a.id, a.is_current) for a in annotations(ws)]
    result = auto_accept(ws, PROJECT, target_precision=0.95, dry_run=True)
    assert result.n_accepted > 0 and result.dry_run
    assert [(a.id, a.is_current) for a in annotations(ws)] == before


def test_too_little_evidence_refuses_and_writes_nothing(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path, n_items=120, n_labelled=30)
    before = len(annotations(ws))
    with pytest.raises(AutoAcceptRefused, match="evidence"):
        auto_accept(ws, PROJECT, target_precision=0.95)
    assert len(annotations(ws)) == before


def test_zero_shot_champion_refuses(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path, n_items=40, n_labelled=0)
    with pytest.raises(AutoAcceptRefused, match="zero-shot"):
        auto_accept(ws, PROJECT)
    assert annotations(ws) == []


def test_fine_tuned_champion_refuses(sqlite_workspace, tmp_path):
    # its backbone learned from the evidence labels: out-of-fold predictions are not held out
    ws = sqlite_workspace
    make_project(ws, tmp_path, n_items=120, n_labelled=60)
    with ws.transaction() as session:
        champion = repo.champion(session, repo.get_project(session, PROJECT).id)
        champion.kind = "finetuned"
    with pytest.raises(AutoAcceptRefused, match="fine-tuned on the same labels"):
        auto_accept(ws, PROJECT, dry_run=True)


def test_no_champion_refuses(sqlite_workspace):
    sqlite_workspace.create_project(PROJECT, labels=["a", "b"], backbone="fake")
    with pytest.raises(AutoAcceptRefused, match="no trained model"):
        auto_accept(sqlite_workspace, PROJECT)


def test_paused_project_refuses(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path)
    set_settings(ws, auto_accept_paused=True)
    before = len(annotations(ws))
    with pytest.raises(AutoAcceptRefused, match="paused"):
        auto_accept(ws, PROJECT, target_precision=0.95)
    assert len(annotations(ws)) == before


def test_audit_sample_is_deterministic_and_drawn_from_auto_items(tmp_path):
    import labelloop

    ws = labelloop.open_workspace(tmp_path / "ws")
    make_project(ws, tmp_path)
    set_settings(ws, audit_rate=0.2)
    result = auto_accept(ws, PROJECT, target_precision=0.95)
    sample = audit_sample(ws, PROJECT)
    auto_ids = {a.item_id for a in annotations(ws) if a.source == "auto"}
    assert set(sample) <= auto_ids
    assert len(sample) >= min(MIN_AUDIT, len(auto_ids))
    assert len(sample) == result.n_audit
    # roughly the audit rate, never everything
    assert len(sample) < len(auto_ids)
    ws.close()
    again = labelloop.open_workspace(tmp_path / "ws")
    assert audit_sample(again, PROJECT) == sample
    with again.transaction() as session:
        project = repo.get_project(session, PROJECT)
        assert audit_review_source(session, project.id, 500) == sample
    again.close()


def test_audit_report_scores_later_human_answers_and_pauses(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path)
    auto_accept(ws, PROJECT, target_precision=0.95)
    sample = audit_sample(ws, PROJECT)
    assert len(sample) >= MIN_AUDIT
    empty = audit_report(ws, PROJECT)
    assert empty.n_audited == 0 and empty.precision is None and not empty.paused
    auto_value = {a.item_id: a.value[0] for a in annotations(ws) if a.source == "auto"}
    labels = ["sports", "tech", "politics"]
    # a reviewer confirms the first three audited labels and rejects the next two
    for k, item_id in enumerate(sample[:5]):
        value = auto_value[item_id]
        if k >= 3:
            value = next(label for label in labels if label != value)
        ws.submit(PROJECT, item_id, value, annotator="reviewer")
    report = audit_report(ws, PROJECT, target_precision=0.95)
    assert (report.n_audited, report.n_correct) == (5, 3)
    assert report.precision == pytest.approx(0.6)
    assert report.lower < 0.6 < report.upper
    assert report.paused == (report.upper < 0.95)  # the pause rule
    # a second opinion later does not change the audit: the first human answer counts
    for item_id in sample[:3]:
        wrong = next(label for label in labels if label != auto_value[item_id])
        ws.submit(PROJECT, item_id, wrong, annotator="reviewer2")
    # answers after the auto row count once per item (the first human answer)
    assert audit_report(ws, PROJECT, target_precision=0.95).n_correct == 3


def test_audit_pause_rule_when_audited_precision_clearly_low(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    make_project(ws, tmp_path)
    set_settings(ws, audit_rate=0.5)
    auto_accept(ws, PROJECT, target_precision=0.95)
    sample = audit_sample(ws, PROJECT)
    auto_value = {a.item_id: a.value[0] for a in annotations(ws) if a.source == "auto"}
    for item_id in sample[:10]:
        wrong = next(v for v in ("sports", "tech", "politics") if v != auto_value[item_id])
        ws.submit(PROJECT, item_id, wrong, annotator="reviewer")
    report = audit_report(ws, PROJECT)  # target of the last run: 0.95
    assert report.target_precision == 0.95
    assert report.precision == 0.0 and report.paused_now and report.paused
    with pytest.raises(AutoAcceptRefused, match="paused"):
        auto_accept(ws, PROJECT, target_precision=0.95)


def test_cli_auto_accept_json_dry_run_and_refusal(tmp_path):
    import labelloop

    ws = labelloop.open_workspace(tmp_path / "ws")
    make_project(ws, tmp_path)
    with ws.transaction() as session:
        versions = session.scalars(select(ModelVersion.version)).all()
    ws.close()
    proc = run(tmp_path / "ws", "auto-accept", PROJECT, "--target-precision", "0.95",
               "--dry-run", "--json")  # fmt: skip
    payload = json.loads(proc.stdout)
    for key in ("threshold", "n_accepted", "coverage", "estimated_precision",
                "precision_lower_bound", "n_evidence"):  # fmt: skip
        assert key in payload
    assert payload["n_accepted"] > 0 and payload["model_version"] in versions
    refused = run(tmp_path / "ws", "auto-accept", PROJECT, "--target-precision", "0.999",
                  "--json", check=False)  # fmt: skip
    assert refused.returncode == 9  # its own code, not a name clash's (4)
    answer = json.loads(refused.stdout)  # scripts get JSON on a refusal too
    assert answer["refused"] is True and answer["project"] == PROJECT
    assert answer["reason"] and answer["reason"] in refused.stderr
    assert "auto-accept refused" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1


def test_evidence_is_the_champions_stored_out_of_fold_predictions_plus_newer_labels(
    sqlite_workspace, tmp_path, monkeypatch
):
    from labelloop.learn import crossval
    from labelloop.services.models.registry import champion_model
    from labelloop.services.quality.autoaccept import auto_accept_evidence

    ws = sqlite_workspace
    make_project(ws, tmp_path, n_items=120, n_labelled=60)
    _, loaded, _ = champion_model(ws, PROJECT)
    model = loaded.model
    confidences, correct, _, _ = auto_accept_evidence(ws, PROJECT)
    # the labels the champion trained on give exactly its stored out-of-fold evidence
    assert confidences.tolist() == pytest.approx(model.oof_confidence.tolist())
    assert correct.sum() == pytest.approx(model.metrics.accuracy * 60)

    def no_refit(*args, **kwargs):
        raise AssertionError("evidence must not retrain the champion")

    monkeypatch.setattr(crossval, "out_of_fold_logits", no_refit)
    # a label that arrived after training is scored by the champion itself (it never saw it)
    item = ws.next_items(PROJECT, n=1, annotator="bob")[0]
    ws.submit(PROJECT, item.item_id, "sports", annotator="bob")
    confidences, correct, _, _ = auto_accept_evidence(ws, PROJECT)
    assert len(confidences) == 61
    assert confidences.max() <= 1.0 and confidences.min() > 0.0
