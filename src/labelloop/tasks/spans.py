"""Spans: an answer is a list of labelled character spans over the item's text (named entities).

A span is ``{"start": int, "end": int, "label": str}`` with ``text[start:end]`` its words; an answer
holds its spans sorted by ``(start, end, label)``. Spans are snapped to token boundaries: an item's
tokens are its ``data["tokens"]`` when it has them (CoNLL imports keep the corpus's tokens), else
spaCy's English tokenizer's. An empty list is a real answer ("no entity in this sentence").

Overlapping spans are refused unless the schema allows them (``LabelSchema.allow_overlap``).
Tokenizing loads spaCy on first use only, so importing this module stays cheap.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality, TaskType
from labelloop.tasks._base import AnswerShape, Decoded, TaskTags, Where
from labelloop.tasks._hashing import text_hash

__all__ = [
    "LS_FROM_NAME",
    "SPAN_STRATEGY",
    "Span",
    "SpansTask",
    "bio_tags",
    "char_spans",
    "from_bio",
    "snap",
    "span_dicts",
    "to_bio",
    "token_offsets",
    "token_spans",
]

#: ``name`` of the ``<Labels>`` control that Label Studio results refer to.
LS_FROM_NAME = "label"
#: What each classification strategy name means for sequences (MNLP: Shen et al., 2017).
SPAN_STRATEGY = {
    "margin": "mnlp",
    "least_confidence": "mnlp",
    "hybrid": "mnlp",
    "entropy": "token_entropy",
    "cold_start": "random",
}
#: At most this many spans in one answer (a sentence with more is almost surely a mistake).
MAX_SPANS = 1000

Span = tuple[int, int, str]


@functools.cache
def _tokenizer() -> Any:
    import spacy

    return spacy.blank("en").tokenizer


def token_offsets(data: Mapping[str, Any]) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of the item's tokens in ``data["text"]``.

    With ``data["tokens"]`` the tokens are found in order in the text (so a CoNLL sentence keeps
    its corpus tokens); otherwise spaCy's English tokenizer splits the text.

    Raises:
        InvalidInput: The item has no text, or its tokens do not appear in order in its text.

    Example:
        >>> token_offsets({"text": "Peter  Blackburn", "tokens": ["Peter", "Blackburn"]})
        [(0, 5), (7, 16)]
    """
    text = data.get("text")
    if not isinstance(text, str):
        raise InvalidInput("a spans item needs a 'text' field", field="data")
    tokens = data.get("tokens")
    if tokens is None:
        return [(t.idx, t.idx + len(t.text)) for t in _tokenizer()(text) if not t.is_space]
    offsets: list[tuple[int, int]] = []
    at = 0
    for i, token in enumerate(tokens):
        start = text.find(str(token), at)
        if start < 0 or not str(token):
            raise InvalidInput(
                f"token {i} ({str(token)!r}) is not in the item's text after offset {at}",
                field="tokens",
            )
        at = start + len(str(token))
        offsets.append((start, at))
    return offsets


def snap(offsets: Sequence[tuple[int, int]], start: int, end: int) -> tuple[int, int] | None:
    """The token-aligned span covering ``[start, end)``: from the first token it touches to the
    end of the last one; ``None`` when it covers no token (only whitespace)."""
    touched = [i for i, (s, e) in enumerate(offsets) if s < end and e > start]
    if not touched:
        return None
    return offsets[touched[0]][0], offsets[touched[-1]][1]


def token_spans(
    offsets: Sequence[tuple[int, int]], spans: Sequence[Mapping[str, Any]]
) -> list[tuple[int, int, str]]:
    """Token-snapped character spans as ``(first_token, end_token, label)``, end exclusive.

    Raises:
        InvalidInput: A span covers no token.

    Example:
        >>> token_spans([(0, 5), (6, 15), (16, 18)], [{"start": 0, "end": 15, "label": "PER"}])
        [(0, 2, 'PER')]
    """
    out = []
    for span in spans:
        inside = [i for i, (s, e) in enumerate(offsets) if s < span["end"] and e > span["start"]]
        if not inside:
            raise InvalidInput(f"span {span['start']}-{span['end']} covers no token")
        out.append((inside[0], inside[-1] + 1, str(span["label"])))
    return out


