"""Quality of span projects through the Workspace API: span-F1 agreement, gold, label issues."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from factories import write_csv, write_jsonl
from labelloop.errors import InvalidInput
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality import qa
from labelloop.store import repo
from labelloop.store.queries import quality as queries

LABELS = "PER,LOC,ORG,MISC"
TEXTS = {
    "s0": "Peter Blackburn flew to Brussels.",  # Peter 0-5, Blackburn 6-15, Brussels 24-32
    "s1": "EU rejects German call.",  # EU 0-2, German 11-17
    "s2": "Angela Merkel met Obama in Berlin.",  # Angela Merkel 0-13, Obama 18-23, Berlin 27-33
    "s3": "Nothing to see here.",
}


def _span(start: int, end: int, label: str) -> dict:
    return {"start": start, "end": end, "label": label}


def _project(ws, tmp_path: Path, name: str = "ner", texts: dict | None = None) -> dict[str, int]:
    texts = texts or TEXTS
    ws.create_project(name, labels=LABELS, task="spans")
    rows = [{"id": k, "text": t} for k, t in texts.items()]
    ws.import_file(
        name, write_jsonl(tmp_path / f"{name}.jsonl", rows), ImportOptions(id_field="id")
    )
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        found = repo.items_by_external_id(session, project.id, list(texts))
    return {k: v[0] for k, v in found.items()}


def _alice_and_bob(ws, ids: dict[str, int]) -> None:
    """Both annotate s0, s1 and s3: alice 2 spans, bob 3, one exact match (Brussels)."""
    # s0: bob marks only "Peter" of "Peter Blackburn"
    ws.submit("ner", ids["s0"], [_span(0, 15, "PER"), _span(24, 32, "LOC")], annotator="alice")
    ws.submit("ner", ids["s0"], [_span(0, 5, "PER"), _span(24, 32, "LOC")], annotator="bob")
    # s1: alice sees no entity, bob sees one; both say "no entity" on s3
    ws.submit("ner", ids["s1"], [], annotator="alice")
    ws.submit("ner", ids["s1"], [_span(0, 2, "ORG")], annotator="bob")
    ws.submit("ner", ids["s3"], [], annotator="alice")
    ws.submit("ner", ids["s3"], [], annotator="bob")


def test_agreement_is_pairwise_span_f1_exact_and_partial(workspace, tmp_path):
    ids = _project(workspace, tmp_path)
    _alice_and_bob(workspace, ids)
    # s2: only alice
    workspace.submit("ner", ids["s2"], [_span(0, 13, "PER")], annotator="alice")

    agreement = qa.qa_report(workspace, "ner").agreement
    assert agreement.kind == "spans"
    assert (agreement.n_items, agreement.n_annotators) == (3, 2)
    # spans: alice 2, bob 3; exact matches 1 (Brussels), partial 2 (Peter too)
    assert agreement.exact_f1 == round(2 * 1 / 5, 4)
    assert agreement.partial_f1 == round(2 * 2 / 5, 4)
    assert agreement.per_label_f1["PER"].exact_f1 == 0.0
    assert agreement.per_label_f1["PER"].partial_f1 == 1.0
    assert agreement.per_label_f1["LOC"].exact_f1 == 1.0
    assert agreement.per_label_f1["ORG"].exact_f1 == 0.0
    assert "MISC" not in agreement.per_label_f1 and agreement.per_class["MISC"] is None
    assert agreement.percent_agreement == round(1 / 3, 4)  # identical span sets on s3 only
    assert agreement.n_disagreements == 2
    (pair,) = agreement.pairs
    assert (pair.annotator_a, pair.annotator_b, pair.n_items) == ("alice", "bob", 3)
    assert pair.kappa is None and pair.exact_f1 == agreement.exact_f1
    assert agreement.cohen_kappa_mean is None and agreement.krippendorff_alpha is None


def test_the_cli_report_shows_span_f1(sqlite_workspace, tmp_path):
    ids = _project(sqlite_workspace, tmp_path)
    qa.set_gold(sqlite_workspace, "ner", ids["s2"], [[0, 13, "PER"]])
    for who, spans in (("alice", [_span(0, 15, "PER")]), ("bob", [_span(0, 5, "PER")])):
        sqlite_workspace.submit("ner", ids["s0"], spans, annotator=who)
        sqlite_workspace.submit("ner", ids["s2"], [_span(0, 13, "PER")], annotator=who)
    env = {"LABELLOOP_WORKSPACE": str(tmp_path / "ws"), "HF_HUB_OFFLINE": "1", "COLUMNS": "200"}
    proc = subprocess.run(
        [sys.executable, "-m", "labelloop.cli", "qa", "report", "ner"],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "span F1 exact 0.500  partial 1.000  same span set 0.500" in proc.stdout
    assert "span F1 exact 1.000 partial 1.000" in proc.stdout  # both right on the gold item
    assert "exact F1" in proc.stdout and "kappa" not in proc.stdout.lower()


def test_span_agreement_without_overlap_says_so(sqlite_workspace, tmp_path):
    ids = _project(sqlite_workspace, tmp_path)
    sqlite_workspace.submit("ner", ids["s0"], [_span(0, 15, "PER")], annotator="alice")
    report = qa.qa_report(sqlite_workspace, "ner")
    assert report.agreement.n_items == 0 and report.agreement.exact_f1 is None
    assert any("raise `overlap`" in n for n in report.notes)


def test_gold_sentences_are_scored_by_span_f1(workspace, tmp_path):
    ids = _project(workspace, tmp_path)
    gold = {"s0": [[0, 15, "PER"], [24, 32, "LOC"]], "s2": [[0, 13, "PER"], [18, 23, "PER"]]}
    # off-token offsets are snapped like any answer: 2-8 touches "Peter" and "Blackburn"
    stored = qa.set_gold(workspace, "ner", ids["s0"], [[2, 8, "PER"], [24, 32, "LOC"]])
    assert stored == [_span(0, 15, "PER"), _span(24, 32, "LOC")]
    qa.set_gold(workspace, "ner", ids["s2"], gold["s2"])
    for key, spans in gold.items():
        workspace.submit("ner", ids[key], spans, annotator="alice")
    workspace.submit("ner", ids["s0"], [_span(0, 5, "PER"), _span(24, 32, "LOC")], annotator="bob")
    workspace.submit("ner", ids["s2"], [_span(0, 13, "PER")], annotator="bob")

    report = qa.qa_report(workspace, "ner").gold
    scores = {s.annotator: s for s in report.annotators}
    alice, bob = scores["alice"], scores["bob"]
    assert (alice.n, alice.n_correct, alice.accuracy, alice.exact_f1) == (2, 2, 1.0, 1.0)
    assert (bob.n, bob.n_correct, bob.accuracy) == (2, 0, 0.0)
    # bob: 3 spans, gold 4; exact matches Brussels and Angela Merkel, partial adds Peter
    assert bob.precision == round(2 / 3, 4) and bob.recall == 0.5
    assert bob.exact_f1 == round(4 / 7, 4) and bob.partial_f1 == round(6 / 7, 4)
    assert report.n_answers == 4 and report.accuracy == 0.5
    assert report.exact_f1 == round(2 * 6 / 15, 4)  # pooled: 7 answered, 8 gold, 6 matches
    assert report.per_label_f1["LOC"].n_gold == 2 and report.per_label_f1["LOC"].exact_f1 == 1.0
    assert report.per_label_f1["PER"].n_gold == 6
    # gold answers never become labels, in span projects too
    assert workspace.status("ner").labelled == 0


def test_gold_file_for_spans_is_snapped_and_checked_by_line(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ids = _project(ws, tmp_path)
    good = write_jsonl(  # an empty list is a gold answer too: "no entity here"
        tmp_path / "gold.jsonl",
        [{"id": "s0", "spans": [[0, 8, "PER"]]}, {"id": "s3", "spans": []}],
    )
    assert qa.import_gold(ws, "ner", good, label_field="spans").gold_set == 2
    cells = write_csv(tmp_path / "gold.csv", [{"id": "s1", "label": json.dumps([[0, 2, "ORG"]])}])
    assert qa.import_gold(ws, "ner", cells).gold_set == 1
    with ws.transaction() as session:
        gold = queries.gold_items(session, repo.get_project(session, "ner").id)
    assert list(gold[ids["s0"]]) == [_span(0, 15, "PER")]  # snapped to "Peter Blackburn"
    assert list(gold[ids["s1"]]) == [_span(0, 2, "ORG")]
    assert list(gold[ids["s3"]]) == []
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [{"id": "s2", "spans": [[0, 13, "PER"]]}, {"id": "s3", "spans": [[0, 7, "DATE"]]}],
    )
    with pytest.raises(InvalidInput, match="unknown label 'DATE'") as info:
        qa.import_gold(ws, "ner", bad, label_field="spans")
    assert info.value.line == 2
    with ws.transaction() as session:  # nothing of the failed file was written
        assert ids["s2"] not in queries.gold_items(session, repo.get_project(session, "ner").id)
    not_json = write_csv(tmp_path / "bad.csv", [{"id": "s1", "label": "ORG"}])
    with pytest.raises(InvalidInput, match="JSON list of spans") as info:
        qa.import_gold(ws, "ner", not_json)
    assert info.value.line == 2


def test_label_issue_detection_waits_for_a_model(sqlite_workspace, tmp_path):
    ids = _project(sqlite_workspace, tmp_path)
    sqlite_workspace.submit("ner", ids["s0"], [_span(0, 15, "PER")], annotator="alice")
    result = sqlite_workspace.label_issues("ner")
    assert result.issues == [] and "needs one" in (result.note or "")


# -- label issues with the real spaCy recogniser -------------------------------------------------
PEOPLE = ["Barack Obama", "Angela Merkel", "Emmanuel Macron", "Boris Johnson", "Vladimir Putin",
          "Joe Biden", "Justin Trudeau", "Narendra Modi", "Xi Jinping", "Olaf Scholz"]  # fmt: skip
PLACES = ["Paris", "Berlin", "London", "Moscow", "Tokyo", "Madrid", "Rome", "Ottawa", "Beijing",
          "Vienna"]  # fmt: skip
WRONG = 5  # "Joe Biden arrived in Madrid on Monday." with Madrid labelled PER


def _labelled_rows() -> list[dict]:
    rows = []
    for i, (person, place) in enumerate(zip(PEOPLE, PLACES, strict=True)):
        text = f"{person} arrived in {place} on Monday."
        at = text.index(place)
        label = "PER" if i == WRONG else "LOC"
        spans = [_span(0, len(person), "PER"), _span(at, at + len(place), label)]
        rows.append({"id": f"s{i}", "text": text, "spans": spans})
    return rows


def _labelled_project(ws, tmp_path: Path) -> None:
    """A spans project whose sentences annotator "ann" labelled, one label deliberately wrong."""
    rows = _labelled_rows()
    _project(ws, tmp_path, texts={r["id"]: r["text"] for r in rows})
    with ws.transaction() as session:
        project = repo.get_project(session, "ner")
        ids = repo.items_by_external_id(session, project.id, [r["id"] for r in rows])
    for r in rows:
        ws.submit("ner", ids[r["id"]][0], r["spans"], annotator="ann")


@pytest.fixture
def small_span_models(monkeypatch):
    """The project's span-model candidates cut to spaCy's, fine-tuned for 2 epochs (fast)."""
    from labelloop.learn.spans import Candidate, SpacySpanModel, SpanArgs

    def candidates(schema, *, seed=0):
        args = SpanArgs(epochs=2, seed=seed)
        base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map), args=args)
        return [Candidate("spacy-finetuned", lambda sentences, gold: base.fit(sentences, gold))]

    monkeypatch.setattr("labelloop.services.models.spans.candidates", candidates)


@pytest.mark.real_model
def test_a_wrong_span_label_is_flagged_for_review(workspace, tmp_path, small_span_models):
    ws = workspace
    _labelled_project(ws, tmp_path)
    path = write_jsonl(
        tmp_path / "new.jsonl", [{"id": "u0", "text": "Pedro Sanchez flew to Dublin."}]
    )
    ws.import_file("ner", path, ImportOptions(id_field="id"))
    with ws.transaction() as session:
        project = repo.get_project(session, "ner")
        u0 = repo.items_by_external_id(session, project.id, ["u0"])["u0"][0]
    qa.set_gold(ws, "ner", u0, [_span(0, 13, "PER"), _span(22, 28, "LOC")])
    ws.train("ner")  # the loop's retrain: train, predict, then label-issue detection

    result = ws.label_issues("ner")
    assert result.model_version == 1 and result.n_labels == len(PEOPLE)
    first = result.issues[0]
    assert first.external_id == f"s{WRONG}"
    assert first.given == ["Madrid: PER"] and first.suggested == ["Madrid: LOC"]
    (token,) = first.tokens
    assert (token.text, token.start, token.end) == ("Madrid", 21, 27)
    assert _span(21, 27, "LOC") in (first.suggested_spans or [])
    assert {e.label for e in result.per_class_errors} >= {"O", "PER", "LOC"}

    review = ws.review_candidates("ner", sources=["label_issue"])
    assert review[0].external_id == f"s{WRONG}"
    (flag,) = [f for f in qa.list_flags(ws, "ner") if f.item_id == first.item_id]
    assert flag.kind == "label_issue" and "'Madrid' labelled PER" in flag.reason
    assert _span(21, 27, "LOC") in (flag.suggestion or [])

    # the reviewer corrects the label: the detector was right, its flag is confirmed
    fixed = [_span(0, 9, "PER"), _span(21, 27, "LOC")]
    ws.resolve("ner", first.item_id, fixed, reviewer="rita")
    (closed,) = [f for f in qa.list_flags(ws, "ner", status=None) if f.id == flag.id]
    assert closed.status == "confirmed" and closed.resolved_by == "rita"

    # the gold item was predicted like any unlabelled one, and its spans scored against gold
    gold = qa.qa_report(ws, "ner").gold
    assert gold.model_n == 1 and gold.model_accuracy == gold.model_exact_f1 == 1.0
    # a person's flag on a span project records the suggested spans
    person = qa.flag(ws, "ner", u0, "the model missed an entity", annotator="bob")
    assert person.suggestion == [_span(0, 13, "PER"), _span(22, 28, "LOC")]


@pytest.mark.real_model
def test_a_pretrained_champion_is_checked_too(sqlite_workspace, tmp_path, monkeypatch):
    """When the mapped pre-trained recogniser wins, it never trained on the labels: its own
    predictions are out-of-sample, and the loop checks the labels against them."""
    from labelloop.learn.spans import Candidate, SpacySpanModel

    def candidates(schema, *, seed=0):
        base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map))
        return [Candidate("spacy-pretrained", lambda sentences, gold: base)]

    monkeypatch.setattr("labelloop.services.models.spans.candidates", candidates)
    ws = sqlite_workspace
    _labelled_project(ws, tmp_path)
    assert ws.train("ner").kind == "pretrained"
    review = ws.review_candidates("ner", sources=["label_issue"])
    assert [c.external_id for c in review][:1] == [f"s{WRONG}"]


@pytest.mark.real_model
def test_a_model_without_token_probabilities_is_not_cross_validated(
    sqlite_workspace, tmp_path, monkeypatch
):
    from labelloop.learn.spans import Candidate, SpacySpanModel
    from labelloop.learn.spans import model as span_model

    fits = []

    def candidates(schema, *, seed=0):
        base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map))
        return [Candidate("spacy-pretrained", lambda sentences, gold: fits.append(1) or base)]

    monkeypatch.setattr("labelloop.services.models.spans.candidates", candidates)
    monkeypatch.setattr(span_model, "_token_probs", lambda *args: None)  # as a model without them
    ws = sqlite_workspace
    _labelled_project(ws, tmp_path)
    ws.train("ner")
    before = len(fits)
    result = ws.label_issues("ner", refresh=True)
    assert result.issues == [] and "gives no per-token probabilities" in (result.note or "")
    assert len(fits) == before  # the champion said so: its recipe was not fitted again


def test_the_dashboard_measures_span_agreement_by_span_f1(workspace, tmp_path):
    from labelloop.services import stats

    ids = _project(workspace, tmp_path)
    _alice_and_bob(workspace, ids)

    board = stats.dashboard(workspace, "ner")
    assert board.agreement_measure == "span F1"
    # the QA report's exact span F1 (alice 2 spans, bob 3, 1 match), not the share of
    # identical span sets (1 of 3)
    assert board.agreement == pytest.approx(2 * 1 / 5)
    per = {a.annotator: a for a in board.annotators}
    assert per["alice"].agreement == per["bob"].agreement == pytest.approx(0.4)
    assert per["alice"].compared == 3


@pytest.mark.real_model
def test_label_issues_after_a_retrain_reuse_its_out_of_fold_analyses(
    sqlite_workspace, tmp_path, small_span_models, monkeypatch
):
    """Training cross-validated the recipe already: detection right after it fits nothing more,
    and finds what refitting would; once the answers change it cross-validates again."""
    import labelloop.learn.spans as span_learning

    ws = sqlite_workspace
    _labelled_project(ws, tmp_path)
    ws.train("ner")  # trains, then detects label issues from the stored analyses
    fits = []
    real = span_learning.cross_validate_spans
    monkeypatch.setattr(
        span_learning, "cross_validate_spans", lambda *a, **k: fits.append(1) or real(*a, **k)
    )
    stored = ws.label_issues("ner", refresh=True)
    assert fits == []
    assert stored.issues and stored.issues[0].external_id == f"s{WRONG}"
    assert stored.issues[0].suggested == ["Madrid: LOC"]

    with ws.transaction() as session:
        project = repo.get_project(session, "ner")
        s0 = repo.items_by_external_id(session, project.id, ["s0"])["s0"][0]
    ws.submit("ner", s0, [_span(0, 12, "PER"), _span(24, 29, "LOC")], annotator="ann")
    again = ws.label_issues("ner", refresh=True)  # same champion, a new answer: refit
    assert fits == [1] and again.issues[0].external_id == f"s{WRONG}"
