"""A client for Label Studio ML backends, and the built-in ``label-studio-ml`` predictor on it.

A Label Studio ML backend (the ``label-studio-ml`` package, ``label-studio-ml-backend`` on
GitHub) is an HTTP server around a team's model. The protocol, as its ``api.py`` serves it:

- ``GET /health`` answers ``{"status": "UP", ...}``;
- ``POST /setup`` with ``{"project", "schema"}`` (the labelling config XML) loads the model for
  a project and answers ``{"model_version"}``;
- ``POST /predict`` with ``{"tasks", "project", "label_config", "params"}`` answers
  ``{"results": [prediction, ...], "model_version"}``, one prediction per task, each
  ``{"result": [{"from_name", "to_name", "type": "choices", "value": {"choices": [...]},
  "score"}], "score"}``;
- ``POST /train`` with ``{"annotations": [task with "annotations"], "project",
  "label_config"}`` fits the model on them (deprecated since Label Studio 1.4.1 but still
  served); newer backends only have ``POST /webhook`` with ``{"action": "ANNOTATION_CREATED",
  "project": {"id", "label_config"}, ...}``.

The predictor sends each item as a task ``{"id": item id, "data": {...}}`` with the project's
label config (:meth:`labelloop.tasks.Task.label_studio_config`), and turns each prediction into a
``pred_probs`` row (:func:`pred_probs_from_predictions`). Training sends every current label to
``/train``; a backend without it gets ``/webhook``; a backend with neither is used as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import PluginError
from labelloop.predictors._base import PredictorContext, PredictorInfo, PredictorItem
from labelloop.schema import LabelSchema, Modality

if TYPE_CHECKING:
    import httpx

__all__ = [
    "LABEL_STUDIO_ML",
    "LabelStudioMLClient",
    "LabelStudioMLPredictor",
    "pred_probs_from_predictions",
]

logger = logging.getLogger(__name__)

LABEL_STUDIO_ML = PredictorInfo(
    "label-studio-ml",
    "a Label Studio ML backend at predictor_url (/setup, /predict, /train or /webhook)",
    needs_url=True,
    modalities=(Modality.TEXT, Modality.IMAGE, Modality.AUDIO),
)
PREDICT_BATCH = 100
"""Tasks per ``/predict`` request."""
CONNECT_TIMEOUT = 5.0
"""Seconds to wait for the backend to accept a connection."""
READ_TIMEOUT = 300.0
"""Seconds to wait for an answer (training on every label may take minutes)."""
_DETAIL_CHARS = 300


class LabelStudioMLClient:
    """The HTTP protocol of a Label Studio ML backend at ``url``, with timeouts.

    Every failure (unreachable, a timeout, a non-2xx answer, a body that is not the protocol's)
    raises :class:`~labelloop.errors.PluginError` naming the URL and the endpoint.

    Example:
        >>> client = LabelStudioMLClient("http://127.0.0.1:9090")  # doctest: +SKIP
        >>> client.health()["status"]                               # doctest: +SKIP
        'UP'
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = READ_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        if not url.startswith(("http://", "https://")):
            raise PluginError(f"Label Studio ML backend URL {url!r} must start with http(s)://")
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict[str, Any]:
        """The backend's ``/health`` answer; raises unless its status is ``UP``."""
        body = self._call("GET", "/health")
        if not isinstance(body, dict) or body.get("status") != "UP":
            raise PluginError(f"Label Studio ML backend at {self.url}: /health says {body!r:.200}")
        return body

    def setup(self, project: str, label_config: str) -> str:
        """Load the backend's model for ``project``; returns its ``model_version``."""
        body = self._call("POST", "/setup", {"project": project, "schema": label_config})
        return str(body.get("model_version", "")) if isinstance(body, dict) else ""

    def predict(
        self, project: str, label_config: str, tasks: Sequence[Mapping[str, Any]]
    ) -> tuple[list[Any], str]:
        """One prediction per task, in order, and the backend's ``model_version``."""
        payload = {
            "tasks": list(tasks),
            "project": project,
            "label_config": label_config,
            "params": {"context": None},
        }
        body = self._call("POST", "/predict", payload)
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(tasks):
            got = f"{len(results)} results" if isinstance(results, list) else f"{body!r:.200}"
            raise PluginError(
                f"Label Studio ML backend at {self.url}: /predict answered {got} for "
                f"{len(tasks)} tasks; expected one prediction per task"
            )
        return results, str(body.get("model_version", ""))

    def train(
        self, project: str, label_config: str, tasks: Sequence[Mapping[str, Any]]
    ) -> str | None:
        """Send the labelled ``tasks`` for training; returns the endpoint that took them
        (``"/train"`` or ``"/webhook"``), or ``None`` if the backend has neither."""
        payload = {"annotations": list(tasks), "project": project, "label_config": label_config}
        try:
            self._call("POST", "/train", payload, missing_ok=True)
            return "/train"
        except _Missing:
            pass
        last = dict(tasks[-1]) if tasks else {}
        event = {
            "action": "ANNOTATION_CREATED",
            "project": {"id": project, "label_config": label_config},
            "label_config": label_config,
            "task": last,
            "annotation": (last.get("annotations") or [None])[-1],
            "tasks": list(tasks),
        }
        try:
            self._call("POST", "/webhook", event, missing_ok=True)
        except _Missing:
            return None
        return "/webhook"

    def _call(
        self, method: str, path: str, payload: Any = None, *, missing_ok: bool = False
    ) -> Any:
        import httpx

        where = f"Label Studio ML backend at {self.url}: {method} {path}"
        try:
            response = self._http.request(method, path, json=payload)
        except httpx.TimeoutException as exc:
            raise PluginError(f"{where} timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            raise PluginError(f"{where} failed: {type(exc).__name__}: {exc}") from exc
        if missing_ok and response.status_code in (404, 405):
            raise _Missing(path)
        if not response.is_success:
            raise PluginError(f"{where} answered {response.status_code}: {_detail(response)}")
        try:
            return response.json()
        except ValueError as exc:
            raise PluginError(
                f"{where} answered {response.status_code} with a non-JSON body"
            ) from exc


class _Missing(Exception):
    """The backend has no such endpoint (404 or 405)."""


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:_DETAIL_CHARS]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:_DETAIL_CHARS]
    return str(body)[:_DETAIL_CHARS]


