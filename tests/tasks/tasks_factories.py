"""Factories for the task tests: schemas, pred_probs and item data for any registered task."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from labelloop.schema import LabelSchema, Modality
from labelloop.tasks import Task

LABELS = ("World", "Sports", "Business & <Tech>", 'Say "hi"')


def make_schema(task: Task, *, multi_label: bool, labels: tuple[str, ...] = LABELS) -> LabelSchema:
    return LabelSchema(task=task.name, labels=labels, multi_label=multi_label)


def make_values(schema: LabelSchema, n: int, *, seed: int = 0) -> list[list[str]]:
    """n valid answers in schema order (1-3 labels each when multi-label)."""
    rng = np.random.default_rng(seed)
    out: list[list[str]] = []
    for _ in range(n):
        if schema.multi_label:
            k = int(rng.integers(1, 4))
            chosen = sorted(rng.choice(schema.n_labels, size=k, replace=False).tolist())
        else:
            chosen = [int(rng.integers(schema.n_labels))]
        out.append([schema.labels[j] for j in chosen])
    return out


def make_pred_probs(schema: LabelSchema, n: int, *, seed: int = 0) -> np.ndarray:
    """(n, k) rows summing to 1 (single-label) or independent probabilities (multi-label)."""
    rng = np.random.default_rng(seed)
    if schema.multi_label:
        return rng.random((n, schema.n_labels))
    return rng.dirichlet(np.ones(schema.n_labels), size=n)


def make_item_data(
    task: Task, root: Path, *, name: str = "a", content: str = "hello"
) -> dict[str, Any]:
    """The ``data`` of an item of the task's modality; media files are written under ``root``."""
    modality = task.tags.modality
    if modality is Modality.TEXT:
        return {"text": content}
    suffix = ".png" if modality is Modality.IMAGE else ".wav"
    path = root / "media" / f"{name}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode())
    return {"path": f"media/{name}{suffix}", "media": modality.value}
