"""Model artifacts of a project: writing them atomically and loading them once per process."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import NotFound
from labelloop.store import ModelKind

__all__ = ["LoadedModel", "load_model", "save_head_model", "save_zero_shot_model"]

ZERO_SHOT_TEMPERATURE = 0.05


@dataclass(frozen=True)
class LoadedModel:
    """A model version ready to predict: a trained head or a zero-shot label-embedding matcher."""

    kind: ModelKind
    model: Any = None  # labelloop.learn.TrainedModel for heads
    label_embeddings: np.ndarray | None = None
    temperature: float = ZERO_SHOT_TEMPERATURE

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
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
    if meta["kind"] == ModelKind.ZERO_SHOT:
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