def pred_probs_from_predictions(
    predictions: Sequence[Any], schema: LabelSchema, *, where: str, task_ids: Sequence[int]
) -> np.ndarray:
    """``pred_probs`` ``(n, k)`` from Label Studio predictions, one per task.

    Each ``choices`` region's labels get its ``score`` (or, without one, the prediction's
    ``score``, or 1.0). A single-label row then shares the rest of its mass (``1 - sum``)
    evenly among the labels no region named, or is normalised when the scores sum past 1; a
    prediction with no region gives the uniform row. Multi-label entries are the scores, 0 for
    labels no region named.

    Raises:
        PluginError: A prediction that is not a dict, a label the project does not have, or a
            score outside ``[0, 1]``; the message names ``where`` and the task id.
    """
    k = schema.n_labels
    index = {label: j for j, label in enumerate(schema.labels)}
    out = np.zeros((len(predictions), k), dtype=np.float64)
    for row, (prediction, task_id) in enumerate(zip(predictions, task_ids, strict=True)):
        if not isinstance(prediction, dict):
            raise PluginError(f"{where}: the prediction for task {task_id} is not an object")
        default = _score(prediction.get("score"), 1.0, where, task_id)
        named = np.zeros(k, dtype=bool)
        for region in prediction.get("result") or []:
            if not isinstance(region, dict) or region.get("type", "choices") != "choices":
                continue
            score = _score(region.get("score"), default, where, task_id)
            for label in (region.get("value") or {}).get("choices") or []:
                if label not in index:
                    raise PluginError(
                        f"{where}: the prediction for task {task_id} names label {label!r}; "
                        f"the project's labels are {', '.join(schema.labels)}"
                    )
                j = index[label]
                out[row, j] = max(out[row, j], score) if named[j] else score
                named[j] = True
        if not schema.multi_label:
            out[row] = _single_label_row(out[row], named)
    return out


