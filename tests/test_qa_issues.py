"""Label-error detection after a retrain, the review queue, the audit pause and the `qa` CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

from typer.testing import CliRunner

from factories import topic_texts, write_csv
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality import qa
from labelloop.store import repo

LABELS = ["sports", "tech", "politics"]


def _noisy_project(ws, tmp_path: Path, n: int = 90, n_flipped: int = 9) -> set[int]:
    """A labelled project with ``n_flipped`` labels flipped; returns the flipped item ids."""
    rng = random.Random(1)
    flipped_rows = set(rng.sample(range(n), n_flipped))
    rows = []
    for i, (text, label) in enumerate(topic_texts(n)):
        if i in flipped_rows:
            label = rng.choice([x for x in LABELS if x != label])
        rows.append({"id": f"i{i}", "text": text, "label": label})
    ws.create_project("p", labels=",".join(LABELS), backbone="fake")
    ws.import_file(
        "p",
        write_csv(tmp_path / "noisy.csv", rows),
        ImportOptions(id_field="id", label_field="label"),
    )
    with ws.transaction() as session:
        project = repo.get_project(session, "p")
        ids = repo.items_by_external_id(session, project.id, [r["id"] for r in rows])
    return {ids[f"i{i}"][0] for i in flipped_rows}


def test_label_issues_enter_the_review_queue_after_a_retrain(workspace, tmp_path):
    flipped = _noisy_project(workspace, tmp_path)
    workspace.train("p")
    found = qa.after_training(workspace, "p")
    assert found.model_version == workspace.status("p").champion
    flagged = {i.item_id for i in found.issues}
    assert len(flagged & flipped) >= 6  # most flipped labels are caught
    assert len(flagged & flipped) / len(flagged) >= 0.6  # and most flags are real errors
    scores = [i.score for i in found.issues]
    assert scores == sorted(scores)
    issue = found.issues[0]
    assert issue.given != issue.suggested
    review = {c.item_id: c for c in qa.review_candidates(workspace, "p", limit=100)}
    assert flagged <= set(review)
    assert all("label_issue" in review[i].reasons for i in flagged)
    report = qa.qa_report(workspace, "p")
    assert {i.item_id for i in report.label_issues} == flagged
    assert {c.label for c in report.per_class_errors} == set(LABELS)
    assert sum(c.n for c in report.per_class_errors) == 90


def test_resolving_an_issue_takes_it_off_the_queue_and_it_stays_off(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    _noisy_project(ws, tmp_path)
    ws.train("p")
    issue = qa.after_training(ws, "p").issues[0]
    qa.resolve(ws, "p", issue.item_id, issue.suggested, reviewer="rita")
    assert issue.item_id not in {c.item_id for c in qa.review_candidates(ws, "p", limit=100)}
    [confirmed] = qa.list_flags(ws, "p", status="confirmed")
    assert confirmed.kind == "label_issue" and confirmed.item_id == issue.item_id
    ws.train("p")  # the correction is a training label; the adjudicated item is not re-flagged
    assert issue.item_id not in {i.item_id for i in qa.after_training(ws, "p").issues}


def test_label_issues_are_cached_per_model_version(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    _noisy_project(ws, tmp_path)
    ws.train("p")
    first = qa.label_issues(ws, "p")  # computed lazily when the hook has not run
    assert first.model_version == ws.status("p").champion and first.issues
    assert qa.label_issues(ws, "p").computed_at == first.computed_at  # from the cache
    baseline = qa.label_issues(ws, "p", method="low_confidence")
    assert baseline.method == "low_confidence"


def test_no_trained_model_gives_a_note_not_an_error(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("p", labels=",".join(LABELS), backbone="fake")
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(5))]
    ws.import_file("p", write_csv(tmp_path / "x.csv", rows), ImportOptions(id_field="id"))
    ws.predict("p")  # zero-shot champion
    result = qa.after_training(ws, "p")
    assert not result.issues and result.note
    assert qa.qa_report(ws, "p").label_issues == []


def test_audit_below_target_pauses_auto_accept_and_shows_in_qa(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("p", labels=",".join(LABELS), backbone="fake", settings={"audit_rate": 1.0})
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(20))]
    ws.import_file("p", write_csv(tmp_path / "x.csv", rows), ImportOptions(id_field="id"))
    with ws.transaction() as session:
        project = repo.get_project(session, "p")
        ids = [
            i
            for i, _ in repo.items_by_external_id(
                session, project.id, [r["id"] for r in rows]
            ).values()
        ]
        for item in ids:
            repo.add_annotation(session, project_id=project.id, item_id=item, value=["tech"],
                                source="auto", annotator=None)  # fmt: skip
    for item in ids:  # the audit finds every auto label wrong
        ws.submit("p", item, "sports", annotator="auditor")
    audit = qa.qa_report(ws, "p").auto_accept_audit
    assert audit is not None and audit["paused"] and audit["n_audited"] == 20
    assert ws.project("p").settings["auto_accept_paused"] is True


def test_cli_qa_json(tmp_path, monkeypatch):
    from labelloop.cli import app

    monkeypatch.setenv("LABELLOOP_WORKSPACE", str(tmp_path / "ws"))
    runner = CliRunner()
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(12))]
    data = write_csv(tmp_path / "items.csv", rows)
    gold = write_csv(tmp_path / "gold.csv", [{"key": "i1", "answer": "tech"}])
    for args in (
        ["project", "create", "p", "--labels", ",".join(LABELS), "--backbone", "fake"],
        ["import", "p", str(data), "--id-field", "id"],
    ):
        assert runner.invoke(app, args).exit_code == 0, args
    res = runner.invoke(app, ["qa", "gold", "p", str(gold), "--id-field", "key",
                              "--label-field", "answer", "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["gold_set"] == 1
    res = runner.invoke(app, ["qa", "p", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert {"agreement", "gold", "label_issues", "auto_accept_audit", "blind_vs_suggested",
            "per_class_errors", "flags"} <= set(report)  # fmt: skip
    assert report["gold"]["n_gold_items"] == 1
    res = runner.invoke(app, ["qa", "p"])
    assert res.exit_code == 0 and "gold" in res.stdout.lower()
    bad = runner.invoke(app, ["qa", "nope", "--json"])
    assert bad.exit_code != 0
