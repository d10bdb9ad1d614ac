"""The driver-cursor transactions of the hot path (store/raw.py) give what SQLAlchemy gives.

Each statement runs both ways on the same data, on SQLite and on PostgreSQL: through
SQLAlchemy's ``Connection`` and through :class:`RawTransaction`. Values must come back the same
(JSON, timestamps, booleans, floats, NULLs) and be stored the same.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Integer, String, bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from factories import topic_texts, write_csv
from labelloop.services.annotation.annotating import _submit_state
from labelloop.services.annotation.queue import _fresh_queries, _project_state
from labelloop.services.annotation.views import VIEWS_QUERY
from labelloop.services.data.importing import ImportOptions
from labelloop.store import Annotation, Item, Lease, Project, repo


def _project(ws, tmp_path, n: int = 12) -> int:
    ws.create_project("p", labels="sports,tech,politics", backbone="fake")
    rows = [{"id": f"i{i}", "text": t} for i, (t, _) in enumerate(topic_texts(n))]
    ws.import_file("p", write_csv(tmp_path / "p.csv", rows), ImportOptions(id_field="id"))
    with ws.transaction() as session:
        return repo.get_project_ref(session, "p").id


def _item_ids(ws) -> list[int]:
    with ws.transaction() as session:
        return list(session.scalars(select(Item.id).order_by(Item.id)))


def _both(ws, statement, params):
    """The rows of ``statement`` through SQLAlchemy and through the raw transaction."""
    with ws.transaction() as session:
        expected = [tuple(r) for r in session.connection().execute(statement, params)]
    with ws.raw_transaction() as tx:
        got = tx.execute(statement, params).all()
    return expected, got


def test_rows_and_values_match_sqlalchemy(workspace, tmp_path):
    ws = workspace
    project_id = _project(ws, tmp_path)
    for item in ws.next_items("p", n=3, annotator="alice"):
        ws.submit("p", item.item_id, "tech", annotator="alice", request_id=f"r{item.item_id}")
    ranked, unranked = _fresh_queries(1, 0.0, named=True)
    item_ids = _item_ids(ws)
    cases = [
        (_project_state(), {"name": "p", "annotator": "alice"}),
        (_project_state(), {"name": "nope", "annotator": "alice"}),
        (ranked, {"project_id": project_id, "annotator": "bob", "exclude": [], "n": 5}),
        (ranked, {"project_id": project_id, "annotator": "bob", "exclude": item_ids[:4], "n": 5}),
        (unranked, {"project_id": project_id, "annotator": "bob", "exclude": [1], "n": 5}),
        (VIEWS_QUERY, {"project_id": project_id, "item_ids": item_ids[2:7]}),
        (
            _submit_state(),
            {
                "name": "p",
                "item_id": item_ids[0],
                "annotator": "alice",
                "request_id": "x",
                "up_to": 10,
            },
        ),
        (
            select(
                Annotation.created_at,
                Annotation.value,
                Annotation.is_current,
                Annotation.seconds,
                Annotation.model_version_id,
            )
            .where(Annotation.source.in_(("human", "model_accepted")))
            .order_by(Annotation.id),
            {},
        ),
    ]
    for statement, params in cases:
        expected, got = _both(ws, statement, params)
        assert got == expected
        pairs = [
            (a, b) for e, g in zip(expected, got, strict=True) for a, b in zip(e, g, strict=True)
        ]
        assert all(type(a) is type(b) for a, b in pairs)
    # attribute access by the same names as SQLAlchemy's rows
    with ws.raw_transaction() as tx:
        state = tx.execute(_project_state(), {"name": "p", "annotator": "alice"}).one()
    assert state.name == "p" and state.label_schema["labels"] == ["sports", "tech", "politics"]
    assert state.latest_answer is not None


def test_writes_store_what_sqlalchemy_stores(workspace, tmp_path):
    ws = workspace
    project_id = _project(ws, tmp_path)
    when = datetime(2026, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)
    item_ids = _item_ids(ws)
    with ws.raw_transaction() as tx:
        first = repo.add_annotation(tx, project_id=project_id, item_id=item_ids[0],
                                       value=["tech"], source="human", annotator="a",
                                       seconds=1.5, created_at=when, request_id="raw")  # fmt: skip
        second = repo.add_annotation(tx, project_id=project_id, item_id=item_ids[0],
                                        value=None, source="human", annotator="a",
                                        created_at=when)  # fmt: skip
        tx.execute(insert(Lease), [
            {"project_id": project_id, "item_id": i, "annotator": "a", "skipped": False,
             "expires_at": when} for i in item_ids[:3]
        ])  # fmt: skip
        renewed = tx.execute(
            update(Lease)
            .where(Lease.item_id.in_(bindparam("ids", type_=Integer, expanding=True)))
            .values(expires_at=when + timedelta(days=1)),
            {"ids": item_ids[:2]},
        )
    assert second > first
    assert renewed.rowcount == 2
    with ws.transaction() as session:
        rows = session.execute(
            select(Annotation.value, Annotation.is_current, Annotation.created_at)
            .where(Annotation.item_id == item_ids[0])
            .order_by(Annotation.id)
        ).all()
        leases = session.execute(select(Lease.expires_at).order_by(Lease.item_id)).scalars().all()
    assert [tuple(r[:2]) for r in rows] == [(["tech"], False), (None, True)]
    assert rows[0].created_at.replace(tzinfo=UTC) == when
    stored = [e.replace(tzinfo=UTC) for e in leases]
    assert stored == [when + timedelta(days=1)] * 2 + [when]


def test_an_error_rolls_back_everything_and_keeps_sqlalchemy_s_exception(workspace, tmp_path):
    ws = workspace
    project_id = _project(ws, tmp_path)
    count = select(func.count()).select_from(Annotation)
    with ws.transaction() as session:
        before = session.scalar(count)
    row = {"project_id": project_id, "item_id": 1, "value": ["tech"], "source": "human",
           "annotator": "a", "request_id": "same"}  # fmt: skip
    with pytest.raises(IntegrityError), ws.raw_transaction() as tx:
        repo.add_annotation(tx, **row)
        repo.add_annotation(tx, **row)  # the request id is unique per project
    with pytest.raises(RuntimeError), ws.raw_transaction() as tx:
        tx.execute(delete(Lease))
        repo.add_annotation(tx, **{**row, "request_id": "other"})
        raise RuntimeError("the caller fails after writing")
    with ws.transaction() as session:
        assert session.scalar(count) == before


def test_an_insert_that_leaves_out_a_defaulted_column_is_refused(sqlite_workspace, tmp_path):
    _project(sqlite_workspace, tmp_path)
    with pytest.raises(ValueError, match="skipped"), sqlite_workspace.raw_transaction() as tx:
        tx.execute(insert(Lease), {"project_id": 1, "item_id": 1, "annotator": "a",
                                   "expires_at": datetime.now(UTC)})  # fmt: skip


def test_a_statement_built_per_call_is_compiled_with_its_own_values(sqlite_workspace, tmp_path):
    """Statements built per call (the gold draw's) carry literal values: each must run with its
    own, not with a plan cached for another statement."""
    _project(sqlite_workspace, tmp_path)
    with sqlite_workspace.raw_transaction() as tx:
        for names in (["p"], ["nope"], ["p", "q"]):
            query = select(Project.name).where(Project.name.in_(names))
            assert tx.execute(query).scalars() == [n for n in names if n == "p"]
        named = select(Project.id).where(Project.name == bindparam("n", type_=String))
        assert tx.execute(named, {"n": "p"}).scalar() is not None
        assert tx.execute(named, {"n": "q"}).first() is None
