"""Spans in files: span lists in JSON and Label Studio results, corpus tokens, and the rows,
tokens and IOB2 tags that span exports write.

A spans project's label is a list of ``{"start", "end", "label"}`` character spans over the item's
``text``; an item may carry its corpus ``tokens`` (CoNLL, DocBin) in ``data["tokens"]``. The
readers here check the shape of what a file holds; the import service checks every span against
its item's text with the task (:meth:`labelloop.tasks.SpansTask.check_answer`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    annotation_from_provenance,
    check_size,
    object_fields,
    optional_str,
)
from labelloop.services.data.formats._rows import ExportContext, history, provenance
from labelloop.services.data.formats.records import (
    ExportRecord,
    ImportedAnnotation,
    ImportedPrediction,
    ImportRecord,
)
from labelloop.tasks import Where, task_for
from labelloop.tasks.spans import to_bio, token_offsets

__all__ = [
    "SPAN_KEY",
    "TOKENS_KEY",
    "check_tokens",
    "ls_model_version",
    "ls_span_prediction",
    "ls_spans",
    "parse_spans",
    "sequence",
    "span_record",
    "span_row",
    "span_suggestion",
    "tokens_and_tags",
]

#: The key of a spans export's labels (JSONL), and of their history entries' spans.
SPAN_KEY = "spans"
TOKENS_KEY = "tokens"


def check_tokens(value: Any, text: str, opts: ReadOptions, line: int) -> list[str]:
    """An item's corpus tokens: non-empty strings found in order in its text.

    Raises:
        InvalidInput: Not a list of strings, or a token not in the text after the one before it.
    """
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise opts.error("tokens must be a list of strings", line=line, field=TOKENS_KEY)
    for token in value:
        check_size(token, opts, line, TOKENS_KEY)
    try:
        token_offsets({"text": text, "tokens": value})
    except InvalidInput as exc:
        raise opts.error(exc.reason, line=line, field=TOKENS_KEY) from None
    return value


def parse_spans(
    value: Any, opts: ReadOptions, line: int, field: str
) -> tuple[tuple[Any, ...], tuple[float, ...]] | None:
    """The spans of a JSON value and their scores; None (JSON null) means unlabelled.

    Each span is ``{"start", "end", "label"}`` (an optional ``"score"`` in ``[0, 1]``) or
    ``[start, end, label]``; the task checks them against the text. The scores come back only
    when every span has one.
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise opts.error(
            f"spans must be a list of {{'start', 'end', 'label'}} objects, got "
            f"{type(value).__name__}",
            line=line,
            field=field,
        )
    spans: list[Any] = []
    scores: list[float] = []
    for index, span in enumerate(value):
        if isinstance(span, Mapping):
            score = span.get("score")
            if score is not None:
                scores.append(_score(score, opts, line, f"{field}[{index}].score"))
            spans.append({k: span[k] for k in ("start", "end", "label") if k in span})
        else:
            spans.append(span)  # a list or something worse: the task names it by its index
    return tuple(spans), tuple(scores) if len(scores) == len(spans) else ()


