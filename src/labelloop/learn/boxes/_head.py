"""The CenterNet-style head of :class:`~labelloop.learn.boxes.BoxModel` and its training targets.

On a stride-16 feature map the head predicts, per cell, a heatmap per label (is an object's
centre here?), the object's size (log of width and height in cells) and the centre's offset
within the cell (Zhou et al., "Objects as Points", 2019). Targets are Gaussians around each
box's centre cell whose spread follows the box's width and height (TTFNet's elliptical variant).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["CenterHead", "decode", "focal_loss", "targets"]

_GAUSS_ALPHA = 0.54  # box side / 6 * alpha = the Gaussian's sigma (TTFNet)
_REGRESS_FROM = 0.5  # cells where a box's Gaussian is at least this learn its size and offset


class CenterHead(nn.Module):
    """A fixed PCA projection, a 3x3 and a 1x1 convolution, then 1x1 outputs: ``k`` heatmap
    logits, 2 log-sizes, 2 offsets.

    The projection (whitened principal components of the training features, ``dims`` of them)
    is computed once, not learnt, so a training step only runs the small trainable part on
    pre-projected features: that keeps training within seconds to minutes on a CPU.
    """

    mean: torch.Tensor
    components: torch.Tensor

    def __init__(self, channels: int, n_labels: int, *, width: int = 64, dims: int = 64) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("components", torch.eye(dims, channels))
        self.trunk = nn.Sequential(
            nn.Conv2d(dims, width, 3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=2, dilation=2),
            nn.ReLU(inplace=True),
        )
        self.heat = nn.Conv2d(width, n_labels, 1)
        self.size = nn.Conv2d(width, 2, 1)
        self.offset = nn.Conv2d(width, 2, 1)
        assert self.heat.bias is not None  # Conv2d has a bias unless told otherwise
        nn.init.constant_(self.heat.bias, -2.19)  # prior 0.1 on every cell: stable focal loss

    def fit_projection(self, features: torch.Tensor, *, seed: int, max_cells: int = 20000) -> None:
        """Set the projection to the whitened top principal components of ``features``."""
        cells = features.permute(0, 2, 3, 1).reshape(-1, features.shape[1])
        if len(cells) > max_cells:
            pick = torch.randperm(len(cells), generator=torch.Generator().manual_seed(seed))
            cells = cells[pick[:max_cells]]
        mean = cells.mean(dim=0)
        cov = torch.cov((cells - mean).T.double())
        values, vectors = torch.linalg.eigh(cov)  # ascending
        dims = self.components.shape[0]
        top = vectors[:, -dims:].flip(1).T
        scale = values[-dims:].flip(0).clamp(min=1e-6).rsqrt()
        self.mean.copy_(mean.view(1, -1, 1, 1))
        self.components.copy_((top * scale[:, None]).float())

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(b, c, g, g)`` -> projected ``(b, dims, g, g)``."""
        return torch.einsum("dc,bcyx->bdyx", self.components, x - self.mean)

    def outputs(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Projected features -> heatmap logits, log-sizes and offsets, each ``(b, *, g, g)``."""
        h = self.trunk(z)
        return self.heat(h), self.size(h), self.offset(h)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features ``(b, c, g, g)`` -> heatmap logits, log-sizes and offsets."""
        return self.outputs(self.project(x))


def targets(
    boxes: Sequence[Sequence[dict[str, Any]]],
    scales: Sequence[float],
    *,
    label_ids: dict[str, int],
    grid: int,
    stride: int,
) -> dict[str, np.ndarray]:
    """Training targets for each image's boxes (in original pixels) on a ``grid x grid`` map.

    Returns ``heat`` ``(n, k, g, g)``, ``size`` and ``offset`` ``(n, 2, g, g)`` and ``mask``
    ``(n, g, g)``: the weight of each cell's size and offset targets (1 at a box's centre
    cell, the Gaussian's value on the cells around it, 0 elsewhere).
    """
    n, k = len(boxes), len(label_ids)
    heat = np.zeros((n, k, grid, grid), np.float32)
    size = np.zeros((n, 2, grid, grid), np.float32)
    offset = np.zeros((n, 2, grid, grid), np.float32)
    mask = np.zeros((n, grid, grid), np.float32)
    ys, xs = np.mgrid[0:grid, 0:grid].astype(np.float32)
    for i, (image_boxes, scale) in enumerate(zip(boxes, scales, strict=True)):
        # larger boxes first, so a small box's centre wins a shared cell
        for box in sorted(image_boxes, key=lambda b: -b["w"] * b["h"]):
            w, h = box["w"] * scale / stride, box["h"] * scale / stride  # in cells
            cx, cy = (
                (box["x"] + box["w"] / 2) * scale / stride,
                (box["y"] + box["h"] / 2) * scale / stride,
            )
            ix, iy = min(int(cx), grid - 1), min(int(cy), grid - 1)
            sx, sy = max(w * _GAUSS_ALPHA / 6, 0.3), max(h * _GAUSS_ALPHA / 6, 0.3)
            blob = np.exp(-((xs - ix) ** 2) / (2 * sx**2) - ((ys - iy) ** 2) / (2 * sy**2))
            c = label_ids[box["label"]]
            heat[i, c] = np.maximum(heat[i, c], blob)
            heat[i, c, iy, ix] = 1.0
            # size and offset are learnt on every cell near the centre, weighted by the
            # Gaussian (TTFNet): many more examples per box than the centre cell alone
            near = (blob >= _REGRESS_FROM) & ((blob >= mask[i]) | (mask[i] == 0))
            near[iy, ix] = True
            size[i, 0][near], size[i, 1][near] = np.log(max(w, 1e-3)), np.log(max(h, 1e-3))
            offset[i, 0][near], offset[i, 1][near] = cx - xs[near], cy - ys[near]
            mask[i][near] = np.maximum(blob[near], 1e-3)
            mask[i, iy, ix] = 1.0
    return {"heat": heat, "size": size, "offset": offset, "mask": mask}


def focal_loss(logits: torch.Tensor, heat: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss (alpha 2, beta 4), per positive cell."""
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1.0).float()
    pos_loss = -torch.log(p) * (1 - p) ** 2 * pos
    neg_loss = -torch.log(1 - p) * p**2 * (1 - heat) ** 4 * (1 - pos)
    return (pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def decode(
    logits: torch.Tensor,
    log_size: torch.Tensor,
    offset: torch.Tensor,
    *,
    stride: int,
    min_score: float,
    max_boxes: int = 100,
) -> list[list[tuple[int, float, float, float, float, float]]]:
    """Peaks of the heatmaps -> per image ``(label id, score, cx, cy, w, h)`` in input pixels.

    A peak is a cell whose score is the largest in its 3x3 neighbourhood (CenterNet's
    max-pool NMS); at most ``max_boxes`` per image, best first.
    """
    scores = torch.sigmoid(logits)
    peaks = scores * (nn.functional.max_pool2d(scores, 3, stride=1, padding=1) == scores)
    b, _, g, _ = scores.shape
    flat = peaks.reshape(b, -1)
    top = torch.topk(flat, min(max_boxes, flat.shape[1]), dim=1)
    out = []
    for i in range(b):
        found = []
        for score, index in zip(top.values[i].tolist(), top.indices[i].tolist(), strict=True):
            if score < min_score:
                break
            c, cell = divmod(index, g * g)
            iy, ix = divmod(cell, g)
            cx = (ix + float(offset[i, 0, iy, ix])) * stride
            cy = (iy + float(offset[i, 1, iy, ix])) * stride
            w = float(np.exp(min(float(log_size[i, 0, iy, ix]), 6.0))) * stride
            h = float(np.exp(min(float(log_size[i, 1, iy, ix]), 6.0))) * stride
            found.append((c, score, cx, cy, w, h))
        out.append(found)
    return out
