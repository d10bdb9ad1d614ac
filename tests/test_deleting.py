"""Deleting a project or some items leaves no row or file behind (SQLite and PostgreSQL).

Every table of the schema is counted: a project filled with rows in each of them is deleted,
and every count must fall back to what the other project alone holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from factories import topic_texts, write_csv
from labelloop.errors import InvalidInput, NotFound
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions
from labelloop.store import Base, utcnow

LABELS = ["sports", "tech", "politics"]
# rows of these belong to users, not projects
NOT_PROJECT_TABLES = {"users", "api_tokens"}


def _fill(ws: Any, name: str, folder: Path, member: str) -> list[int]:
    """A project with a row in every table a project owns; returns its item ids."""
    ws.create_project(name, labels=LABELS, backbone="fake")
    rows = [{"id": f"{name}-{i}", "text": t} for i, (t, _) in enumerate(topic_texts(24, seed=3))]
    ws.import_file(name, write_csv(folder / f"{name}.csv", rows), ImportOptions(id_field="id"))
    ws.train(name)
    ws.predict(name)
    batch = ws.next_items(name, n=8, annotator=member)
    for i, item in enumerate(batch[:6]):
        ws.submit(name, item.item_id, [LABELS[i % 3]], annotator=member)
    ws.train(name)
    ws.predict(name)
    ws.flag(name, batch[0].item_id, "looks wrong", annotator=member)
    users.add_user(ws, member, role="annotator", project=name)
    project_id = ws.project(name).id
    extra = {  # tables of the annotate page's features, by name: they may be newer than this
        "comments": {"item_id": batch[1].item_id, "author": member, "body": "see the headline",
                     "created_at": utcnow()},
        "label_hotkeys": {"label": "tech", "key": "t"},
    }  # fmt: skip
    with ws.transaction() as session:
        for table, values in extra.items():
            if table in Base.metadata.tables:
                insert = Base.metadata.tables[table].insert()
                session.execute(insert.values(project_id=project_id, **values))
    return [item.item_id for item in batch]


def _counts(ws: Any) -> dict[str, int]:
    with ws.transaction() as session:
        return {
            t.name: session.scalar(select(func.count()).select_from(t)) or 0
            for t in Base.metadata.sorted_tables
        }


def test_delete_project_leaves_no_row_or_file(workspace, tmp_path):
    users.add_user(workspace, "ann", password="pw-ann-123")
    _fill(workspace, "keep", tmp_path, "ann")
    before = _counts(workspace)
    token = users.create_token(workspace, "ann")
    version_before = users.principal_for_token(workspace, token)
    _fill(workspace, "gone", tmp_path, "ann")
    filled = _counts(workspace)
    gone_id = workspace.project("gone").id
    folders = workspace.artifacts.project_dirs(gone_id)
    assert folders[0].is_dir()  # its model versions' files
    # the test can fail: the project put rows into every table a project owns
    empty = [t for t in filled if t not in NOT_PROJECT_TABLES and filled[t] <= before[t]]
    assert not empty, f"the test project left these tables without rows: {empty}"

    result = workspace.delete_project("gone")

    after = _counts(workspace)
    assert {t: after[t] for t in after if t not in NOT_PROJECT_TABLES} == {
        t: before[t] for t in before if t not in NOT_PROJECT_TABLES
    }
    assert after["users"] == filled["users"]  # people stay; only their membership goes
    assert result.project_deleted and result.items == 24
    assert result.rows["items"] == 24 and result.rows["memberships"] == 1
    assert not any(f.exists() for f in folders)
    assert not list(folders[0].parent.glob(".deleted-*"))
    assert [p.name for p in workspace.list_projects()] == ["keep"]
    assert users.list_members(workspace, "keep") == {"ann": "annotator"}
    # the member's cached principal is stale: their roles changed
    now = users.principal_for_token(workspace, token)
    assert now is not None and now.roles == {"keep": "annotator"}
    assert now.auth_version > version_before.auth_version
    # the name is free again, and the new project starts empty
    workspace.create_project("gone", labels=LABELS, backbone="fake")
    assert workspace.status("gone").items == 0
    with pytest.raises(NotFound, match="no project named 'nope'"):
        workspace.delete_project("nope")


def test_delete_items_removes_what_hangs_off_them(workspace, tmp_path):
    users.add_user(workspace, "ann", password="pw-ann-123")
    ids = _fill(workspace, "news", tmp_path, "ann")
    other = _fill(workspace, "other", tmp_path, "bob")
    filled = _counts(workspace)
    status = workspace.status("news")

    # an id of another project deletes nothing, not even the good ones
    with pytest.raises(NotFound, match=rf"1 of the ids .* {other[0]}; nothing was deleted"):
        workspace.delete_items("news", [ids[0], other[0]])
    assert _counts(workspace) == filled
    with pytest.raises(InvalidInput, match="at least one item id"):
        workspace.delete_items("news", [])
    with pytest.raises(InvalidInput, match="whole numbers from 1"):
        workspace.delete_items("news", [0])

    # the answered, flagged, commented and leased items go with everything on them
    doomed = [*ids[:3], ids[7]]  # three answered (one flagged, one commented), one leased
    result = workspace.delete_items("news", doomed)
    assert result.items == 4 and not result.project_deleted
    after = _counts(workspace)
    assert after["items"] == filled["items"] - 4
    assert after["annotations"] == filled["annotations"] - 3
    assert after["flags"] == filled["flags"] - 1
    assert after.get("comments", 1) == filled.get("comments", 2) - 1
    assert after["leases"] < filled["leases"]
    assert after["model_versions"] == filled["model_versions"]  # the history stays
    assert result.rows["annotations"] == 3 and result.rows["flags"] == 1
    now = workspace.status("news")
    assert now.items == status.items - 4 and now.labelled == status.labelled - 3
    with workspace.transaction() as session:
        from labelloop.store import Annotation, Suggestion

        left = session.scalars(select(Annotation.item_id).where(Annotation.item_id.in_(doomed)))
        assert list(left) == []
        left = session.scalars(select(Suggestion.item_id).where(Suggestion.item_id.in_(doomed)))
        assert list(left) == []
    # the import's record went too: importing the file again brings the items back
    again = workspace.import_file("news", tmp_path / "news.csv", ImportOptions(id_field="id"))
    assert not again.already_imported and again.items_added == 4