def _score(value: Any, opts: ReadOptions, line: int, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise opts.error(f"score {value!r} is not a number in [0, 1]", line=line, field=field)
    return float(value)


def span_record(
    obj: Mapping[str, Any], opts: ReadOptions, line: int, ids: IdTracker
) -> ImportRecord:
    """A spans item from one JSON object: ``text``, optional ``tokens``, spans under
    ``label_field`` (a labelloop export: also its ``history`` and ``suggestion``)."""
    external_id, data, exported = object_fields(obj, opts, line, ids, data_keys=(TOKENS_KEY,))
    if TOKENS_KEY in data:
        data[TOKENS_KEY] = check_tokens(data[TOKENS_KEY], data["text"], opts, line)
    annotations = _span_annotations(obj, opts, line, exported)
    predictions = _span_prediction(obj.get("suggestion"), opts, line) if exported else ()
    return ImportRecord(line, external_id, data, annotations, predictions)


def _span_annotations(
    obj: Mapping[str, Any], opts: ReadOptions, line: int, exported: bool
) -> tuple[ImportedAnnotation, ...]:
    field = opts.label_field
    if field is None:
        return ()
    if field not in obj and not exported:
        raise opts.error(
            f"no field {field!r}; the fields are: {', '.join(map(str, obj))}",
            line=line,
            field=field,
        )
    past = obj.get("history") if exported else None
    if isinstance(past, list) and past:
        out = []
        for entry in past:
            if not isinstance(entry, Mapping):
                raise opts.error("history entries must be objects", line=line, field="history")
            parsed = parse_spans(entry.get("value"), opts, line, "history")
            out.append(annotation_from_provenance(parsed[0] if parsed else (), entry, opts, line))
        return tuple(out)
    parsed = parse_spans(obj.get(field), opts, line, field)
    if parsed is None:
        return ()
    prov = obj.get("provenance") if exported else None
    if isinstance(prov, Mapping):
        return (annotation_from_provenance(parsed[0], prov, opts, line),)
    return (ImportedAnnotation(value=parsed[0], annotator=opts.annotator),)


def _span_prediction(
    suggestion: Any, opts: ReadOptions, line: int
) -> tuple[ImportedPrediction, ...]:
    if not isinstance(suggestion, Mapping):
        return ()
    parsed = parse_spans(suggestion.get("value"), opts, line, "suggestion")
    spans, scores = parsed if parsed is not None else ((), ())
    confidence = suggestion.get("confidence")
    score = None if confidence is None else _score(confidence, opts, line, "confidence")
    version = optional_str(suggestion.get("model_version"))
    return (ImportedPrediction(spans, score, version, scores),)


def ls_spans(
    result: Any, opts: ReadOptions, line: int, field: str
) -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """The spans of a Label Studio ``result`` (its ``labels`` regions) and their scores.

    A result without ``labels`` regions is an answer with no span (Label Studio's way to say a
    sentence names no entity). The scores come back only when every region has a ``score``.
    """
    assert opts.schema is not None  # opts.spans
    where = Where(file=opts.file, line=line, field=field)
    spans = task_for(opts.schema).value_from_label_studio(opts.schema, result, where=where) or []
    scores: list[float] = []
    for k, region in enumerate(result):
        if isinstance(region, Mapping) and region.get("type") == "labels":
            score = region.get("score")
            if score is None:
                return tuple(spans), ()
            n = len((region.get("value") or {}).get("labels") or ())
            scores.extend([_score(score, opts, line, f"{field}[{k}].score")] * n)
    return tuple(spans), tuple(scores)


# -- exports -------------------------------------------------------------------------------------


def span_row(rec: ExportRecord, ctx: ExportContext) -> dict[str, Any]:
    """The JSONL row of a spans item: its data (``text``, ``tokens`` when it has them), its
    spans under ``"spans"`` (null: unlabelled), provenance, history and suggestion."""
    row: dict[str, Any] = {"id": rec.external_id, "item_id": rec.item_id}
    row.update(ctx.data_columns(rec))
    if rec.data.get("meta"):
        row["meta"] = rec.data["meta"]
    row[SPAN_KEY] = None if rec.label is None else list(rec.label)
    row["provenance"] = provenance(rec)
    row["history"] = history(rec)
    row["suggestion"] = span_suggestion(rec)
    row["content_hash"] = rec.content_hash
    return row


def span_suggestion(rec: ExportRecord) -> dict[str, Any] | None:
    """``{"value": spans, each with its "score", "confidence", "model_version"}`` or None."""
    s = rec.suggestion
    if s is None:
        return None
    marginals = list(s.get("pred_probs") or ())
    spans = [dict(span) for span in s.get("value") or ()]
    if len(marginals) == len(spans):
        for span, p in zip(spans, marginals, strict=True):
            span["score"] = float(p)
    confidence = s.get("confidence")
    return {
        "value": spans,
        "confidence": None if confidence is None else float(confidence),
        "model_version": s.get("model_version"),
    }


def ls_span_prediction(rec: ExportRecord, ctx: ExportContext, to_name: str) -> dict[str, Any]:
    """A Label Studio prediction of a spans suggestion: a scored region per span, the
    suggestion's confidence as the prediction's ``score``."""
    sug = span_suggestion(rec)
    assert sug is not None
    spans = sug["value"]
    result = ctx.task.label_studio_result(
        ctx.schema, spans, to_name=to_name, text=str(rec.data.get("text", ""))
    )
    for region, span in zip(result, spans, strict=True):
        if "score" in span:
            region["score"] = span["score"]
    version = ls_model_version(sug["model_version"])
    return {"result": result, "score": sug["confidence"], "model_version": version}


def ls_model_version(version: Any) -> str | None:
    """Label Studio's ``model_version`` is a string; labelloop numbers its model versions."""
    return None if version is None else str(version)


def tokens_and_tags(rec: ExportRecord) -> tuple[list[str], list[str] | None]:
    """The item's tokens and the IOB2 tags of its current spans (None when unlabelled).

    Raises:
        InvalidInput: Two spans share a token (a project that allows overlapping spans).
    """
    text = str(rec.data.get("text", ""))
    offsets = token_offsets(rec.data)
    tokens = [text[s:e] for s, e in offsets]
    if rec.label is None:
        return tokens, None
    try:
        tags = to_bio(offsets, list(rec.label))
    except InvalidInput as exc:
        raise InvalidInput(
            f"item {rec.item_id}: {exc.reason}; export it as jsonl or labelstudio", field="label"
        ) from None
    return tokens, tags


def sequence(datasets: Any) -> Any:
    """``datasets.List`` (datasets >= 4) or ``datasets.Sequence``."""
    return getattr(datasets, "List", None) or datasets.Sequence