def char_spans(
    offsets: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int, str]]
) -> list[dict[str, Any]]:
    """Token spans ``(first_token, end_token, label)`` as sorted character-offset span dicts."""
    return span_dicts([(offsets[s][0], offsets[e - 1][1], label) for s, e, label in spans])


def span_dicts(spans: Sequence[Span]) -> list[dict[str, Any]]:
    """Spans as the stored answer: sorted ``{"start", "end", "label"}`` dicts."""
    return [{"start": s, "end": e, "label": label} for s, e, label in sorted(spans)]


def _as_span(raw: Any, index: int, refuse: Any) -> Span:
    if isinstance(raw, Mapping):
        start, end, label = raw.get("start"), raw.get("end"), raw.get("label")
    elif isinstance(raw, list | tuple) and len(raw) == 3:
        start, end, label = raw
    else:
        raise refuse(f"span {index} must be {{'start', 'end', 'label'}} or [start, end, label]")
    if isinstance(start, bool) or isinstance(end, bool):
        raise refuse(f"span {index}: start and end must be integers")
    if not isinstance(start, int) or not isinstance(end, int):
        raise refuse(f"span {index}: start and end must be integers, got {start!r} and {end!r}")
    if not isinstance(label, str):
        raise refuse(f"span {index}: label must be a string, got {label!r}")
    return start, end, label


def bio_tags(schema: LabelSchema) -> list[str]:
    """The IOB2 tag names of a schema: ``O`` then ``B-x``, ``I-x`` per label (``ner_tags`` ids)."""
    return ["O"] + [f"{p}-{label}" for label in schema.labels for p in ("B", "I")]


def to_bio(offsets: Sequence[tuple[int, int]], spans: Sequence[Mapping[str, Any]]) -> list[str]:
    """IOB2 tags of token-snapped, non-overlapping ``spans`` over tokens at ``offsets``.

    Raises:
        InvalidInput: Two spans share a token (IOB2 cannot say that).
    """
    tags = ["O"] * len(offsets)
    for span in sorted(spans, key=lambda s: (s["start"], s["end"])):
        inside = [i for i, (s, e) in enumerate(offsets) if s >= span["start"] and e <= span["end"]]
        if any(tags[i] != "O" for i in inside):
            raise InvalidInput(f"overlapping spans cannot be written as IOB2 tags: {span}")
        for k, i in enumerate(inside):
            tags[i] = ("B-" if k == 0 else "I-") + str(span["label"])
    return tags


