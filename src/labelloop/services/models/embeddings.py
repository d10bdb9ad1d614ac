"""Embeddings of a project's items, through the workspace's content-hash cache."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.services.progress import Progress, stage

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["FINETUNED_PREFIX", "embed", "finetuned_dir", "register_finetuned"]

# Backbones fine-tuned inside a workspace are named "ft-<project id>-<token>"; their files live in
# <workspace>/artifacts/encoders/<name>, and they are registered on first use in each process.
FINETUNED_PREFIX = "ft-"


def finetuned_dir(ws: WorkspaceContext, name: str) -> Any:
    return ws.artifacts.root / "encoders" / name


def register_finetuned(ws: WorkspaceContext, name: str) -> None:
    """Make a fine-tuned backbone of this workspace known to the registry (idempotent)."""
    from labelloop.backbones import (
        BackboneInfo,
        SentenceTransformerEncoder,
        list_backbones,
        register_backbone,
    )
    from labelloop.schema import Modality

    if not name.startswith(FINETUNED_PREFIX) or name in {b.name for b in list_backbones()}:
        return
    folder = finetuned_dir(ws, name)
    if not (folder / "modules.json").exists():
        return
    info = BackboneInfo(name, Modality.TEXT, _dim(folder), description="fine-tuned in workspace")
    register_backbone(info, lambda: SentenceTransformerEncoder(folder, name=name), replace=True)


def _dim(folder: Any) -> int:
    import json

    # sentence-transformers names the key "word_embedding_dimension" or, since v5,
    # "embedding_dimension"
    for config in sorted(folder.glob("*Pooling*/config.json")):
        values = json.loads(config.read_text())
        for key in ("embedding_dimension", "word_embedding_dimension"):
            if key in values:
                return int(values[key])
    return int(json.loads((folder / "config.json").read_text())["hidden_size"])


def embed(
    ws: WorkspaceContext,
    backbone: str,
    inputs: Sequence[Any],
    hashes: Sequence[str],
    *,
    progress: Progress | None = None,
    stage_name: str = "embedding",
) -> np.ndarray:
    """Embeddings ``(n, d)`` of ``inputs``; each content hash is encoded once per backbone, ever.

    ``progress`` hears one stage, ``stage_name``, of ``len(inputs)`` items (those served from
    the cache count at once).
    """
    from labelloop.backbones import get_encoder

    register_finetuned(ws, backbone)
    encoder = get_encoder(backbone)
    advance = stage(progress, stage_name, len(inputs))
    return ws.embedding_cache().embed(encoder, list(inputs), list(hashes), progress=advance)
