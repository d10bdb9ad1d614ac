"""20 simulated annotators over real HTTP (uvicorn), on SQLite and PostgreSQL, with a retrain."""

from __future__ import annotations

import os
from collections import Counter

import pytest
from live_server import LiveServer, run_annotators
from server_factories import LABELS, make_project
from sqlalchemy import func, select

from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.store import Annotation

N_ANNOTATORS = 20
DURATION = float(os.environ.get("LABELLOOP_CONCURRENCY_SECONDS", "4"))


@pytest.mark.slow
def test_twenty_annotators_lose_nothing_and_never_share_an_item(workspace, tmp_path):
    # enough items that the pool outlasts the run, on a machine twice as fast as this one (100-250
    # answers a second): a LABELLOOP_CONCURRENCY_SECONDS=60 run once drained 400 items before
    # its retrain was due
    make_project(workspace, "load", tmp_path, n=max(2000, int(DURATION * 500)), retrain_every=15)
    tokens = {}
    for i in range(N_ANNOTATORS):
        name = f"annotator-{i:02d}"
        users.add_user(workspace, name, role="annotator", project="load")
        tokens[name] = users.create_token(workspace, name)
    app = create_app(workspace, ServerSettings())
    trained = []

    def retrain_mid_run(elapsed: float) -> None:
        if elapsed > DURATION / 3 and not trained:
            trained.append(app.state.retrainer.request("load"))

    with LiveServer(app) as url:
        result = run_annotators(
            url, "load", tokens, labels=LABELS, duration=DURATION, on_tick=retrain_mid_run
        )
        assert app.state.retrainer.wait_idle(120)
    assert trained, "the retrain was requested during the run"
    assert result.seconds >= DURATION, "the annotators worked for the whole run"
    assert result.errors == []
    assert len(result.accepted) >= N_ANNOTATORS  # every annotator got work done
    # no item handed to two annotators (overlap is 1)
    seen = Counter(i for items in result.handed.values() for i in items)
    assert [i for i, n in seen.items() if n > 1] == []
    # every accepted submission stored exactly once, and still current after the retrain
    request_ids = [r for _, _, r, _ in result.accepted]
    with workspace.transaction() as session:
        stored = Counter(
            session.scalars(
                select(Annotation.request_id).where(Annotation.request_id.in_(request_ids))
            )
        )
        current = session.scalar(
            select(func.count(Annotation.id)).where(
                Annotation.request_id.in_(request_ids), Annotation.is_current.is_(True)
            )
        )
    assert stored == Counter(request_ids) and set(stored.values()) == {1}
    assert current == len(request_ids)
    status = workspace.status("load")
    assert status.labelled == len({item for _, item, _, _ in result.accepted})
    assert len(workspace.models("load")) >= 2  # the retrain really happened