def from_bio(offsets: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Spans of IOB2 (or IOB1) ``tags``; an ``I-x`` that does not continue an ``x`` starts one.

    Raises:
        InvalidInput: A tag is neither ``O`` nor ``B-``/``I-`` prefixed, or the counts differ.

    Example:
        >>> from_bio([(0, 5), (6, 15), (19, 27)], ["B-PER", "I-PER", "B-LOC"])
        [{'start': 0, 'end': 15, 'label': 'PER'}, {'start': 19, 'end': 27, 'label': 'LOC'}]
    """
    if len(tags) != len(offsets):
        raise InvalidInput(f"{len(tags)} tags for {len(offsets)} tokens", field="tags")
    spans: list[Span] = []
    current: list[Any] | None = None
    for i, tag in enumerate(tags):
        if tag == "O":
            current = None
            continue
        prefix, _, label = tag.partition("-")
        if prefix not in ("B", "I") or not label:
            raise InvalidInput(f"token {i}: tag {tag!r} is not O, B-<label> or I-<label>")
        if prefix == "I" and current is not None and current[2] == label:
            current[1] = offsets[i][1]
            spans[-1] = (current[0], current[1], label)
            continue
        current = [offsets[i][0], offsets[i][1], label]
        spans.append((current[0], current[1], label))
    return span_dicts(spans)


class SpansTask:
    """Named entities and other labelled spans over an item's text.

    Suggestions come from a span model (:mod:`labelloop.learn.spans`), not from ``pred_probs``
    over the schema's labels, so :meth:`decode`, :meth:`targets` and :meth:`uncertainty` refuse.

    Example:
        >>> schema = LabelSchema(task="spans", labels=["PER", "LOC"])
        >>> item = {"text": "Peter Blackburn in Brussels"}
        >>> SpansTask().check_answer(schema, [{"start": 2, "end": 15, "label": "PER"}], data=item)
        [{'start': 0, 'end': 15, 'label': 'PER'}]
    """

    name = str(TaskType.SPANS)
    widget = "spans"
    tags = TaskTags(
        modality=Modality.TEXT, answer=AnswerShape.SPANS, token_level=True, multi_label=False
    )

    def __repr__(self) -> str:
        return "SpansTask()"

    # -- answers ---------------------------------------------------------------------------------

    def check_answer(
        self,
        schema: LabelSchema,
        value: Any,
        *,
        where: Where | None = None,
        data: Mapping[str, Any] | None = None,
        media_root: Path | None = None,
    ) -> list[Any]:
        """Validate spans against the item's text; return them token-snapped and sorted.

        Args:
            schema: The project's labels.
            value: A list of spans, each ``{"start", "end", "label"}`` or ``[start, end, label]``;
                an empty list means "no span in this item".
            where: Where the answer came from (an import's file and line).
            data: The item's data (its ``text``, optionally ``tokens``). Without it only the
                labels and the spans' order are checked.
            media_root: Unused (a text item has no media file).

        Raises:
            InvalidInput: Not a list, a span out of the text's range or covering no token, an
                unknown label, a span given twice, or overlapping spans where the schema does not
                allow them; the message names the span by its index.
        """
        where = where or Where()

        def refuse(message: str) -> InvalidInput:
            return InvalidInput(message, file=where.file, line=where.line, field=where.field)

        if isinstance(value, str | bytes) or not isinstance(value, Sequence):
            raise refuse("a spans answer must be a list of {'start', 'end', 'label'} spans")
        if len(value) > MAX_SPANS:
            raise refuse(f"at most {MAX_SPANS} spans per item, got {len(value)}")
        spans = [_as_span(raw, i, refuse) for i, raw in enumerate(value)]
        offsets = token_offsets(data) if data is not None else None
        text_length = len(str(data["text"])) if data is not None else None
        snapped: list[Span] = []
        for i, (start, end, label) in enumerate(spans):
            if label not in schema.labels:
                raise refuse(
                    f"span {i} ({start}-{end}): unknown label {label!r}; "
                    f"the project's labels are {', '.join(schema.labels)}"
                )
            if start < 0 or end <= start or (text_length is not None and end > text_length):
                limit = f" of a text of {text_length} characters" if text_length is not None else ""
                raise refuse(f"span {i} ({start}-{end}) is out of range{limit}")
            if offsets is not None:
                aligned = snap(offsets, start, end)
                if aligned is None:
                    raise refuse(f"span {i} ({start}-{end}) covers no token")
                start, end = aligned
            snapped.append((start, end, label))
        ordered = sorted(snapped)
        for a, b in itertools.pairwise(ordered):
            if a == b:
                raise refuse(f"span {a[0]}-{a[1]} {a[2]!r} is given twice")
            if b[0] < a[1] and not schema.allow_overlap:
                raise refuse(
                    f"spans {a[0]}-{a[1]} {a[2]!r} and {b[0]}-{b[1]} {b[2]!r} overlap; "
                    "the project does not allow overlapping spans"
                )
        return span_dicts(ordered)

    def agree(self, schema: LabelSchema, a: Sequence[Any] | None, b: Sequence[Any] | None) -> bool:
        """Whether two answers hold exactly the same spans (a sentence counts as right only if its
        span set is exactly right); a skip (``None``) agrees with nothing."""
        if a is None or b is None:
            return False
        return _span_set(a) == _span_set(b)

    # -- learning: spans are learnt by a span model, not from pred_probs over labels -------------

    def targets(self, schema: LabelSchema, values: Sequence[Sequence[Any]]) -> np.ndarray:
        """Refused: span models train on the spans themselves (:mod:`labelloop.learn.spans`)."""
        raise InvalidInput("spans answers have no classification targets; train a span model")

    def values_from_targets(self, schema: LabelSchema, targets: np.ndarray) -> list[list[Any]]:
        """Refused, as :meth:`targets`."""
        raise InvalidInput("spans answers have no classification targets; train a span model")

    def decode(self, schema: LabelSchema, pred_probs: np.ndarray) -> Decoded:
        """Refused: a span model's suggestions carry their spans and confidences themselves."""
        raise InvalidInput("spans suggestions come from a span model, not from pred_probs")

    def uncertainty(self, schema: LabelSchema, pred_probs: np.ndarray) -> np.ndarray:
        """Refused: sequence uncertainty (MNLP, token entropy) comes from the span model."""
        raise InvalidInput("spans uncertainty comes from the span model, not from pred_probs")

    def strategy_name(self, schema: LabelSchema, name: str) -> str:
        """The sequence strategy run for ``name``: ``margin`` -> ``mnlp``, ``entropy`` ->
        ``token_entropy``; ``random``, ``mnlp`` and ``token_entropy`` as given."""
        return SPAN_STRATEGY.get(name, name)

    # -- items -----------------------------------------------------------------------------------

    def encoder_input(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> Any:
        """The item's text.

        Raises:
            InvalidInput: ``data`` has no ``text``.
        """
        if "text" not in data:
            raise InvalidInput("a spans item needs a 'text' field", field="data")
        return str(data["text"])

    def content_hash(self, data: Mapping[str, Any], *, media_root: Path | None = None) -> str:
        """sha256 of the NFC-normalised stripped text."""
        return text_hash(str(self.encoder_input(data)))

    # -- formats ---------------------------------------------------------------------------------

    def label_studio_config(self, schema: LabelSchema, *, data_key: str = "text") -> str:
        """The Label Studio config: a ``<Labels>`` control over the ``<Text>``.

        Example:
            >>> s = LabelSchema(task="spans", labels=["PER", "LOC"])
            >>> SpansTask().label_studio_config(s)[:41]
            '<View><Labels name="label" toName="text">'
        """
        labels = "".join(f"<Label value={quoteattr(n)}/>" for n in schema.labels)
        return (
            f'<View><Labels name="{LS_FROM_NAME}" toName="{data_key}">{labels}</Labels>'
            f'<Text name="{data_key}" value="${data_key}"/></View>'
        )

    def label_studio_result(
        self,
        schema: LabelSchema,
        value: Sequence[Any],
        *,
        to_name: str,
        text: str | None = None,
    ) -> list[dict[str, Any]]:
        """One ``labels`` region per span (with the span's words when ``text`` is given)."""
        regions = []
        for k, span in enumerate(value):
            region_value: dict[str, Any] = {
                "start": int(span["start"]),
                "end": int(span["end"]),
                "labels": [str(span["label"])],
            }
            if text is not None:
                region_value["text"] = text[span["start"] : span["end"]]
            regions.append(
                {
                    "id": f"s{k}",
                    "from_name": LS_FROM_NAME,
                    "to_name": to_name,
                    "type": "labels",
                    "value": region_value,
                }
            )
        return regions

    def value_from_label_studio(
        self,
        schema: LabelSchema,
        result: Sequence[Mapping[str, Any]],
        *,
        where: Where | None = None,
    ) -> list[Any] | None:
        """The spans of the ``labels`` regions (one span per label of a region); ``None`` when the
        result holds no ``labels`` region. Spans are checked by :meth:`check_answer`.

        Raises:
            InvalidInput: ``result`` is not a list, or a region lacks integer offsets or labels.
        """
        where = where or Where(field="result")

        def refuse(message: str) -> InvalidInput:
            return InvalidInput(message, file=where.file, line=where.line, field=where.field)

        if not isinstance(result, list | tuple):
            raise refuse("'result' must be a list")
        spans: list[dict[str, Any]] = []
        found = False
        for k, region in enumerate(result):
            if not isinstance(region, Mapping) or region.get("type") != "labels":
                continue
            found = True
            value = region.get("value") or {}
            start, end, labels = value.get("start"), value.get("end"), value.get("labels")
            if not isinstance(start, int) or not isinstance(end, int):
                raise refuse(f"region {k}: 'start' and 'end' must be integers")
            if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
                raise refuse(f"region {k}: 'labels' must be a list of strings")
            spans.extend({"start": start, "end": end, "label": label} for label in labels)
        return spans if found else None

    def hf_feature(self, schema: LabelSchema, datasets: Any) -> Any:
        """A sequence of ``ClassLabel`` IOB2 tags (the ``ner_tags`` column of NER datasets)."""
        sequence = getattr(datasets, "List", None) or datasets.Sequence
        return sequence(datasets.ClassLabel(names=bio_tags(schema)))


def _span_set(value: Sequence[Any]) -> set[Span]:
    out: set[Span] = set()
    for span in value:
        if isinstance(span, Mapping):
            out.add((int(span["start"]), int(span["end"]), str(span["label"])))
        else:
            start, end, label = span
            out.add((int(start), int(end), str(label)))
    return out
