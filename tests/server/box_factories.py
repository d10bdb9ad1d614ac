"""Factories for box (image-boxes) projects in the server tests: small generated images (one may
carry an EXIF orientation), and suggestions written the way a box model's predict writes them
(the boxes with their scores), so no test has to load a detector."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from labelloop.services.data.importing import ImportOptions
from labelloop.services.models.suggestions import write_suggestion_rows
from labelloop.store import Item, ModelKind, ModelStatus, ModelVersion, repo, utcnow

BOX_LABELS = ["cat", "dog", "bird"]
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Picture:
    """An image file to make: its stored size, EXIF orientation (1: none; 6: the stored pixels
    are shown turned 90 degrees clockwise, so the upright image is ``height x width``) and the
    boxes a model suggests on it as ``(x, y, w, h, label, score)`` in upright pixels."""

    name: str
    size: tuple[int, int]
    orientation: int = 1
    suggested: tuple[tuple[float, float, float, float, str, float], ...] = field(default=())

    @property
    def upright(self) -> tuple[int, int]:
        """``(width, height)`` as a browser shows the image."""
        w, h = self.size
        return (h, w) if self.orientation in (5, 6, 7, 8) else (w, h)

    def suggestion(self) -> list[dict[str, Any]]:
        """The suggested boxes as a suggestion's value (each with its ``score``)."""
        return [
            {"x": x, "y": y, "w": w, "h": h, "label": label, "score": score}
            for x, y, w, h, label, score in self.suggested
        ]

    def write(self, folder: Path) -> Path:
        """The image file: a gradient with a few shapes (so a screenshot shows where boxes
        sit), as PNG, or as JPEG with its EXIF orientation when it has one."""
        w, h = self.size
        img = Image.new("RGB", (w, h))
        draw = ImageDraw.Draw(img)
        for row in range(h):
            draw.line([(0, row), (w, row)], fill=(40 + 150 * row // h, 90, 160))
        draw.rectangle([w // 8, h // 6, w // 3, h // 2], fill=(240, 200, 60))
        draw.ellipse([w // 2, h // 3, w - w // 8, h - h // 8], fill=(230, 80, 80))
        path = folder / self.name
        if self.orientation == 1:
            img.save(path)
        else:
            exif = Image.Exif()
            exif[EXIF_ORIENTATION] = self.orientation
            img.save(path, exif=exif, quality=92)
        return path


def make_box_project(ws: Any, name: str, pictures: list[Picture]) -> dict[str, int]:
    """An image-boxes project with ``pictures`` imported as a folder under the workspace's media
    root (``<media root>/<name>/``, where the server may serve them from), each with its
    suggested boxes (an empty suggestion where it has none) from a recorded model version,
    queued in the given order. Returns ``picture name -> item id``."""
    ws.create_project(name, labels=BOX_LABELS, task="image-boxes")
    images = ws.media_root / name
    images.mkdir(parents=True)
    for picture in pictures:
        picture.write(images)
    ws.import_file(name, images, ImportOptions())
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        version = ModelVersion(
            project_id=project.id,
            version=1,
            status=ModelStatus.RETIRED,
            kind=ModelKind.IMPORTED,
            backbone="external",
            head="test-boxes",
        )
        session.add(version)
        session.flush()
        project_id, version_id = project.id, version.id
        rows = session.execute(
            select(Item.external_id, Item.id).where(Item.project_id == project_id)
        )
        ids = {external: item_id for external, item_id in rows}
    now = utcnow()
    write_suggestion_rows(
        ws,
        project_id,
        [
            {
                "project_id": project_id,
                "item_id": ids[p.name],
                "model_version_id": version_id,
                "value": p.suggestion(),
                "pred_probs": [score for *_, score in p.suggested],
                "confidence": min((score for *_, score in p.suggested), default=1.0),
                "priority": 1.0 - k / len(pictures),
                "created_at": now,
            }
            for k, p in enumerate(pictures)
        ],
    )
    return ids
