"""A box model that learns any labels from a few corrected images.

Frozen EfficientNet-Lite0 feature maps (pre-trained on ImageNet, cached per image) feed a small
CenterNet-style head (:mod:`labelloop.learn.boxes._head`) trained with torch on the CPU in
seconds. It learns classes the pre-trained detector has never seen: only the head is trained,
so a few dozen images suffice.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput, NotFound
from labelloop.learn.boxes._features import STRIDE, FeatureExtractor, Letterbox
from labelloop.learn.boxes._validation import Box, check_boxes, check_images, check_labels

__all__ = ["BoxModel", "BoxSettings"]

_FORMAT = 1
_STATE_FILE = "head.pt"
_META_FILE = "meta.json"


@dataclass(frozen=True)
class BoxSettings:
    """How a :class:`BoxModel` is trained.

    Attributes:
        input_size: Side of the square (letterboxed) input in pixels, a multiple of 32; the
            feature map is ``input_size / 16`` cells a side.
        steps: Optimiser steps (Adam) over random mini-batches.
        lr: Learning rate (cosine decay to zero).
        batch_size: Images per step.
        width: Channels of the head's convolutions.
        dims: Principal components of the frozen features the head sees.
        weight_decay: AdamW weight decay.
        flip: Also train on each image's mirror image (its own cached features).
    """

    input_size: int = 320
    steps: int = 400
    lr: float = 2e-3
    batch_size: int = 16
    width: int = 64
    dims: int = 64
    weight_decay: float = 1e-4
    flip: bool = True

    def check(self) -> BoxSettings:
        """Return self, or raise :class:`InvalidInput` naming the bad setting."""
        if self.input_size < 64 or self.input_size % 32:
            raise InvalidInput(
                f"must be a multiple of 32 >= 64, got {self.input_size}", field="input_size"
            )
        for name in ("steps", "batch_size", "width", "dims"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"must be >= 1, got {getattr(self, name)}", field=name)
        if not self.lr > 0:
            raise InvalidInput(f"must be > 0, got {self.lr}", field="lr")
        return self


class BoxModel:
    """Boxes for a project's labels, learnt from its annotated images.

    Build one with :meth:`fit` (or :meth:`load`); ``predict`` returns scored boxes in the
    pixels of each input image.

    Example:
        >>> model = BoxModel.fit(images, boxes, labels=["sneaker", "bag"])  # doctest: +SKIP
        >>> model.predict([image])[0][0]  # doctest: +SKIP
        {'x': 41.0, 'y': 12.5, 'w': 80.2, 'h': 60.1, 'label': 'bag', 'score': 0.91}
    """

    def __init__(self, head: Any, *, labels: tuple[str, ...], settings: BoxSettings) -> None:
        self.labels = labels
        self.settings = settings
        self._head = head
        self._extractor = FeatureExtractor(settings.input_size)

    def __repr__(self) -> str:
        return f"BoxModel(labels={list(self.labels)}, input_size={self.settings.input_size})"

    @classmethod
    def fit(
        cls,
        images: Sequence[np.ndarray],
        boxes: Sequence[Sequence[Box]],
        *,
        labels: Sequence[str],
        seed: int = 0,
        cache_dir: str | Path | None = None,
        keys: Sequence[str] | None = None,
        settings: BoxSettings | None = None,
    ) -> BoxModel:
        """Train a box model on annotated images.

        Args:
            images: ``(h, w, 3)`` uint8 RGB arrays, upright.
            boxes: Per image, its boxes ``{"x", "y", "w", "h", "label"}`` in that image's
                pixels; ``[]`` for an image that has no objects (it teaches what is not one).
            labels: The project's labels (every box's label is one of them).
            seed: Seeds the head's initialisation and the mini-batch order.
            cache_dir: Folder for the frozen feature maps, keyed by ``keys``.
            keys: Content hashes of the images (same order), used as cache file names.
            settings: Training settings; :class:`BoxSettings` defaults when ``None``.

        Raises:
            InvalidInput: No images, lengths differ, an image is not ``(h, w, 3)`` uint8, or a
                box is malformed, outside its image or of an unknown label (named by index).
        """
        import torch

        names = check_labels(labels)
        arrays, checked = _check_training_set(images, boxes, names, keys)
        settings = (settings or BoxSettings()).check()
        extractor = FeatureExtractor(settings.input_size)
        features, frames, all_boxes = _training_features(
            extractor, arrays, checked, keys=keys, cache_dir=cache_dir, flip=settings.flip
        )
        torch.manual_seed(seed)
        head = _train(features, frames, all_boxes, names, settings, seed=seed)
        model = cls(head, labels=names, settings=settings)
        model._extractor = extractor
        return model

    def predict(
        self,
        images: Sequence[np.ndarray],
        *,
        keys: Sequence[str] | None = None,
        cache_dir: str | Path | None = None,
        min_score: float = 0.05,
    ) -> list[list[Box]]:
        """Scored boxes per image, best first, in the pixels of each input image.

        Raises:
            InvalidInput: An image is malformed, ``keys`` has the wrong length, or
                ``min_score`` is outside [0, 1].
        """
        import torch

        from labelloop.learn.boxes._head import decode

        arrays = check_images(images)
        if keys is not None and len(keys) != len(arrays):
            raise InvalidInput(f"has {len(keys)} keys for {len(arrays)} images", field="keys")
        if not 0.0 <= min_score <= 1.0:
            raise InvalidInput(f"must lie in [0, 1], got {min_score}", field="min_score")
        out: list[list[Box]] = []
        for start in range(0, len(arrays), 32):
            batch = arrays[start : start + 32]
            batch_keys = list(keys[start : start + 32]) if keys is not None else None
            feats, frames = self._extractor.features(
                batch, keys=batch_keys, cache_dir=_path_or_none(cache_dir)
            )
            self._head.eval()
            with torch.inference_mode():
                heat, size, offset = self._head(torch.from_numpy(feats))
            peaks = decode(heat, size, offset, stride=STRIDE, min_score=min_score)
            out.extend(
                _to_image_boxes(p, f, self.labels) for p, f in zip(peaks, frames, strict=True)
            )
        return out

    def save(self, folder: str | Path) -> Path:
        """Write the model to ``folder`` (created or replaced whole; never left half-written)."""
        import torch

        target = Path(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
        meta = {"format": _FORMAT, "labels": list(self.labels), "settings": asdict(self.settings)}
        torch.save(self._head.state_dict(), staging / _STATE_FILE)
        (staging / _META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        _swap_in(staging, target)
        return target

    @classmethod
    def load(cls, folder: str | Path) -> BoxModel:
        """Read a model :meth:`save` wrote.

        Raises:
            NotFound: ``folder`` holds no saved box model.
            InvalidInput: Its files are unreadable or of another format.
        """
        import torch

        from labelloop.learn.boxes._head import CenterHead

        path = Path(folder)
        if not (path / _META_FILE).is_file() or not (path / _STATE_FILE).is_file():
            raise NotFound(f"no box model in {path}")
        try:
            meta = json.loads((path / _META_FILE).read_text(encoding="utf-8"))
            if meta.get("format") != _FORMAT:
                raise InvalidInput(
                    f"box model format {meta.get('format')!r} is not {_FORMAT}",
                    file=str(path / _META_FILE),
                )
            settings = BoxSettings(**meta["settings"])
            labels = tuple(meta["labels"])
            state = torch.load(path / _STATE_FILE, map_location="cpu", weights_only=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InvalidInput(f"unreadable box model ({exc})", file=str(path)) from exc
        head = CenterHead(
            FeatureExtractor(settings.input_size).channels,
            len(labels),
            width=settings.width,
            dims=settings.dims,
        )
        head.load_state_dict(state)
        return cls(head.eval(), labels=labels, settings=settings)


def _path_or_none(folder: str | Path | None) -> Path | None:
    return None if folder is None else Path(folder)


def _check_training_set(
    images: Sequence[np.ndarray],
    boxes: Sequence[Sequence[Box]],
    labels: tuple[str, ...],
    keys: Sequence[str] | None,
) -> tuple[list[np.ndarray], list[list[Box]]]:
    arrays = check_images(images)
    if not arrays:
        raise InvalidInput("needs at least one annotated image", field="images")
    if len(boxes) != len(arrays):
        raise InvalidInput(f"has {len(boxes)} entries for {len(arrays)} images", field="boxes")
    if keys is not None and len(keys) != len(arrays):
        raise InvalidInput(f"has {len(keys)} keys for {len(arrays)} images", field="keys")
    checked = [
        check_boxes(b, size=(a.shape[1], a.shape[0]), labels=labels, where=f"boxes[{i}]")
        for i, (a, b) in enumerate(zip(arrays, boxes, strict=True))
    ]
    return arrays, checked


def _mirror(boxes: list[Box], width: int) -> list[Box]:
    return [{**b, "x": width - b["x"] - b["w"]} for b in boxes]


def _training_features(
    extractor: FeatureExtractor,
    images: list[np.ndarray],
    boxes: list[list[Box]],
    *,
    keys: Sequence[str] | None,
    cache_dir: str | Path | None,
    flip: bool,
) -> tuple[np.ndarray, list[Letterbox], list[list[Box]]]:
    cache = _path_or_none(cache_dir)
    features, frames = extractor.features(images, keys=keys, cache_dir=cache)
    if not flip:
        return features, frames, boxes
    mirrored = [np.ascontiguousarray(image[:, ::-1]) for image in images]
    flip_keys = [f"{k}-flip" for k in keys] if keys is not None else None
    more, more_frames = extractor.features(mirrored, keys=flip_keys, cache_dir=cache)
    flipped = [_mirror(b, image.shape[1]) for b, image in zip(boxes, images, strict=True)]
    return np.concatenate([features, more]), frames + more_frames, boxes + flipped


def _train(
    features: np.ndarray,
    frames: list[Letterbox],
    boxes: list[list[Box]],
    labels: tuple[str, ...],
    settings: BoxSettings,
    *,
    seed: int,
) -> Any:
    import torch

    from labelloop.learn.boxes._head import CenterHead, targets

    x = torch.from_numpy(features)
    grid = features.shape[-1]
    label_ids = {name: k for k, name in enumerate(labels)}
    t = targets(boxes, [f.scale for f in frames], label_ids=label_ids, grid=grid, stride=STRIDE)
    head = CenterHead(x.shape[1], len(labels), width=settings.width, dims=settings.dims)
    with torch.no_grad():
        head.fit_projection(x, seed=seed)
        z = head.project(x)
    generator = torch.Generator().manual_seed(seed)
    head.train()
    with _one_thread():
        _steps(head, z, t, settings, generator)
    return head.eval()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: the head's convolutions are too small to gain from more, and
    on a busy machine extra threads make each step several times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _steps(
    head: Any, z: Any, t: dict[str, np.ndarray], settings: BoxSettings, generator: Any
) -> None:
    import torch

    from labelloop.learn.boxes._head import focal_loss

    heat, size, offset, mask = (torch.from_numpy(t[k]) for k in ("heat", "size", "offset", "mask"))
    optimiser = torch.optim.AdamW(
        head.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=settings.steps)
    for _ in range(settings.steps):
        idx = torch.randint(0, len(z), (min(settings.batch_size, len(z)),), generator=generator)
        logits, log_size, off = head.outputs(z[idx])
        m = mask[idx].unsqueeze(1)
        n_pos = m.sum().clamp(min=1.0)
        loss = focal_loss(logits, heat[idx])
        loss = loss + ((log_size - size[idx]).abs() * m).sum() / n_pos
        loss = loss + ((off - offset[idx]).abs() * m).sum() / n_pos
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()


def _to_image_boxes(
    peaks: list[tuple[int, float, float, float, float, float]],
    frame: Letterbox,
    labels: tuple[str, ...],
) -> list[Box]:
    """Peaks in letterboxed-input pixels -> boxes in original pixels, clipped to the image."""
    out = []
    for c, score, cx, cy, w, h in peaks:
        x0 = max((cx - w / 2) / frame.scale, 0.0)
        y0 = max((cy - h / 2) / frame.scale, 0.0)
        x1 = min((cx + w / 2) / frame.scale, float(frame.width))
        y1 = min((cy + h / 2) / frame.scale, float(frame.height))
        if x1 - x0 < 1.0 or y1 - y0 < 1.0:
            continue
        out.append(
            {
                "x": x0,
                "y": y0,
                "w": x1 - x0,
                "h": y1 - y0,
                "label": labels[c],
                "score": float(score),
            }
        )
    return out


def _swap_in(staging: Path, target: Path) -> None:
    """Replace ``target`` by ``staging`` with renames only (an old model is kept until then)."""
    if target.exists():
        old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old."))
        os.replace(target, old / "model")
        os.replace(staging, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staging, target)


def with_settings(settings: BoxSettings, **changes: Any) -> BoxSettings:
    """A copy of ``settings`` with ``changes`` (checked)."""
    return replace(settings, **changes).check()
