"""The one interface every pre-trained backbone implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from labelloop.schema import Modality

__all__ = ["Encoder", "ProgressCallback"]

ProgressCallback = Callable[[int], None]
"""Called with the number of inputs just encoded (an increment, not a total)."""


@runtime_checkable
class Encoder(Protocol):
    """A frozen pre-trained model that turns inputs into embeddings.

    ``encode`` returns a C-contiguous ``float32`` array of shape ``(len(inputs), dim)`` whose rows
    are L2-normalised, in the order of ``inputs``; an empty input gives ``(0, dim)``. Text encoders
    take ``str`` inputs; image and audio encoders take file paths. ``progress``, when given, is
    called with the size of each batch as it finishes (increments summing to ``len(inputs)``).
    Invalid inputs raise :class:`labelloop.errors.InvalidInput`.

    ``name`` identifies the backbone (and the embedding cache folder), ``modality`` says what it
    embeds and ``dim`` is the embedding width ``d``. Get instances with
    :func:`labelloop.backbones.get_encoder`.
    """

    name: str
    modality: Modality
    dim: int

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray: ...
