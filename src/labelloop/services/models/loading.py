"""Model artifacts of a project: writing them atomically and loading them once per process."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.store import ModelKind

__all__ = [
    "LoadedModel",
    "PredictorModel",
    "load_model",
    "save_head_model",
    "save_predictor_model",
    "save_zero_shot_model",
]

ZERO_SHOT_TEMPERATURE = 0.05


@dataclass(frozen=True)
class PredictorModel:
    """What a predictor's model version keeps: which predictor, its calibration, its evidence.

    The predictor itself (a plug-in, or a model server) keeps what it learnt; the version holds
    the temperature that calibrates its outputs and the held-out evidence that temperature, the
    version's metrics and auto-accept are computed on: for each label (annotation id), the
    predictor's raw ``pred_probs`` from before it ever trained on that label.

    Attributes:
        predictor: The predictor's name (the project's ``predictor`` setting then).
        url: Its ``predictor_url`` then, or ``None``.
        temperature: Divides ``log(pred_probs)`` before a softmax (single-label projects with
            enough evidence); ``None`` leaves the predictor's probabilities as they are.
        evidence_ids: ``(m,)`` annotation ids.
        evidence_probs: ``(m, k)`` the predictor's raw ``pred_probs`` of those labels' items.
    """

    predictor: str
    url: str | None
    temperature: float | None
    evidence_ids: np.ndarray
    evidence_probs: np.ndarray

    def calibrate(self, pred_probs: np.ndarray) -> np.ndarray:
        """Calibrated ``(n, k)`` probabilities from the predictor's raw ``pred_probs``."""
        if self.temperature is None or len(pred_probs) == 0:
            return np.asarray(pred_probs, dtype=np.float64)
        from labelloop.learn.calibration import TemperatureScaler

        scaler = TemperatureScaler()
        scaler.temperature_ = self.temperature
        return np.asarray(scaler.predict_proba(log_probs(pred_probs)), dtype=np.float64)


def log_probs(pred_probs: np.ndarray) -> np.ndarray:
    """``log(pred_probs)``, clipped away from 0, as logits a temperature divides."""
    return np.log(np.clip(np.asarray(pred_probs, dtype=np.float64), 1e-6, 1.0))


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to predict: a trained head, a zero-shot label-embedding matcher, or
    a predictor's calibration and evidence (``predictor``: it reads items, not embeddings)."""

    kind: ModelKind
    model: Any = None  # labelloop.learn.TrainedModel for heads
    label_embeddings: np.ndarray | None = None
    temperature: float = ZERO_SHOT_TEMPERATURE
    predictor: PredictorModel | None = None

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        if self.kind == ModelKind.PREDICTOR:
            assert self.predictor is not None
            raise InvalidInput(
                f"the champion is predictor {self.predictor.predictor!r}, which reads items, not "
                "embeddings",
                field="model",
            )
        if self.kind == ModelKind.ZERO_SHOT:
            from labelloop.learn import zero_shot_pred_probs

            assert self.label_embeddings is not None
            return zero_shot_pred_probs(
                embeddings, self.label_embeddings, temperature=self.temperature
            )
        return np.asarray(self.model.predict_proba(embeddings))


def save_zero_shot_model(folder: Path, label_embeddings: np.ndarray, temperature: float) -> None:
    np.save(folder / "label_embeddings.npy", label_embeddings.astype(np.float32))
    (folder / "meta.json").write_text(
        json.dumps({"kind": ModelKind.ZERO_SHOT, "temperature": temperature})
    )


def save_head_model(folder: Path, model: Any) -> None:
    model.save(folder / "model.pkl")
    (folder / "meta.json").write_text(json.dumps({"kind": ModelKind.HEAD}))


def save_predictor_model(folder: Path, model: PredictorModel) -> None:
    np.save(folder / "evidence_ids.npy", model.evidence_ids.astype(np.int64))
    np.save(folder / "evidence_probs.npy", model.evidence_probs.astype(np.float64))
    meta = {
        "kind": ModelKind.PREDICTOR,
        "predictor": model.predictor,
        "url": model.url,
        "temperature": model.temperature,
    }
    (folder / "meta.json").write_text(json.dumps(meta))


_CACHE: OrderedDict[str, LoadedModel] = OrderedDict()
_LOCK = threading.Lock()


def load_model(folder: Path) -> LoadedModel:
    """Load a model version's files (cached: a model folder never changes once written)."""
    key = str(folder)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
    meta_path = folder / "meta.json"
    if not meta_path.exists():
        raise NotFound(f"model files missing at {folder}")
    meta = json.loads(meta_path.read_text())
    if meta["kind"] == ModelKind.PREDICTOR:
        predictor = PredictorModel(
            predictor=str(meta["predictor"]),
            url=meta["url"],
            temperature=meta["temperature"],
            evidence_ids=np.load(folder / "evidence_ids.npy"),
            evidence_probs=np.load(folder / "evidence_probs.npy"),
        )
        loaded = LoadedModel(kind=ModelKind.PREDICTOR, predictor=predictor)
    elif meta["kind"] == ModelKind.ZERO_SHOT:
        loaded = LoadedModel(
            kind=ModelKind.ZERO_SHOT,
            label_embeddings=np.load(folder / "label_embeddings.npy"),
            temperature=float(meta["temperature"]),
        )
    else:
        from labelloop.learn import TrainedModel

        loaded = LoadedModel(kind=ModelKind.HEAD, model=TrainedModel.load(folder / "model.pkl"))
    with _LOCK:
        _CACHE[key] = loaded
        while len(_CACHE) > 16:
            _CACHE.popitem(last=False)
    return loaded
