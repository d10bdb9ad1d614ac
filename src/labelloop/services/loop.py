"""The iterative loop: what follows a training run or a change of champion, and the background
worker that retrains as labels arrive.

:func:`retrain` is train, then (when the new model became champion) fresh suggestions, then the
label-error detection that feeds the review queue; :func:`promote` and :func:`rollback` change
the champion and refresh its suggestions once. ``models`` never sequences these itself.

Background retraining (:class:`Retrainer`) is a worker thread beside the server, one training at
a time.

Requests coalesce: asking for a retrain while one is queued changes nothing, and asking while one
is running queues exactly one more run (so labels that arrived during the run are learnt too). A
request never waits for training; the web UI polls :meth:`Retrainer.state` to pick up the new
model.

Example:
    >>> worker = Retrainer(ws)          # doctest: +SKIP
    >>> worker.start()                  # doctest: +SKIP
    >>> worker.request("news")          # doctest: +SKIP
    'queued'
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING

from pydantic import BaseModel

from labelloop.errors import LabelloopError
from labelloop.services.models import coldstart, predicting, registry, training
from labelloop.services.progress import Progress
from labelloop.services.quality.qa import after_training
from labelloop.services.results import ModelVersionInfo, PredictResult, TrainResult
from labelloop.store import ModelKind, repo

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["Retrainer", "TrainingState", "predict", "promote", "retrain", "rollback"]

log = logging.getLogger(__name__)


def retrain(
    ws: WorkspaceContext,
    name: str,
    *,
    progress: Progress | None = None,
    refresh: bool = True,
    C: float | None = None,
) -> TrainResult:
    """Train a new model version; when it is promoted, refresh the suggestions from it; then
    re-run label-error detection (not after a zero-shot start, which has no labels to check; a
    span project's mapped pre-trained champion is checked once it has labels, which it never
    trained on).

    ``refresh=False`` leaves the suggestions as they are (the retrain worker's ``predict=False``);
    ``C`` fixes the head's regularisation strength instead of cross-validating it. ``progress``
    hears the stages of training and then of the refresh.
    """
    result = training.train(ws, name, progress=progress, C=C)
    if result.promoted and refresh:
        predicting.predict(ws, name, progress=progress)
    if result.kind != ModelKind.ZERO_SHOT and (
        result.kind != ModelKind.PRETRAINED or result.n_labels
    ):
        after_training(ws, name)
    return result


def predict(ws: WorkspaceContext, name: str, *, progress: Progress | None = None) -> PredictResult:
    """Refresh every unlabelled item's suggestion from the champion and re-rank the queue; a
    project without a champion gets a zero-shot (or first trained) one first. An image or audio
    project with no label yet has no model to score it: its queue is ordered by cluster cold
    start instead (:mod:`labelloop.services.models.coldstart`)."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        has_champion = repo.champion(session, project.id) is not None
    if not has_champion:
        if coldstart.needs_cold_start(ws, name):  # no zero-shot model reads images
            return coldstart.rank_cold_start(ws, name, progress=progress)
        training.train(ws, name, progress=progress)
    return predicting.predict(ws, name, progress=progress)


def promote(ws: WorkspaceContext, name: str, version: int) -> ModelVersionInfo:
    """Make ``version`` the champion by hand and refresh the suggestions from it."""
    info = registry.promote(ws, name, version)
    predicting.predict(ws, name)
    return info


def rollback(ws: WorkspaceContext, name: str) -> ModelVersionInfo:
    """Return to the previous champion and refresh the suggestions from it."""
    info = registry.rollback(ws, name)
    predicting.predict(ws, name)
    return info


class TrainingState(BaseModel):
    """What the retrain worker is doing for one project."""

    state: str = "idle"  # idle | queued | running
    again: bool = False  # a request arrived while running: one more run follows
    runs: int = 0
    last_version: int | None = None
    last_promoted: bool | None = None
    last_error: str | None = None
    finished_at: float | None = None  # unix time of the last finished run


class Retrainer:
    """One worker thread that retrains and re-predicts projects on request.

    Args:
        ws: The workspace.
        predict: Refresh the suggestions after a training run (default True).
    """

    def __init__(self, ws: WorkspaceContext, *, predict: bool = True) -> None:
        self.ws = ws
        self.predict = predict
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._states: dict[str, TrainingState] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._idle = threading.Condition(self._lock)

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="labelloop-retrain", daemon=True)
            self._thread.start()

    def stop(self, timeout: float | None = 30.0) -> None:
        """Let the current run finish, then end the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None

    def request(self, project: str) -> str:
        """Ask for a retrain of ``project``; returns the state afterwards (queued | running)."""
        with self._lock:
            state = self._states.setdefault(project, TrainingState())
            if state.state == "idle":
                state.state = "queued"
                self._queue.put(project)
            elif state.state == "running":
                state.again = True
            return state.state

    def state(self, project: str) -> TrainingState:
        with self._lock:
            return self._states.get(project, TrainingState()).model_copy()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until no project is queued or running (for tests and the demo)."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while any(s.state != "idle" for s in self._states.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
            return True

    def _run(self) -> None:
        while True:
            project = self._queue.get()
            if project is None:
                return
            with self._lock:
                self._states[project].state = "running"
                self._states[project].again = False
            self._train_once(project)
            with self._idle:
                state = self._states[project]
                state.runs += 1
                state.finished_at = time.time()
                if state.again:
                    state.again = False
                    state.state = "queued"
                    self._queue.put(project)
                else:
                    state.state = "idle"
                self._idle.notify_all()

    def _train_once(self, project: str) -> None:
        try:
            result = retrain(self.ws, project, refresh=self.predict)
        except LabelloopError as exc:
            log.warning("retraining %s failed: %s", project, exc)
            with self._lock:
                self._states[project].last_error = str(exc)
            return
        except Exception as exc:  # the worker must survive anything a training run throws
            log.exception("retraining %s crashed", project)
            with self._lock:
                self._states[project].last_error = f"{type(exc).__name__}: {exc}"
            return
        with self._lock:
            state = self._states[project]
            state.last_version = result.model_version
            state.last_promoted = result.promoted
            state.last_error = None
