"""The annotation queue, leases, submit, skip and undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import topic_texts, write_csv
from labelloop.errors import InvalidInput, NotFound, PermissionDenied, PoolExhausted
from labelloop.services.data.importing import ImportOptions


@pytest.fixture
def ws(workspace, tmp_path: Path):
    workspace.create_project("p", labels="sports,tech,politics", backbone="fake")
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(20))]
    workspace.import_file("p", write_csv(tmp_path / "p.csv", rows), ImportOptions(id_field="id"))
    workspace.predict("p")
    return workspace


def test_leased_items_go_to_one_annotator(ws):
    alice = {it.item_id for it in ws.next_items("p", n=8, annotator="alice")}
    bob = {it.item_id for it in ws.next_items("p", n=8, annotator="bob")}
    assert len(alice) == 8 and len(bob) == 8 and not alice & bob
    # asking again returns alice's own leased items first (a reload loses nothing)
    assert {it.item_id for it in ws.next_items("p", n=8, annotator="alice")} == alice


def test_queue_follows_priority_and_carries_suggestions(ws):
    items = ws.next_items("p", n=5)
    for it in items:
        assert it.suggestion is not None
        assert abs(sum(it.suggestion.pred_probs.values()) - 1.0) < 1e-3
        assert it.suggestion.model_version == ws.status("p").champion


def test_submit_accept_and_correct(ws):
    item = ws.next_items("p", n=1, annotator="alice")[0]
    accepted = ws.submit("p", item.item_id, item.suggestion.value, annotator="alice", seconds=2.5)
    assert accepted.source == "model_accepted"
    other = next(lbl for lbl in ("sports", "tech", "politics") if lbl != item.suggestion.value[0])
    corrected = ws.submit("p", item.item_id, other, annotator="alice")
    assert corrected.source == "human"
    status = ws.status("p")
    assert status.labelled == 1 and status.by_source["human"] == 1


def test_submit_twice_with_same_request_id_stores_once(ws):
    item = ws.next_items("p", n=1, annotator="a")[0]
    first = ws.submit("p", item.item_id, "tech", annotator="a", request_id="r-1")
    again = ws.submit("p", item.item_id, "tech", annotator="a", request_id="r-1")
    assert again.duplicate and again.annotation_id == first.annotation_id
    assert ws.status("p").labelled == 1


def test_skip_hands_item_to_others_only(ws):
    item = ws.next_items("p", n=1, annotator="alice")[0]
    ws.skip("p", item.item_id, annotator="alice")
    alice_next = {it.item_id for it in ws.next_items("p", n=19, annotator="alice")}
    assert item.item_id not in alice_next
    bob_next = {it.item_id for it in ws.next_items("p", n=1, annotator="bob")}
    assert item.item_id in bob_next


def test_undo_returns_item_to_queue(ws):
    item = ws.next_items("p", n=1, annotator="alice")[0]
    ws.submit("p", item.item_id, "tech", annotator="alice")
    with pytest.raises(PermissionDenied):
        ws.undo("p", item.item_id, annotator="bob")
    ws.undo("p", item.item_id, annotator="alice")
    assert ws.status("p").labelled == 0
    assert item.item_id in {it.item_id for it in ws.next_items("p", n=20, annotator="alice")}


def test_labelled_items_leave_the_queue_and_undo_puts_them_back_in_place(ws):
    from labelloop.services.quality import review

    order = [s.item_id for s in review.list_suggestions(ws, "p", limit=20)]
    first, second = order[0], order[1]
    ws.submit("p", first, "tech", annotator="alice")
    # out of the queue's order, but the review still sees what the model suggested
    assert first not in [s.item_id for s in review.list_suggestions(ws, "p", limit=20)]
    assert review.item_detail(ws, "p", first).suggestion is not None
    assert [it.item_id for it in ws.next_items("p", n=1)] == [second]
    ws.undo("p", first, annotator="alice")
    assert [s.item_id for s in review.list_suggestions(ws, "p", limit=20)] == order
    assert [it.item_id for it in ws.next_items("p", n=1)] == [first]


def test_correcting_a_label_keeps_the_suggestion_out_of_the_queue(ws):
    from labelloop.services.quality import review

    item = ws.next_items("p", n=1, annotator="a")[0]
    ws.submit("p", item.item_id, "tech", annotator="a")
    ws.submit("p", item.item_id, "sports", annotator="a")  # out already: nothing flips back
    assert item.item_id not in [s.item_id for s in review.list_suggestions(ws, "p", limit=20)]
    ws.undo("p", item.item_id, annotator="a")
    assert item.item_id in [s.item_id for s in review.list_suggestions(ws, "p", limit=20)]


def test_exhausted_pool(ws):
    for it in ws.next_items("p", n=20, annotator="a"):
        ws.submit("p", it.item_id, "tech", annotator="a")
    with pytest.raises(PoolExhausted):
        ws.next_items("p", n=1, annotator="a")


def test_retrain_due_after_retrain_every(ws):
    ws.update_project("p", settings={"retrain_every": 3})
    items = ws.next_items("p", n=3, annotator="a")
    results = [ws.submit("p", it.item_id, "tech", annotator="a") for it in items]
    assert [r.retrain_due for r in results] == [False, False, True]
    more = ws.next_items("p", n=2, annotator="a")
    results = [ws.submit("p", it.item_id, "tech", annotator="a") for it in more]
    # counted up to retrain_every: the submit's cost does not grow while no model trains
    assert [r.changes_since_training for r in results] == [3, 3]
    assert all(r.retrain_due for r in results)
    assert {r.model_version for r in results} == {ws.status("p").champion}
    # a changed setting counts from the same answers (5 so far), whatever submit remembered
    ws.update_project("p", settings={"retrain_every": 7})
    more = ws.next_items("p", n=3, annotator="a")
    results = [ws.submit("p", it.item_id, "tech", annotator="a") for it in more]
    counts = [(r.changes_since_training, r.retrain_due) for r in results]
    assert counts == [(6, False), (7, True), (7, True)]


def test_changes_since_training_counts_from_the_newest_model(ws):
    from labelloop.services.annotation.annotating import changes_since_training

    for it in ws.next_items("p", n=4, annotator="a"):
        ws.submit("p", it.item_id, "tech", annotator="a")
    with ws.transaction() as session:
        project_id = ws.project("p").id
        assert changes_since_training(session, project_id) == 4
        assert changes_since_training(session, project_id, up_to=2) == 2


@pytest.mark.parametrize(
    ("value", "message"),
    [("cooking", "unknown label"), (["tech", "sports"], "single-label"), ([], "no label")],
)
def test_bad_submissions(ws, value, message):
    item = ws.next_items("p", n=1)[0]
    with pytest.raises(InvalidInput, match=message):
        ws.submit("p", item.item_id, value, annotator="a")
    assert ws.status("p").labelled == 0


def test_unknown_item(ws):
    with pytest.raises(NotFound):
        ws.submit("p", 10_000, "tech", annotator="a")
    # an item of another project is not found in this one
    ws.create_project("q", labels="sports,tech,politics", backbone="fake")
    item = ws.next_items("p", n=1, annotator="a")[0]
    with pytest.raises(NotFound, match=r"no item \d+ in project 'q'"):
        ws.submit("q", item.item_id, "tech", annotator="a")


@pytest.mark.parametrize("call", ["submit", "next", "skip", "undo"])
def test_unknown_project_names_the_projects_there_are(ws, call):
    calls = {
        "submit": lambda: ws.submit("nope", 1, "tech", annotator="a"),
        "next": lambda: ws.next_items("nope", n=1, annotator="a"),
        "skip": lambda: ws.skip("nope", 1, annotator="a"),
        "undo": lambda: ws.undo("nope", 1, annotator="a"),
    }
    with pytest.raises(NotFound, match="no project named 'nope'; projects: p"):
        calls[call]()
    with pytest.raises(InvalidInput, match="between 1 and"):
        ws.next_items("p", n=0)


def test_the_queue_walk_checks_each_row_instead_of_joining(ws):
    """The walk reads a few rows down the priority index; PostgreSQL must not plan it as
    anti-joins (milliseconds of planning per call), and SQLite must walk that index."""
    from labelloop.services.annotation.queue import _fresh_queries

    ranked, _ = _fresh_queries(1, 1.0, named=True)
    statement = ranked.params(project_id=1, annotator="alice", exclude=[], n=1)
    with ws.transaction() as session:
        connection = session.connection()
        sql = statement.compile(
            dialect=connection.dialect,
            compile_kwargs={"literal_binds": True, "render_postcompile": True},
        )
        if connection.dialect.name == "postgresql":
            rows = connection.exec_driver_sql(f"EXPLAIN {sql}")
            plan = "\n".join(row[0] for row in rows)
            assert "Anti Join" not in plan and "SubPlan" in plan, plan
        else:
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}")
            plan = "\n".join(row[3] for row in rows)
            assert "ix_suggestions_project_priority" in plan.splitlines()[0], plan


def test_next_reads_no_more_after_many_answers_than_after_one(sqlite_workspace, tmp_path):
    """What `next` reads of an annotator's history (it seeds the gold draw) must not grow with
    it: counted in SQLite virtual-machine steps, which do not depend on the machine's speed."""
    from labelloop.services.annotation.queue import _project_state

    ws = sqlite_workspace
    ws.create_project("p", labels="sports,tech,politics", backbone="fake")
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(60))]
    ws.import_file("p", write_csv(tmp_path / "p.csv", rows), ImportOptions(id_field="id"))

    def steps() -> int:
        count = 0

        def tick() -> int:
            nonlocal count
            count += 1
            return 0

        with ws.transaction() as session:
            raw = session.connection().connection.driver_connection
            raw.set_progress_handler(tick, 1)
            try:
                params = {"name": "p", "annotator": "alice"}
                assert session.connection().execute(_project_state(), params).one()
            finally:
                raw.set_progress_handler(None, 1)
        return count

    def answer(k: int) -> None:
        for item in ws.next_items("p", n=k, annotator="alice"):
            ws.submit("p", item.item_id, "tech", annotator="alice")

    answer(1)
    after_one = steps()
    answer(50)
    assert steps() == after_one
