"""Typed records that cross the boundary between files and the import/export services.

Readers turn a file into :class:`ImportRecord` values; writers turn :class:`ExportRecord` values
into a file. Neither touches the database: the services map records to and from items,
annotations and suggestions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from labelloop.store import Source

__all__ = [
    "ANNOTATION_SOURCES",
    "ExportRecord",
    "ImportRecord",
    "ImportedAnnotation",
    "ImportedPrediction",
]

ANNOTATION_SOURCES = tuple(Source)


@dataclass(frozen=True)
class ImportedAnnotation:
    """One label read from a file.

    Attributes:
        value: Label names (one for single-label, any number, also none, for multi-label), or,
            in a spans project, ``{"start", "end", "label"}`` span dicts over the item's text
            (none: the item has no span).
        annotator: Who labelled it, or None when the file does not say (the service decides).
        source: ``human``, ``model_accepted`` or ``auto``.
        created_at: When it was labelled, if the file says.
        seconds: Seconds the annotator spent, if the file says.
        confidence: An ``auto`` label's probability, as the model gave it when auto-accept
            took it (None for other labels, or when the file does not say).
        threshold: The auto-accept threshold that admitted it (same rule).

    Example:
        >>> ImportedAnnotation(("Sports",), "alice").source == "human"
        True
    """

    value: tuple[Any, ...]
    annotator: str | None
    source: str = Source.HUMAN
    created_at: datetime | None = None
    seconds: float | None = None
    confidence: float | None = None
    threshold: float | None = None


@dataclass(frozen=True)
class ImportedPrediction:
    """A model's suggestion read from a file (Label Studio predictions, labelloop suggestion).

    Attributes:
        value: As :attr:`ImportedAnnotation.value`.
        score: How sure the model is of the whole suggestion, if the file says.
        model_version: The model's name or version, if the file says.
        scores: Spans only: each span's own score, in the order of ``value`` (empty when the
            file gives none).
        pred_probs: Classification only: the model's probability of every label it scored
            (a labelloop export's ``suggestion.pred_probs``), or None when the file gives
            only ``score``.
    """

    value: tuple[Any, ...]
    score: float | None
    model_version: str | None
    scores: tuple[float, ...] = ()
    pred_probs: Mapping[str, float] | None = None


@dataclass(frozen=True)
class ImportRecord:
    """One item read from a file.

    Attributes:
        line: 1-based position for error messages: the physical line where a CSV/TSV/JSONL row
            starts, the row number + 1 in Parquet, the task number in Label Studio JSON, the file
            number (sorted order) in a folder.
        external_id: The item's id in the file (``id_field``; relative path for folders), or None.
        data: ``{"text": ...}`` for text, ``{"path": ..., "media": "image" | "audio"}`` for files;
            other columns are kept under ``"meta"`` (absent when there are none).
        annotations: Labels the file carries for the item, oldest first.
        predictions: Model suggestions the file carries for the item.
    """

    line: int
    external_id: str | None
    data: dict[str, Any]
    annotations: tuple[ImportedAnnotation, ...] = ()
    predictions: tuple[ImportedPrediction, ...] = ()


@dataclass(frozen=True)
class ExportRecord:
    """One item to write to an export file.

    Attributes:
        external_id: The id the item was imported with, or None.
        item_id: labelloop's item id.
        data: The item's data, as in :class:`ImportRecord`.
        content_hash: Hash of the item's content.
        label: Current label (latest annotation), None if unlabelled; ``()`` is a multi-label
            annotation saying no label applies. A spans project's label is its span dicts
            (``()``: labelled, no span).
        provenance: ``{"source", "annotator", "model_version", "seconds", "created_at",
            "confidence", "threshold"}`` of the current label (``created_at`` as ISO 8601;
            ``confidence`` and ``threshold``: what admitted an ``auto`` label, else None), None
            if unlabelled.
        history: Every annotation of the item, oldest first: the provenance keys plus ``"value"``
            (a list of label names).
        suggestion: ``{"value": [...], "pred_probs": {label: p}, "confidence": c,
            "model_version": ...}`` or None; a spans suggestion's ``pred_probs`` is a list, one
            marginal per span of ``value``.
    """

    external_id: str | None
    item_id: int
    data: dict[str, Any]
    content_hash: str
    label: tuple[Any, ...] | None
    provenance: dict[str, Any] | None
    history: tuple[dict[str, Any], ...] = ()
    suggestion: dict[str, Any] | None = None
