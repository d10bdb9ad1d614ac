"""Helpers shared by the readers: options, field checks, labels, provenance, duplicate ids."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.data.formats.records import (
    ANNOTATION_SOURCES,
    ImportedAnnotation,
    ImportedPrediction,
    ImportRecord,
)
from labelloop.store import Source
from labelloop.tasks import AnswerShape, task_for

#: Keys a labelloop export adds next to the item's data; consumed (not kept in meta) on re-import
#: of a file that has a ``content_hash`` column/key, i.e. one labelloop wrote.
EXPORT_KEYS = frozenset(
    {"item_id", "content_hash", "provenance", "history", "suggestion", "meta"}
    | {"source", "annotator", "model_version", "seconds", "annotated_at"}
)


@dataclass(frozen=True)
class ReadOptions:
    """Reader options after validation; ``file`` is the name used in error messages.

    ``problems``, when given, collects the errors of bad rows (see :meth:`bad_row`).

    ``schema`` is the label schema of the project the file goes into, when the caller knows it:
    it says whether labels are label names or spans, and which labels a CoNLL tag may name.
    """

    file: str
    text_field: str
    id_field: str | None
    label_field: str | None
    annotator: str | None
    label_separator: str | None
    max_field_bytes: int
    labels_from_subfolders: bool
    schema: LabelSchema | None = None
    # where a caller that reports every bad row collects them (None: the first one raises)
    problems: list[InvalidInput] | None = None
    #: media projects: the column or key naming each row's file (CSV, TSV, JSONL, Parquet)
    path_field: str = "path"

    @property
    def spans(self) -> bool:
        """Whether labels are spans over the text (a spans project) rather than label names."""
        return self.schema is not None and task_for(self.schema).tags.answer is AnswerShape.SPANS

    @property
    def boxes(self) -> bool:
        """Whether labels are boxes over an image (an image-boxes project)."""
        return self.schema is not None and task_for(self.schema).tags.answer is AnswerShape.BOXES

    @property
    def media(self) -> str | None:
        """``"image"`` or ``"audio"`` when the project's items are media files (rows then name
        a file in :attr:`path_field`), None for text (or when the schema is unknown)."""
        if self.schema is None:
            return None
        modality = task_for(self.schema).tags.modality
        return None if modality is Modality.TEXT else str(modality.value)

    def error(
        self, message: str, *, line: int | None = None, field: str | None = None
    ) -> InvalidInput:
        return InvalidInput(message, file=self.file, line=line, field=field)

    def bad_row(self, exc: InvalidInput) -> None:
        """A row that cannot be read: raise ``exc``, or keep it in :attr:`problems` when the
        caller collects them (the reader then skips the row and reads on)."""
        if self.problems is None:
            raise exc
        self.problems.append(exc)


def human_size(n: int) -> str:
    """``1_000_000 -> '1 MB'``, ``2048 -> '2048 bytes'``."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000} MB"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000} kB"
    return f"{n} bytes"


def check_size(value: str, opts: ReadOptions, line: int, field: str) -> None:
    """Raise if ``value`` takes more than ``opts.max_field_bytes`` bytes in UTF-8."""
    limit = opts.max_field_bytes
    n = len(value)
    # A character is 1 to 4 bytes: encode only when the length alone cannot decide.
    if n * 4 <= limit:
        return
    if n > limit or len(value.encode("utf-8", "surrogatepass")) > limit:
        raise opts.error(f"value is over {human_size(limit)}", line=line, field=field)


def check_text(value: Any, opts: ReadOptions, line: int) -> str:
    field = opts.text_field
    if not isinstance(value, str):
        raise opts.error(
            f"text must be a string, got {type(value).__name__}", line=line, field=field
        )
    if not value.strip():
        raise opts.error("text is empty", line=line, field=field)
    check_size(value, opts, line, field)
    return value


def main_field(opts: ReadOptions) -> str:
    """The column every row must have: the text, or (media projects) the file's path."""
    return opts.path_field if opts.media else opts.text_field


def main_data(value: Any, opts: ReadOptions, line: int) -> dict[str, Any]:
    """A row's item data from its main column: ``{"text"}``, or ``{"path", "media"}`` for a
    media project (the path is checked by the importer, against the allowed folders)."""
    if opts.media is None:
        return {"text": check_text(value, opts, line)}
    field = opts.path_field
    if not isinstance(value, str) or not value.strip():
        raise opts.error(
            f"{field} must name the {opts.media} file (a path), got {value!r}",
            line=line,
            field=field,
        )
    check_size(value, opts, line, field)
    return {"path": value.strip(), "media": opts.media}


