"""A failed import reports its bad rows together (up to MAX_PROBLEMS), and writes nothing."""

from __future__ import annotations

import pytest

from factories import write_csv
from labelloop.errors import InvalidInput
from labelloop.services.data.importing import MAX_PROBLEMS, ImportOptions


def test_every_bad_row_is_named_and_nothing_is_written(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("news", labels=["sports", "tech"], backbone="fake")
    rows = [{"id": str(i), "text": "" if i in (1, 3, 2500) else f"text {i}",
             "label": "chess" if i == 4 else "sports"} for i in range(3000)]  # fmt: skip
    path = write_csv(tmp_path / "pool.csv", rows)
    with pytest.raises(InvalidInput) as caught:
        ws.import_file("news", path, ImportOptions(id_field="id", label_field="label"))
    error = caught.value
    # lines count the header: row i is on line i + 2; the last bad row is in the second batch
    assert (error.line, error.field) == (3, "text")
    assert [(p.line, p.field) for p in error.also] == [(5, "text"), (6, "label"), (2502, "text")]
    assert "chess" in error.also[1].reason
    assert str(error).endswith("(and 3 more problems, on lines 5, 6, 2502)")
    assert ws.status("news").items == 0


def test_the_report_stops_at_max_problems(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    ws.create_project("news", labels=["sports", "tech"], backbone="fake")
    path = write_csv(tmp_path / "empty.csv", [{"text": ""} for _ in range(50)])
    with pytest.raises(InvalidInput) as caught:
        ws.import_file("news", path)
    assert 1 + len(caught.value.also) == MAX_PROBLEMS
    assert caught.value.line == 2 and caught.value.also[-1].line == MAX_PROBLEMS + 1
