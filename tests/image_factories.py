"""Factories for image projects: tiny generated photos (Pillow) in a few solid colours with
noise, and a test encoder that embeds an image by its mean colour, so clusters and a trained
head follow the colours and nothing downloads a model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelloop.schema import Modality
from labelloop.services.data.importing import ImportOptions

BACKBONE = "test-mean-colour"
COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220)}


class MeanColourEncoder:
    """Embeds an image file as its upright mean RGB colour (3 dims, unit length); counts the
    images it encoded in ``calls`` (a class attribute, shared by every instance)."""

    name = BACKBONE
    modality = Modality.IMAGE
    dim = 3
    calls = 0

    def encode(self, inputs: list[Any], *, batch_size: int = 64, progress: Any = None) -> Any:
        from labelloop.backbones.images import load_rgb

        out = np.zeros((len(inputs), self.dim), dtype=np.float32)
        for i, path in enumerate(inputs):
            out[i] = load_rgb(path).reshape(-1, 3).mean(axis=0)
        MeanColourEncoder.calls += len(inputs)
        if progress is not None:
            progress(len(inputs))
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def colour_backbone() -> Iterator[str]:
    from labelloop.backbones import BackboneInfo, register_backbone
    from labelloop.backbones._registry import unregister_backbone

    info = BackboneInfo(BACKBONE, Modality.IMAGE, 3, description="mean colour, tests only")
    register_backbone(info, MeanColourEncoder, replace=True)
    yield BACKBONE
    unregister_backbone(BACKBONE)


def write_photo(path: Path, colour: tuple[int, int, int], *, seed: int, size=(64, 48)) -> Path:
    """A noisy ``size`` (width, height) PNG (or JPEG, by suffix) of one colour."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour) + rng.normal(0, 12, (size[1], size[0], 3)), 0, 255)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return path


def colour_photos(folder: Path, per_colour: int, colours: list[str] | None = None) -> list[Path]:
    """``per_colour`` photos of each colour in ``folder``, named ``<colour>-<i>.png``."""
    names = colours or list(COLOURS)
    paths = []
    for i in range(per_colour):
        for j, name in enumerate(names):
            seed = i * len(names) + j
            paths.append(write_photo(folder / f"{name}-{i:03d}.png", COLOURS[name], seed=seed))
    return paths


def make_image_project(
    ws: Any, name: str, *, per_colour: int = 10, labels: str = "red,green,blue", **settings: Any
) -> dict[str, int]:
    """An image-classification project over colour photos in the workspace's media root;
    returns item id by file name (``red-000.png``...). No labels, no model yet."""
    from sqlalchemy import select

    from labelloop.store import Item, repo

    ws.create_project(name, labels=labels, task="image-classification", backbone=BACKBONE,
                      settings=settings or None)  # fmt: skip
    folder = ws.media_root / name
    colour_photos(folder, per_colour)
    ws.import_file(name, folder, ImportOptions())
    with ws.transaction() as session:
        project_id = repo.get_project(session, name).id
        rows = session.execute(
            select(Item.external_id, Item.id).where(Item.project_id == project_id)
        )
        return {str(external): item_id for external, item_id in rows}


def colour_of(external_id: str) -> str:
    return Path(external_id).name.split("-")[0]