class IdTracker:
    """Remembers the line of every external id seen, to refuse duplicates within one file.

    Memory grows with the number of ids (about 100 bytes each); rows without ids cost nothing.
    """

    def __init__(self) -> None:
        self._first_line: dict[str, int] = {}

    def check(self, value: Any, opts: ReadOptions, line: int, field: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise opts.error(
                f"id must be a string or an integer, got {type(value).__name__}",
                line=line,
                field=field,
            )
        external_id = str(value)
        if not external_id.strip():
            raise opts.error("id is empty", line=line, field=field)
        check_size(external_id, opts, line, field)
        first = self._first_line.setdefault(external_id, line)
        if first != line:
            raise opts.error(
                f"duplicate id {external_id!r} (first seen on line {first})", line=line, field=field
            )
        return external_id


#: A label cell that says "labelled: none of the labels applies" (a multi-label answer); an
#: empty cell says "not labelled".
NO_LABEL_CELL = "[]"


def parse_label(value: Any, opts: ReadOptions, line: int, field: str) -> tuple[str, ...] | None:
    """Turn a label cell into label names; None means the item is unlabelled.

    A string is one label, or several split on ``opts.label_separator``; a JSON list is several
    labels (``[]``: labelled, none applies); null or an empty string is no label. In a text cell
    (CSV, TSV, Parquet strings) ``[]`` (:data:`NO_LABEL_CELL`) means labelled, none applies.
    """
    if value is None:
        return None
    if isinstance(value, str):
        check_size(value, opts, line, field)
        if value.strip() == NO_LABEL_CELL:
            return ()
        if opts.label_separator is not None:
            names = tuple(p.strip() for p in value.split(opts.label_separator) if p.strip())
            return names or None
        name = value.strip()
        return (name,) if name else None
    if isinstance(value, int) and not isinstance(value, bool):
        return (str(value),)
    if isinstance(value, list | tuple):
        names_list = []
        for v in value:
            if isinstance(v, bool) or not isinstance(v, str | int):
                raise opts.error("label list must hold strings only", line=line, field=field)
            name = str(v).strip()
            if not name:
                raise opts.error("label list holds an empty label", line=line, field=field)
            names_list.append(name)
        return tuple(names_list)
    raise opts.error(
        f"label must be a string or a list of strings, got {type(value).__name__}",
        line=line,
        field=field,
    )


def parse_source(value: Any, opts: ReadOptions, line: int, field: str = "source") -> str:
    if value is None or value == "":
        return Source.HUMAN
    if value not in ANNOTATION_SOURCES:
        raise opts.error(
            f"unknown source {value!r}; expected one of {', '.join(ANNOTATION_SOURCES)}",
            line=line,
            field=field,
        )
    return str(value)


def parse_datetime(value: Any, opts: ReadOptions, line: int, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise opts.error("date must be an ISO 8601 string", line=line, field=field)
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise opts.error(
            f"{value!r} is not an ISO 8601 date (like 2024-05-01T12:00:00+00:00)",
            line=line,
            field=field,
        ) from None


def parse_seconds(value: Any, opts: ReadOptions, line: int, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise opts.error(f"{value!r} is not a number of seconds", line=line, field=field) from None
    if not seconds >= 0:
        raise opts.error("seconds must be a non-negative number", line=line, field=field)
    return seconds


def optional_str(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def parse_probability(value: Any, opts: ReadOptions, line: int, field: str) -> float | None:
    """A probability in [0, 1]; None or an empty cell is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise opts.error(f"{value!r} is not a probability", line=line, field=field)
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise opts.error(f"{value!r} is not a probability", line=line, field=field) from None
    if not 0.0 <= p <= 1.0:  # also refuses NaN
        raise opts.error(f"probability {value!r} is not in [0, 1]", line=line, field=field)
    return p


def annotation_from_provenance(
    value: tuple[Any, ...], prov: Mapping[str, Any], opts: ReadOptions, line: int
) -> ImportedAnnotation:
    """An annotation from a labelloop provenance mapping (``source``, ``annotator``, ...)."""
    return ImportedAnnotation(
        value=value,
        annotator=optional_str(prov.get("annotator")) or opts.annotator,
        source=parse_source(prov.get("source"), opts, line),
        created_at=parse_datetime(
            prov.get("created_at", prov.get("annotated_at")), opts, line, "created_at"
        ),
        seconds=parse_seconds(prov.get("seconds"), opts, line, "seconds"),
        confidence=parse_probability(prov.get("confidence"), opts, line, "confidence"),
        threshold=parse_probability(prov.get("threshold"), opts, line, "threshold"),
    )


def parse_pred_probs(
    value: Any, opts: ReadOptions, line: int, field: str = "suggestion.pred_probs"
) -> dict[str, float] | None:
    """A suggestion's probabilities as ``{label: p}``.

    Reads the three shapes labelloop has written: a JSON object (JSONL), a list of
    ``{"label", "prob"}`` structs (Parquet and ``hf``, which ``datasets`` loads) and a list of
    ``(label, p)`` pairs (how pyarrow reads the ``map<string, double>`` column of Parquet files
    exported before). None or empty: the file gives no probabilities.
    """
    if value is None:
        return None
    pairs: list[tuple[Any, Any]]
    if isinstance(value, Mapping):
        pairs = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = []
        for entry in value:
            if isinstance(entry, Mapping) and "label" in entry and "prob" in entry:
                pairs.append((entry["label"], entry["prob"]))
            elif isinstance(entry, list | tuple) and len(entry) == 2:
                pairs.append((entry[0], entry[1]))
            else:
                raise opts.error(
                    "pred_probs entries must be {label, prob} objects", line=line, field=field
                )
    else:
        raise opts.error(
            f"pred_probs must be an object of label: probability, got {type(value).__name__}",
            line=line,
            field=field,
        )
    probs: dict[str, float] = {}
    for label, p in pairs:
        if not isinstance(label, str) or not label:
            raise opts.error(f"pred_probs label {label!r} is not a name", line=line, field=field)
        if label in probs:
            raise opts.error(f"pred_probs names {label!r} twice", line=line, field=field)
        prob = parse_probability(p, opts, line, field)
        if prob is None:
            raise opts.error(f"pred_probs of {label!r} is empty", line=line, field=field)
        probs[label] = prob
    return probs or None


def merge_meta(meta: dict[str, Any], value: Any) -> None:
    """Fold a ``meta`` cell (a JSON object, or its text) into ``meta``; other values stay as-is."""
    if isinstance(value, str):
        if not value:
            return
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            meta["meta"] = value
            return
        value = parsed
    if isinstance(value, dict):
        meta.update(value)
    elif value is not None:
        meta["meta"] = value


def record_from_object(
    obj: Mapping[str, Any], opts: ReadOptions, line: int, ids: IdTracker
) -> ImportRecord:
    """Build a record from one JSON object (a JSONL line or a Parquet row)."""
    external_id, data, exported = object_fields(obj, opts, line, ids)
    annotations = _annotations_from_object(obj, opts, line, exported)
    predictions = _predictions_from_object(obj, opts, line) if exported else ()
    return ImportRecord(line, external_id, data, annotations, predictions)


def object_fields(
    obj: Mapping[str, Any],
    opts: ReadOptions,
    line: int,
    ids: IdTracker,
    *,
    data_keys: tuple[str, ...] = (),
) -> tuple[str | None, dict[str, Any], bool]:
    """The external id, the data (text, the ``data_keys`` present, the rest in ``meta``) and
    whether ``obj`` comes from a labelloop export (it has a ``content_hash``). In a media
    project the data is the file the row names (:func:`main_data`)."""
    main = main_field(opts)
    if main not in obj:
        raise opts.error(
            f"no field {main!r}; the fields are: {', '.join(map(str, obj)) or '(none)'}",
            line=line,
            field=main,
        )
    data: dict[str, Any] = main_data(obj[main], opts, line)
    external_id = None
    if opts.id_field is not None:
        if obj.get(opts.id_field) is None:
            raise opts.error(
                f"no id; the fields are: {', '.join(map(str, obj))}", line=line, field=opts.id_field
            )
        external_id = ids.check(obj[opts.id_field], opts, line, opts.id_field)
    exported = "content_hash" in obj
    used = {main, opts.id_field, opts.label_field, *data_keys}
    if opts.media:
        used.add("media")
    meta: dict[str, Any] = {}
    for key, value in obj.items():
        if key in used:
            continue
        if key == "meta" or (exported and key in EXPORT_KEYS):
            if key == "meta":
                merge_meta(meta, value)
            continue
        if isinstance(value, str):
            check_size(value, opts, line, key)
        meta[key] = value
    data.update({k: obj[k] for k in data_keys if obj.get(k) is not None})
    if meta:
        data["meta"] = meta
    return external_id, data, exported


def _annotations_from_object(
    obj: Mapping[str, Any], opts: ReadOptions, line: int, exported: bool
) -> tuple[ImportedAnnotation, ...]:
    if opts.label_field is None:
        return ()
    if opts.label_field not in obj and not exported:
        raise opts.error(
            f"no field {opts.label_field!r}; the fields are: {', '.join(map(str, obj))}",
            line=line,
            field=opts.label_field,
        )
    history = obj.get("history") if exported else None
    if isinstance(history, list) and history:
        out = []
        for entry in history:
            if not isinstance(entry, Mapping):
                raise opts.error("history entries must be objects", line=line, field="history")
            value = parse_label(entry.get("value"), opts, line, "history")
            out.append(annotation_from_provenance(value or (), entry, opts, line))
        return tuple(out)
    value = parse_label(obj.get(opts.label_field), opts, line, opts.label_field)
    if value is None:
        return ()
    prov = obj.get("provenance") if exported else None
    if isinstance(prov, Mapping):
        return (annotation_from_provenance(value, prov, opts, line),)
    return (ImportedAnnotation(value=value, annotator=opts.annotator),)


def _predictions_from_object(
    obj: Mapping[str, Any], opts: ReadOptions, line: int
) -> tuple[ImportedPrediction, ...]:
    suggestion = obj.get("suggestion")
    if not isinstance(suggestion, Mapping):
        return ()
    value = parse_label(suggestion.get("value"), opts, line, "suggestion") or ()
    probs = parse_pred_probs(suggestion.get("pred_probs"), opts, line)
    score = parse_probability(suggestion.get("confidence"), opts, line, "suggestion.confidence")
    if score is None and probs:
        scores = [probs[v] for v in value if v in probs]
        score = max(scores) if scores else None
    return (
        ImportedPrediction(
            value=value,
            score=score,
            model_version=optional_str(suggestion.get("model_version")),
            pred_probs=probs,
        ),
    )
