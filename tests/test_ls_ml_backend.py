"""The label-studio-ml predictor against a real Label Studio ML backend on loopback.

The backend is ``label-studio-ml`` 1.0.9's own Flask server around a tiny word-count model
(``tests/ls_ml/backend.py``), run by ``.venv-lsml/bin/python``: that package pins Flask, Jinja2
and itsdangerous versions older than labelloop's, so it lives in a venv of its own, which
``make lsml-venv`` creates (the fixture runs it when the venv is missing).
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from factories import suggestions_by_text, topic_project, topic_texts
from labelloop.errors import InvalidInput, PluginError
from labelloop.predictors._label_studio_ml import LabelStudioMLClient, pred_probs_from_predictions
from labelloop.schema import LabelSchema
from labelloop.tasks import task_for

ROOT = Path(__file__).parents[1]
PYTHON = ROOT / ".venv-lsml" / "bin" / "python"
BACKEND = Path(__file__).parent / "ls_ml" / "backend.py"
SCHEMA = LabelSchema(task="text-classification", labels=["sports", "tech", "politics"])
CONFIG = task_for(SCHEMA).label_studio_config(SCHEMA)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(tmp_path: Path, *flags: str) -> Iterator[str]:
    if not PYTHON.exists():
        subprocess.run(["make", "-s", "lsml-venv"], cwd=ROOT, check=True, timeout=600)
    port = _free_port()
    log = (tmp_path / "backend.log").open("w")
    proc = subprocess.Popen(
        [str(PYTHON), str(BACKEND), str(port), str(tmp_path / "models"), *flags],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "backend.log").read_text())
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[str]:
    """The base URL of a running backend whose model learns from /train."""
    yield from _start(tmp_path)


@pytest.fixture
def frozen_backend(tmp_path: Path) -> Iterator[str]:
    """A backend without /train and /webhook (404): a model served as it is."""
    yield from _start(tmp_path, "--no-train")


def _project(ws, tmp_path: Path, url: str, *, n: int = 90, labelled: int = 0) -> None:
    topic_project(
        ws,
        tmp_path,
        backbone="fake",
        settings={"predictor": "label-studio-ml", "predictor_url": url},
        n=n,
        labelled=labelled,
    )


def test_the_client_speaks_the_backends_protocol(backend):
    client = LabelStudioMLClient(backend)
    assert client.health()["status"] == "UP"
    assert client.setup("t", CONFIG) == "INITIAL"
    tasks = [{"id": 7, "data": {"text": "the goal of the match"}}]
    predictions, version = client.predict("t", CONFIG, tasks)
    assert version == "INITIAL" and len(predictions) == 1
    assert predictions[0]["result"][0]["value"]["choices"] == ["sports"]  # untrained: label 0
    labelled = [
        {**tasks[0], "annotations": [{"result": task_for(SCHEMA).label_studio_result(
            SCHEMA, ["politics"], to_name="text")}]}
    ]  # fmt: skip
    assert client.train("t", CONFIG, labelled) == "/train"
    predictions, version = client.predict("t", CONFIG, tasks)
    assert version != "INITIAL"
    assert predictions[0]["result"][0]["value"]["choices"] == ["politics"]


def test_a_project_uses_the_backend_as_its_model_end_to_end(backend, workspace, tmp_path):
    ws = workspace
    _project(ws, tmp_path, backend, n=90)
    first = ws.predict("p")  # no champion yet: a predictor version first, nothing to train on
    assert first.kind == "predictor" and first.items == 90
    assert all(abs(c - 1 / 3) < 1e-6 for _, c in suggestions_by_text(ws).values())  # untrained

    by_text = dict(topic_texts(90))
    given = []
    for item in ws.next_items("p", n=30, annotator="alice"):
        given.append(by_text[item.data["text"]])
        ws.submit("p", item.item_id, [given[-1]], annotator="alice")
    trained = ws.train("p")  # the 30 labels go to /train
    assert trained.kind == "predictor" and trained.promoted
    assert "trained on 30 labels" in trained.reason
    # asked before /train, the untrained model gave every one of them the same answer
    assert trained.metrics["accuracy"] in {given.count(label) / 30 for label in set(given)}
    found = suggestions_by_text(ws)
    assert len(found) == 60
    accuracy = sum(label == by_text[text] for text, (label, _) in found.items()) / len(found)
    assert accuracy > 0.8

    for item in ws.next_items("p", n=30, annotator="bob"):
        ws.submit("p", item.item_id, [by_text[item.data["text"]]], annotator="bob")
    again = ws.train("p")
    assert again.metrics["accuracy"] > 0.6  # 30 untrained answers, 30 from the trained model
    newest = max(ws.models("p"), key=lambda m: m.version)
    assert newest.params["url"] == backend and newest.params["learnt"] is True
    decision = ws.auto_accept("p", dry_run=True, min_evidence=20, target_precision=0.5)
    assert decision.n_evidence == 60


def test_a_backend_that_cannot_train_is_used_as_it_is(frozen_backend, sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    _project(ws, tmp_path, frozen_backend, n=30, labelled=15)
    result = ws.train("p")
    assert result.kind == "predictor" and "does not train" in result.reason
    assert ws.models("p")[-1].params["learnt"] is False
    assert ws.predict("p").items == 15


def test_backend_failures_name_the_url_and_endpoint(backend):
    client = LabelStudioMLClient(backend)
    client.setup("t", CONFIG)
    with pytest.raises(PluginError, match=r"at http://127\.0\.0\.1:\d+: POST /predict answered "
                       r"500: KeyError: 'text'"):  # fmt: skip
        client.predict("t", CONFIG, [{"id": 1, "data": {"body": "no text key"}}])


def test_an_unreachable_or_silent_backend_fails_with_its_url(sqlite_workspace):
    closed = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(
        PluginError, match=rf"backend at {closed}: GET /health failed: ConnectError"
    ):
        LabelStudioMLClient(closed).health()
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(PluginError, match=r"GET /health timed out \(ReadTimeout\)"):
            LabelStudioMLClient(url, timeout=0.3).health()
    sqlite_workspace.create_project(
        "p",
        labels="a,b",
        backbone="fake",
        settings={"predictor": "label-studio-ml", "predictor_url": closed},
    )
    with pytest.raises(PluginError, match=closed):
        sqlite_workspace.predict("p")
    with pytest.raises(InvalidInput, match="predictor_url"):
        sqlite_workspace.update_project("p", settings={"predictor_url": ""})


def test_predictions_become_pred_probs_over_the_projects_labels():
    def region(choices, score=None):
        r = {
            "from_name": "label",
            "to_name": "text",
            "type": "choices",
            "value": {"choices": choices},
        }
        return r if score is None else {**r, "score": score}

    predictions = [
        {"result": [region(["tech"])], "score": 0.7},  # the prediction's score
        {"result": [region(["sports"], 0.5), region(["politics"], 0.3)]},  # a distribution
        {"result": []},  # no answer: nothing known
        {"result": [region(["tech"])]},  # no score at all: certain
    ]
    probs = pred_probs_from_predictions(predictions, SCHEMA, where="b", task_ids=[1, 2, 3, 4])
    np.testing.assert_allclose(
        probs,
        [[0.15, 0.7, 0.15], [0.5, 0.2, 0.3], [1 / 3, 1 / 3, 1 / 3], [0.0, 1.0, 0.0]],
    )
    with pytest.raises(PluginError, match="task 9 names label 'weather'"):
        pred_probs_from_predictions([{"result": [region(["weather"])]}], SCHEMA, where="b",
                                    task_ids=[9])  # fmt: skip
    with pytest.raises(PluginError, match=r"task 9 has a score 1\.5 outside"):
        pred_probs_from_predictions([{"result": [region(["tech"], 1.5)]}], SCHEMA, where="b",
                                    task_ids=[9])  # fmt: skip
    multi = SCHEMA.model_copy(update={"multi_label": True})
    probs = pred_probs_from_predictions(
        [{"result": [region(["sports", "tech"], 0.8)]}], multi, where="b", task_ids=[1]
    )
    np.testing.assert_allclose(probs, [[0.8, 0.8, 0.0]])
