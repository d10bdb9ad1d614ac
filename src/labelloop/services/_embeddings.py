"""Embeddings of a project's items, through the workspace's content-hash cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput

if TYPE_CHECKING:
    from labelloop.services.workspace import Workspace

__all__ = ["embed", "item_input"]


def item_input(data: dict[str, Any], media_root: str | None = None) -> Any:
    """What the encoder reads for an item: its text, or the path of its media file."""
    if "text" in data:
        return str(data["text"])
    if "path" in data:
        return data["path"]
    raise InvalidInput("item has neither text nor a media path", field="data")


def embed(
    ws: Workspace,
    backbone: str,
    inputs: Sequence[Any],
    hashes: Sequence[str],
    *,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """Embeddings ``(n, d)`` of ``inputs``; each content hash is encoded once per backbone, ever."""
    from labelloop.backbones import get_encoder

    encoder = get_encoder(backbone)
    return ws.embedding_cache().embed(encoder, list(inputs), list(hashes), progress=progress)