def _score(value: Any, default: float, where: str, task_id: int) -> float:
    if value is None:
        return default
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise PluginError(
            f"{where}: task {task_id} has a score {value!r} that is not a number"
        ) from None
    if not 0.0 <= score <= 1.0:
        raise PluginError(f"{where}: task {task_id} has a score {score} outside [0, 1]")
    return score


def _single_label_row(row: np.ndarray, named: np.ndarray) -> np.ndarray:
    if not named.any():
        return np.full(len(row), 1.0 / len(row))
    total = float(row.sum())
    rest = ~named
    if total < 1.0 and rest.any():
        row = row.copy()
        row[rest] = (1.0 - total) / rest.sum()
        return row
    if total <= 0.0:
        return named / named.sum()
    return row / total


class LabelStudioMLPredictor:
    """The built-in ``label-studio-ml`` predictor: a project's items through a backend.

    Built once per project, URL and process: it checks ``/health`` and calls ``/setup`` then.
    The backend's project id is ``labelloop.<project name>``.
    """

    def __init__(self, context: PredictorContext, *, client: LabelStudioMLClient | None = None):
        from labelloop.tasks import task_for

        if context.url is None:
            raise PluginError("the label-studio-ml predictor needs the project's predictor_url")
        self.schema = context.label_schema
        task = task_for(self.schema)
        self.modality = task.tags.modality
        self.data_key = "text" if self.modality is Modality.TEXT else self.modality.value
        self.label_config = task.label_studio_config(self.schema, data_key=self.data_key)
        self.project = f"labelloop.{context.project}"
        self.client = client or LabelStudioMLClient(context.url)
        self.client.health()
        self.model_version = self.client.setup(self.project, self.label_config)
        self.trains_with: str | None = "/train"
        self._task = task

    def _task_of(self, item: PredictorItem) -> dict[str, Any]:
        data = {k: v for k, v in item.data.items() if isinstance(v, str | int | float | bool)}
        data[self.data_key] = str(item.content)
        return {"id": item.id, "data": data}

    def predict(self, items: Sequence[PredictorItem]) -> np.ndarray:
        """``pred_probs`` of ``items``, :data:`PREDICT_BATCH` tasks per request."""
        rows = []
        for start in range(0, len(items), PREDICT_BATCH):
            batch = items[start : start + PREDICT_BATCH]
            tasks = [self._task_of(item) for item in batch]
            predictions, self.model_version = self.client.predict(
                self.project, self.label_config, tasks
            )
            rows.append(
                pred_probs_from_predictions(
                    predictions,
                    self.schema,
                    where=f"Label Studio ML backend at {self.client.url}",
                    task_ids=[item.id for item in batch],
                )
            )
        return np.concatenate(rows) if rows else np.zeros((0, self.schema.n_labels))

    def fit(self, items: Sequence[PredictorItem], labels: Sequence[Sequence[str]]) -> bool:
        """Send every labelled item, its answer as an annotation, to ``/train`` (or
        ``/webhook``); ``False`` when the backend has neither (it is then used as it is)."""
        if self.trains_with is None:
            return False
        tasks = []
        for n, (item, value) in enumerate(zip(items, labels, strict=True)):
            result = self._task.label_studio_result(self.schema, value, to_name=self.data_key)
            annotation = {"id": n + 1, "result": result, "was_cancelled": False}
            tasks.append({**self._task_of(item), "annotations": [annotation]})
        self.trains_with = self.client.train(self.project, self.label_config, tasks)
        if self.trains_with is None:
            logger.info("Label Studio ML backend at %s has no /train or /webhook", self.client.url)
        return self.trains_with is not None


def build_label_studio_ml(context: PredictorContext) -> LabelStudioMLPredictor:
    """The factory registered as ``label-studio-ml``."""
    return LabelStudioMLPredictor(context)
