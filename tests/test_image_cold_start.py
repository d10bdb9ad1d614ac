"""An image project's first batches, before any label: no zero-shot model reads images, so
``predict`` orders the queue by k-means cold start (one typical image per cluster) instead of
the files' order, and training asks for labels by name; the first labels then train a head as
in any project."""

from __future__ import annotations

import pytest

from image_factories import colour_backbone, colour_of, make_image_project
from labelloop.errors import InvalidInput

__all__ = ["colour_backbone"]  # a fixture the tests below use


def test_first_batches_come_from_cluster_cold_start(workspace, colour_backbone):
    ws = workspace
    ids = make_image_project(ws, "pets", per_colour=10)
    names = {v: k for k, v in ids.items()}
    # the files' own order: a first batch of 10 would be all blue
    assert {colour_of(names[i]) for i in sorted(ids.values())[:10]} == {"blue"}

    with pytest.raises(InvalidInput, match="no zero-shot model reads its items"):
        ws.train("pets")
    result = ws.predict("pets")
    assert result.kind == "cold_start" and result.items == 30
    batch = ws.next_items("pets", n=10, annotator="ann")
    assert all(it.suggestion is None for it in batch)  # nothing is suggested, only ordered
    assert {colour_of(names[it.item_id]) for it in batch} == {"red", "green", "blue"}

    # the same order for the next annotator (minus the leased items), and again after predict
    again = ws.next_items("pets", n=5, annotator="bob")
    assert not {it.item_id for it in again} & {it.item_id for it in batch}

    # the first labels train a head; its suggestions take over the queue
    for it in batch:
        ws.submit("pets", it.item_id, [colour_of(names[it.item_id])], annotator="ann")
    trained = ws.predict("pets")
    assert trained.kind == "head"
    rest = ws.next_items("pets", n=5, annotator="carol")
    assert all(it.suggestion is not None for it in rest)
    assert all(it.suggestion.value == [colour_of(names[it.item_id])] for it in rest)


def test_a_text_project_still_starts_zero_shot(workspace, tmp_path):
    from factories import topic_texts, write_csv
    from labelloop.services.data.importing import ImportOptions

    ws = workspace
    ws.create_project("news", labels="sports,tech,politics", backbone="fake")
    rows = [{"text": t} for t, _ in topic_texts(12)]
    ws.import_file("news", write_csv(tmp_path / "news.csv", rows), ImportOptions())
    assert ws.predict("news").kind == "zero-shot"


def test_label_a_cluster_and_pregenerate_thumbnails_from_python(sqlite_workspace, colour_backbone):
    from labelloop.services.annotation.bulk import BulkAnswer

    ws = sqlite_workspace
    ids = make_image_project(ws, "pets", per_colour=5)
    names = {v: k for k, v in ids.items()}
    listing = ws.clusters("pets", k=3)
    assert [c.size for c in listing.clusters] == [5, 5, 5]
    members = ws.cluster_members("pets", 0, k=3).items
    colour = colour_of(names[members[0].item_id])
    answers = [BulkAnswer(item_id=m.item_id, value=[colour]) for m in members]
    result = ws.submit_many("pets", answers, annotator="ann")
    assert result.corrected == 5 and result.accepted == 0  # no suggestion to accept yet
    assert ws.clusters("pets", k=3).clusters[0].labels == {colour: 5}
    batch = ws.pregenerate_thumbnails("pets", sizes=(96,))
    assert (batch.made, batch.cached, batch.failed) == (15, 0, {})


def test_old_clusterings_are_pruned(sqlite_workspace, colour_backbone):
    from labelloop.services.annotation.clusters import KEEP_CLUSTERINGS

    ws = sqlite_workspace
    make_image_project(ws, "pets", per_colour=4)
    for k in range(2, 2 + KEEP_CLUSTERINGS + 3):
        ws.clusters("pets", k=k)
    saved = list(ws.artifacts.clusters(1).glob("*/clusters.npz"))
    assert len(saved) == KEEP_CLUSTERINGS
    assert ws.clusters("pets", k=2 + KEEP_CLUSTERINGS + 2).k == 2 + KEEP_CLUSTERINGS + 2


def test_a_bulk_submit_is_all_or_nothing_on_both_databases(workspace, colour_backbone):
    from labelloop.errors import NotFound
    from labelloop.services.annotation.bulk import BulkAnswer

    ws = workspace
    ids = make_image_project(ws, "pets", per_colour=2)
    good = [BulkAnswer(item_id=i, value=[colour_of(n)]) for n, i in sorted(ids.items())]
    missing = max(ids.values()) + 1000
    with pytest.raises(NotFound, match=rf"item {missing} \(answer 7 of 7\)"):
        ws.submit_many("pets", [*good, BulkAnswer(item_id=missing, value=["red"])], annotator="a")
    assert ws.status("pets").labelled == 0
    assert ws.submit_many("pets", good, annotator="a").corrected == 6
    assert ws.status("pets").labelled == 6
