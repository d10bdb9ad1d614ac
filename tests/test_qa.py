"""Quality assurance in the loop: gold items, blind items, overlap, flags and adjudication."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from factories import topic_texts, write_csv
from labelloop.errors import InvalidInput, NotFound
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality import qa
from labelloop.store import Annotation, repo

LABELS = ["sports", "tech", "politics"]


def _project(ws, tmp_path: Path, n: int = 60, *, settings: dict | None = None, name: str = "p"):
    ws.create_project(name, labels=",".join(LABELS), backbone="fake", settings=settings or {})
    rows = [{"id": f"i{i}", "text": t, "truth": lab} for i, (t, lab) in enumerate(topic_texts(n))]
    ws.import_file(name, write_csv(tmp_path / f"{name}.csv", rows), ImportOptions(id_field="id"))
    ws.predict(name)
    truth = dict(zip((f"i{i}" for i in range(n)), (lab for _, lab in topic_texts(n)), strict=True))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        ids = repo.items_by_external_id(session, project.id, truth)
    return {ids[e][0]: lab for e, lab in truth.items()}  # item id -> true label


def _wrong(label: str) -> str:
    return next(x for x in LABELS if x != label)


def _make_gold(ws, truth: dict[int, str], every: int) -> set[int]:
    gold = {i for i in sorted(truth) if i % every == 0}
    for i in gold:
        qa.set_gold(ws, "p", i, truth[i])
    return gold


# -- gold ---------------------------------------------------------------------------------------
def test_gold_items_are_mixed_in_at_the_rate_and_look_like_any_item(workspace, tmp_path):
    truth = _project(workspace, tmp_path, n=300, settings={"gold_rate": 0.1})
    gold = _make_gold(workspace, truth, every=3)  # 100 gold items, enough never to run out
    served, gold_served = 0, []
    for _ in range(12):
        batch = workspace.next_items("p", n=10, annotator="alice")
        for it in batch:
            dumped = it.model_dump(mode="json")
            assert set(dumped) >= {"item_id", "data", "suggestion"}
            assert "gold" not in json.dumps(dumped)
            assert it.suggestion is not None  # gold items carry a suggestion like the others
            assert set(it.data) == {"text"} or "meta" in it.data
            served += 1
            if it.item_id in gold:
                gold_served.append(it.item_id)
            workspace.submit("p", it.item_id, truth[it.item_id], annotator="alice")
    assert served == 120
    assert len(set(gold_served)) == len(gold_served)  # each gold item at most once per annotator
    assert 0.06 <= len(gold_served) / served <= 0.14
    # gold answers do not become labels: the model never trains on a gold item
    assert workspace.status("p").labelled == served - len(gold_served)


def test_gold_rate_zero_and_anonymous_queues_get_no_gold(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=40, settings={"gold_rate": 0.0})
    gold = _make_gold(ws, truth, every=2)
    assert not gold & {it.item_id for it in ws.next_items("p", n=10, annotator="alice")}
    ws.update_project("p", settings={"gold_rate": 1.0})
    assert not gold & {it.item_id for it in ws.next_items("p", n=5)}  # no annotator: no gold
    assert {it.item_id for it in ws.next_items("p", n=5, annotator="bob")} <= gold


def test_gold_accuracy_per_annotator_with_interval(workspace, tmp_path):
    truth = _project(workspace, tmp_path, n=30)
    gold = sorted(_make_gold(workspace, truth, every=3))
    for k, i in enumerate(gold):
        workspace.submit("p", i, truth[i], annotator="alice")
        workspace.submit("p", i, truth[i] if k < 4 else _wrong(truth[i]), annotator="bob")
    report = qa.qa_report(workspace, "p").gold
    scores = {s.annotator: s for s in report.annotators}
    assert report.n_gold_items == len(gold) == 10
    assert scores["alice"].accuracy == 1.0 and scores["alice"].n == 10
    assert scores["bob"].n_correct == 4 and scores["bob"].accuracy == 0.4
    assert scores["bob"].lower < 0.4 < scores["bob"].upper
    assert scores["alice"].lower > scores["bob"].upper  # the intervals separate them
    assert report.n_answers == 20 and report.accuracy == 0.7
    assert report.model_n == 10  # gold items keep a model suggestion (they are never labels)


def test_gold_answer_never_becomes_the_training_label(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=12)
    item = min(truth)
    qa.set_gold(ws, "p", item, truth[item])
    ws.submit("p", item, _wrong(truth[item]), annotator="alice")
    with ws.transaction() as session:
        project = repo.get_project(session, "p")
        assert item not in repo.current_annotations(session, project.id)
        row = session.scalar(select(Annotation).where(Annotation.item_id == item))
        assert row.annotator == "alice" and not row.is_current
    assert qa.set_gold(ws, "p", item, None) is None


def test_import_gold_file(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=12)
    good = write_csv(
        tmp_path / "gold.csv", [{"id": "i0", "label": "sports"}, {"id": "i1", "label": "tech"}]
    )
    result = qa.import_gold(ws, "p", good)
    assert result.gold_set == 2 and qa.qa_report(ws, "p").gold.n_gold_items == 2
    bad = write_csv(
        tmp_path / "bad.csv", [{"id": "i2", "label": "tech"}, {"id": "nope", "label": "tech"}]
    )
    with pytest.raises(InvalidInput, match="nope") as exc:
        qa.import_gold(ws, "p", bad)
    assert exc.value.line == 3 and exc.value.field == "id"
    assert qa.qa_report(ws, "p").gold.n_gold_items == 2  # nothing half-written
    wrong = write_csv(tmp_path / "wrong.csv", [{"id": "i2", "label": "cooking"}])
    with pytest.raises(InvalidInput, match="unknown label"):
        qa.import_gold(ws, "p", wrong)
    with pytest.raises(NotFound):
        qa.set_gold(ws, "p", 10**6, "tech")
    assert truth


# -- blind items --------------------------------------------------------------------------------
def test_blind_items_hide_the_suggestion_and_are_recorded(workspace, tmp_path):
    truth = _project(workspace, tmp_path, n=40, settings={"blind_rate": 0.5, "gold_rate": 0.0})
    batch = workspace.next_items("p", n=40, annotator="alice")
    blind = [it for it in batch if it.blind]
    shown = [it for it in batch if not it.blind]
    assert 8 <= len(blind) <= 32 and shown
    assert all(it.suggestion is None for it in blind)
    assert all(it.suggestion is not None for it in shown)
    results = {}
    for it in batch:
        with workspace.transaction() as session:
            suggested = session.scalar(
                select(repo.Suggestion.value).where(repo.Suggestion.item_id == it.item_id)
            )
        results[it.item_id] = workspace.submit("p", it.item_id, suggested, annotator="alice")
    with workspace.transaction() as session:
        rows = {a.item_id: a for a in session.scalars(select(Annotation))}
    for it in blind:
        assert rows[it.item_id].blind and results[it.item_id].source == "human"
    for it in shown:
        assert not rows[it.item_id].blind and results[it.item_id].source == "model_accepted"
    report = qa.qa_report(workspace, "p").blind_vs_suggested
    assert report.blind.n_answers == len(blind) and report.suggested.n_answers == len(shown)
    assert truth


def test_blind_vs_suggested_gold_accuracy(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=60, settings={"blind_rate": 0.5, "gold_rate": 1.0})
    gold = _make_gold(ws, truth, every=2)
    batch = ws.next_items("p", n=30, annotator="alice")
    assert {it.item_id for it in batch} <= gold
    for it in batch:  # right when shown the suggestion, wrong when blind
        answer = _wrong(truth[it.item_id]) if it.blind else truth[it.item_id]
        ws.submit("p", it.item_id, answer, annotator="alice")
    report = qa.qa_report(ws, "p").blind_vs_suggested
    assert report.blind.gold_accuracy == 0.0 and report.suggested.gold_accuracy == 1.0
    assert report.accuracy_gap == 1.0
    assert report.blind.gold_n + report.suggested.gold_n == 30


# -- overlap ------------------------------------------------------------------------------------
def test_overlap_items_go_to_k_annotators(workspace, tmp_path):
    truth = _project(
        workspace, tmp_path, n=40, settings={"overlap": 2, "overlap_rate": 0.5, "gold_rate": 0.0}
    )
    alice = workspace.next_items("p", n=20, annotator="alice")
    for it in alice:
        workspace.submit("p", it.item_id, truth[it.item_id], annotator="alice")
    bob = workspace.next_items("p", n=40, annotator="bob")
    again = {it.item_id for it in bob} & {it.item_id for it in alice}
    expected = {it.item_id for it in alice if qa_overlap(it.item_id, 0.5)}
    assert again == expected and 0 < len(expected) < 20
    for it in bob:  # the second opinions come first, with a suggestion like any item
        if it.item_id in again:
            assert it.suggestion is not None
    assert [it.item_id for it in bob[: len(again)]] == sorted(again)
    for it in bob:
        workspace.submit("p", it.item_id, truth[it.item_id], annotator="bob")
    carol = {it.item_id for it in workspace.next_items("p", n=40, annotator="carol")}
    assert not carol & again  # k = 2 answers reached
    agreement = qa.qa_report(workspace, "p").agreement
    assert agreement.n_items == len(again) and agreement.percent_agreement == 1.0


def qa_overlap(item_id: int, rate: float) -> bool:
    from labelloop.services.annotation.queue import is_overlap_item

    return is_overlap_item(item_id, rate)


def test_overlap_rate_selects_that_share_of_items():
    from labelloop.services.annotation.queue import is_overlap_item

    for rate in (0.1, 0.25, 0.5):
        share = sum(is_overlap_item(i, rate) for i in range(1, 2001)) / 2000
        assert abs(share - rate) < 0.01


# -- flags and adjudication ---------------------------------------------------------------------
def test_flag_goes_to_review_and_resolve_feeds_training(workspace, tmp_path):
    truth = _project(workspace, tmp_path, n=20, settings={"gold_rate": 0.0})
    item = workspace.next_items("p", n=1, annotator="alice")[0]
    flagged = qa.flag(workspace, "p", item.item_id, "this is about chips", annotator="alice")
    assert flagged.suggestion == item.suggestion.value and flagged.status == "open"
    assert qa.flag(workspace, "p", item.item_id, "again", annotator="alice").id == flagged.id
    with pytest.raises(InvalidInput):
        qa.flag(workspace, "p", item.item_id, "  ", annotator="alice")
    workspace.submit("p", item.item_id, truth[item.item_id], annotator="alice")
    candidates = {c.item_id: c for c in qa.review_candidates(workspace, "p")}
    assert "flag" in candidates[item.item_id].reasons
    other = _wrong(item.suggestion.value[0])
    resolved = qa.resolve(workspace, "p", item.item_id, other, reviewer="rita")
    assert resolved.value == [other]
    [closed] = qa.list_flags(workspace, "p", status="confirmed")
    assert closed.id == flagged.id and closed.resolved_by == "rita"
    assert item.item_id not in {c.item_id for c in qa.review_candidates(workspace, "p")}
    # an ordinary answer after the adjudication stays in the history only
    workspace.submit("p", item.item_id, item.suggestion.value, annotator="bob")
    with workspace.transaction() as session:
        project = repo.get_project(session, "p")
        current = repo.current_annotations(session, project.id, [item.item_id])[item.item_id]
        assert current.reviewed and current.value == [other] and current.annotator == "rita"
    summary = qa.qa_report(workspace, "p").flags
    assert summary.confirmed == 1 and summary.open == 0


def test_resolve_matching_the_suggestion_dismisses_the_flag(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    _project(ws, tmp_path, n=10, settings={"gold_rate": 0.0})
    item = ws.next_items("p", n=1, annotator="alice")[0]
    qa.flag(ws, "p", item.item_id, "not sure", annotator="alice")
    qa.resolve(ws, "p", item.item_id, item.suggestion.value, reviewer="rita")
    assert [f.status for f in qa.list_flags(ws, "p", status=None)] == ["dismissed"]


def test_a_failed_resolve_leaves_neither_the_label_nor_closed_flags(
    sqlite_workspace, tmp_path, monkeypatch
):
    from labelloop.services.quality import issues

    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=10, settings={"gold_rate": 0.0})
    item = ws.next_items("p", n=1, annotator="alice")[0]
    ws.submit("p", item.item_id, truth[item.item_id], annotator="alice")
    qa.flag(ws, "p", item.item_id, "not sure", annotator="alice")

    def fail(flag):  # closing the flags fails after the reviewer's answer was written
        raise RuntimeError("the flags could not be closed")

    monkeypatch.setattr(issues, "is_detector_flag", fail)
    with pytest.raises(RuntimeError, match="flags"):
        qa.resolve(ws, "p", item.item_id, _wrong(truth[item.item_id]), reviewer="rita")
    monkeypatch.undo()
    assert [f.status for f in qa.list_flags(ws, "p", status=None)] == ["open"]
    with ws.transaction() as session:
        rows = session.scalars(select(Annotation).where(Annotation.item_id == item.item_id)).all()
        assert [(a.annotator, a.is_current) for a in rows] == [("alice", True)]
    assert item.item_id in {c.item_id for c in qa.review_candidates(ws, "p")}


def test_gold_items_stay_out_of_review(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=12)
    item = min(truth)
    qa.set_gold(ws, "p", item, truth[item])
    ws.submit("p", item, truth[item], annotator="alice")
    ws.submit("p", item, _wrong(truth[item]), annotator="bob")
    assert item not in {c.item_id for c in qa.review_candidates(ws, "p")}


def test_the_workspace_api_runs_the_review_loop(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    truth = _project(ws, tmp_path, n=30)
    item = sorted(truth)[0]
    ws.submit("p", item, truth[item], annotator="alice")
    ws.submit("p", item, _wrong(truth[item]), annotator="bob")
    flagged = sorted(truth)[1]
    ws.flag("p", flagged, "the suggestion is off", annotator="carol")
    queue = {c.item_id: c for c in ws.review_candidates("p")}
    assert "disagreement" in queue[item].reasons and "flag" in queue[flagged].reasons
    settled = ws.resolve("p", item, truth[item], reviewer="rita")
    assert settled.value == [truth[item]]
    assert item not in {c.item_id for c in ws.review_candidates("p")}
    assert ws.label_issues("p").model_version is not None


def test_workspace_methods_are_typed_without_catch_all_keywords():
    import inspect

    from labelloop.services.workspace import Workspace

    public = [
        m for n, m in inspect.getmembers(Workspace, inspect.isfunction) if not n.startswith("_")
    ]
    assert len(public) > 20
    for method in public:
        sig = inspect.signature(method)
        assert sig.return_annotation is not inspect.Signature.empty, method.__name__
        for p in sig.parameters.values():
            assert p.kind is not p.VAR_KEYWORD, f"{method.__name__}(**{p.name})"
            assert p.name == "self" or p.annotation is not p.empty, f"{method.__name__}({p.name})"
        assert method.__doc__, method.__name__
