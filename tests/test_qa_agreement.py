"""Agreement measured from real submissions matches published worked examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factories import write_csv
from labelloop.quality import fleiss_kappa, krippendorff_alpha
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality import qa
from labelloop.store import repo

# Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa": 10 items, 14 raters, 5 categories.
FLEISS_COUNTS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def _items(ws, tmp_path: Path, n: int, labels: list[str]) -> list[int]:
    ws.create_project("p", labels=",".join(labels), backbone="fake")
    rows = [{"id": f"i{i}", "text": f"item number {i}"} for i in range(n)]
    ws.import_file("p", write_csv(tmp_path / "items.csv", rows), ImportOptions(id_field="id"))
    with ws.transaction() as session:
        project = repo.get_project(session, "p")
        ids = repo.items_by_external_id(session, project.id, [r["id"] for r in rows])
    return [ids[f"i{i}"][0] for i in range(n)]


def test_cohen_kappa_of_two_annotators_matches_the_textbook_example(workspace, tmp_path):
    # Wikipedia "Cohen's kappa": 50 proposals, A/B yes-yes 20, yes-no 5, no-yes 10, no-no 15;
    # p_o = 0.7, p_e = 0.5, kappa = 0.4.
    items = _items(workspace, tmp_path, 50, ["yes", "no"])
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    for item, (a, b) in zip(items, pairs, strict=True):
        workspace.submit("p", item, a, annotator="A")
        workspace.submit("p", item, b, annotator="B")
    report = qa.qa_report(workspace, "p").agreement
    assert report.n_items == 50 and report.n_annotators == 2
    [pair] = report.pairs
    assert pair.kappa == pytest.approx(0.4, abs=1e-4)
    assert pair.percent_agreement == pytest.approx(0.7)
    assert report.cohen_kappa_mean == pytest.approx(0.4, abs=1e-4)
    assert report.fleiss_kappa is not None and report.krippendorff_alpha is not None
    assert report.n_disagreements == 15


def test_fleiss_kappa_of_fourteen_annotators_matches_the_published_value(
    sqlite_workspace, tmp_path
):
    ws = sqlite_workspace
    labels = ["c1", "c2", "c3", "c4", "c5"]
    items = _items(ws, tmp_path, 10, labels)
    data = np.full((14, 10), np.nan)
    for i, (item, counts) in enumerate(zip(items, FLEISS_COUNTS, strict=True)):
        raters = iter(range(14))
        for j, c in enumerate(counts):
            for _ in range(c):
                r = next(raters)
                ws.submit("p", item, labels[j], annotator=f"rater{r}")
                data[r, i] = j
    report = qa.qa_report(ws, "p").agreement
    assert report.fleiss_kappa == pytest.approx(0.210, abs=5e-4)
    assert report.fleiss_kappa == pytest.approx(fleiss_kappa(np.array(FLEISS_COUNTS)), abs=1e-4)
    assert report.krippendorff_alpha == pytest.approx(krippendorff_alpha(data), abs=1e-4)
    assert set(report.per_class) == set(labels)
    assert report.per_class["c5"] > report.per_class["c4"]  # c5 is the most agreed-on class


def test_each_annotator_counts_once_with_their_latest_answer(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    items = _items(ws, tmp_path, 4, ["yes", "no"])
    for item in items:
        ws.submit("p", item, "no", annotator="A")
        ws.submit("p", item, "yes", annotator="A")  # A corrects themselves
        ws.submit("p", item, "yes", annotator="B")
    ws.undo("p", items[0], annotator="B")  # B withdraws one answer
    report = qa.qa_report(ws, "p").agreement
    assert report.n_items == 3 and report.percent_agreement == 1.0
    assert report.pairs[0].n_items == 3


def test_no_overlap_gives_an_empty_agreement_with_a_note(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    items = _items(ws, tmp_path, 3, ["yes", "no"])
    ws.submit("p", items[0], "yes", annotator="A")
    report = qa.qa_report(ws, "p").agreement
    assert report.n_items == 0 and report.fleiss_kappa is None and report.notes
