"""Hugging Face ``datasets`` export: a folder written by ``Dataset.save_to_disk``."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput, LabelloopError, MissingDependency
from labelloop.schema import Modality
from labelloop.services.data.formats._atomic import atomic_dir
from labelloop.services.data.formats._boxes import image_path
from labelloop.services.data.formats._rows import ExportContext, iso, meta_json, suggestion
from labelloop.services.data.formats._spans import (
    TOKENS_KEY,
    sequence,
    span_suggestion,
    tokens_and_tags,
)
from labelloop.services.data.formats.records import ExportRecord
from labelloop.tasks.spans import bio_tags

__all__ = ["write_hf"]


#: A spans project's columns: the tokens and their IOB2 tags (as NER datasets name them).
NER_TAGS = "ner_tags"


#: A box project's label column, as Hugging Face detection datasets name it.
OBJECTS = "objects"
#: An image project's column of the image itself (``datasets.Image``: bytes and file name).
IMAGE = "image"


def _has_image(ctx: ExportContext) -> bool:
    return ctx.task.tags.modality is Modality.IMAGE


def _features(datasets: Any, data_cols: list[str], ctx: ExportContext) -> Any:
    Value = datasets.Value
    label: dict[str, Any] = {"label": ctx.task.hf_feature(ctx.schema, datasets)}
    if ctx.boxes:
        label = {OBJECTS: ctx.task.hf_feature(ctx.schema, datasets)}
    if _has_image(ctx):
        label = {IMAGE: datasets.Image(), **label}
    if ctx.spans:
        label = {
            TOKENS_KEY: sequence(datasets)(Value("string")),
            NER_TAGS: ctx.task.hf_feature(ctx.schema, datasets),
        }
    return datasets.Features(
        {
            "id": Value("string"),
            "item_id": Value("int64"),
            **{c: Value("string") for c in data_cols},
            "meta": Value("string"),
            **label,
            "source": Value("string"),
            "annotator": Value("string"),
            "model_version": Value("string"),
            "seconds": Value("float64"),
            "annotated_at": Value("string"),
            "confidence": Value("float64"),
            "threshold": Value("float64"),
            "suggestion": _suggestion_feature(datasets, ctx),
            "content_hash": Value("string"),
        }
    )


def _suggestion_feature(datasets: Any, ctx: ExportContext) -> dict[str, Any]:
    """The suggestion as the JSONL and Parquet rows hold it: label names and their
    probabilities as ``{label, prob}`` structs (a spans suggestion: scored span structs)."""
    Value, List = datasets.Value, sequence(datasets)
    common = {"confidence": Value("float64"), "model_version": Value("string")}
    if ctx.spans:
        span = {
            "start": Value("int64"),
            "end": Value("int64"),
            "label": Value("string"),
            "score": Value("float64"),
        }
        return {"value": List(span), **common}
    if ctx.boxes:
        box = {k: Value("float64") for k in ("x", "y", "w", "h", "score")}
        return {"value": List({**box, "label": Value("string")}), **common}
    prob = {"label": Value("string"), "prob": Value("float64")}
    return {"value": List(Value("string")), "pred_probs": List(prob), **common}


def _box_suggestion(rec: ExportRecord) -> dict[str, Any] | None:
    s = rec.suggestion
    if s is None:
        return None
    boxes = [
        {**{k: float(b[k]) for k in ("x", "y", "w", "h")}, "label": b["label"],
         "score": None if b.get("score") is None else float(b["score"])}
        for b in s.get("value") or ()
    ]  # fmt: skip
    confidence = s.get("confidence")
    return {
        "value": boxes,
        "confidence": None if confidence is None else float(confidence),
        "model_version": s.get("model_version"),
    }


def _suggestion(rec: ExportRecord, ctx: ExportContext) -> dict[str, Any] | None:
    if ctx.boxes:
        sug = _box_suggestion(rec)
        if sug is not None and sug["model_version"] is not None:
            sug["model_version"] = str(sug["model_version"])
        return sug
    sug = span_suggestion(rec) if ctx.spans else suggestion(rec)
    if sug is None:
        return None
    version = sug.get("model_version")
    sug["model_version"] = None if version is None else str(version)
    if ctx.spans:
        sug["value"] = [{"score": None, **span} for span in sug["value"]]
    else:
        sug["pred_probs"] = [{"label": k, "prob": p} for k, p in sug["pred_probs"].items()]
    return sug


def _label_columns(rec: ExportRecord, ctx: ExportContext) -> dict[str, Any]:
    if ctx.spans:
        tokens, tags = tokens_and_tags(rec)
        tag_id = {name: i for i, name in enumerate(bio_tags(ctx.schema))}
        return {TOKENS_KEY: tokens, NER_TAGS: [tag_id[t] for t in tags or ()]}
    index = {name: i for i, name in enumerate(ctx.label_names)}
    if ctx.boxes:
        boxes = rec.label or ()
        return {
            OBJECTS: {
                "bbox": [[b["x"], b["y"], b["w"], b["h"]] for b in boxes],
                "category": [index[b["label"]] for b in boxes],
            }
        }
    if ctx.multi_label:
        return {"label": [index[v] for v in rec.label or ()]}
    return {"label": -1 if rec.label is None else index[rec.label[0]]}


def _example(rec: ExportRecord, ctx: ExportContext, data_cols: list[str]) -> dict[str, Any]:
    prov = rec.provenance or {}
    data = ctx.data_columns(rec)
    image: dict[str, Any] = {}
    if _has_image(ctx):
        path = image_path(rec, ctx.media_root)
        try:
            image = {IMAGE: {"bytes": path.read_bytes(), "path": path.name}}
        except OSError as exc:
            raise InvalidInput(
                f"item {rec.item_id}: cannot read its image ({exc.strerror})", file=str(path)
            ) from None
    return {
        "id": rec.external_id,
        "item_id": rec.item_id,
        **{c: data.get(c) for c in data_cols},
        "meta": meta_json(rec) or None,
        **image,
        **_label_columns(rec, ctx),
        "source": prov.get("source"),
        "annotator": prov.get("annotator"),
        "model_version": prov.get("model_version"),
        "seconds": None if prov.get("seconds") is None else float(prov["seconds"]),
        "annotated_at": iso(prov.get("created_at")),
        "confidence": prov.get("confidence"),
        "threshold": prov.get("threshold"),
        "suggestion": _suggestion(rec, ctx),
        "content_hash": rec.content_hash,
    }


def _our_error(exc: BaseException) -> BaseException:
    """The labelloop error (e.g. a bad label) that datasets wrapped, else ``exc`` itself."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, LabelloopError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return exc


@contextlib.contextmanager
def _quiet(datasets: Any) -> Iterator[None]:
    """No progress bars from library code; restore the caller's setting afterwards."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


def write_hf(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    """Write a ``datasets`` folder; label is ``ClassLabel`` (single) or a list of them (multi).

    Each row also holds the label's provenance (``source``, ``annotator``, ``model_version``,
    ``seconds``, ``annotated_at``, and an ``auto`` label's ``confidence`` and ``threshold``),
    the item's ``meta`` as JSON text and its ``suggestion`` (None when it has none).
    :func:`labelloop.services.data.formats.read_records` reads the folder back.

    An image project's rows also hold the image itself (``image``, a ``datasets.Image``
    feature: the file's bytes and name, so the folder needs no media root); an image-boxes
    project's label column is ``objects`` (``bbox`` ``[x, y, w, h]`` in pixels and
    ``category``, a ``ClassLabel``) instead of ``label``.

    Unlabelled items get label ``-1`` (single-label) or ``[]`` with ``source`` None (multi-label).
    A spans project writes ``tokens`` and ``ner_tags`` (a list of ``ClassLabel`` IOB2 tags, one
    per token; ``[]`` with ``source`` None when unlabelled) instead of ``label``.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise MissingDependency("Hugging Face datasets export", extra="hf") from None

    first = next(records, None)
    data_cols = list(ctx.data_columns(first)) if first is not None else [ctx.text_field]
    if ctx.spans:  # the tokens are a column of their own, beside their tags
        data_cols = [c for c in data_cols if c != TOKENS_KEY]
    features = _features(datasets, data_cols, ctx)
    count = [0]

    def generate() -> Iterator[dict[str, Any]]:
        if first is not None:
            count[0] += 1
            yield _example(first, ctx, data_cols)
        for rec in records:
            count[0] += 1
            yield _example(rec, ctx, data_cols)

    with (
        atomic_dir(out) as tmp,
        _quiet(datasets),
        tempfile.TemporaryDirectory(prefix=".hf-cache.", dir=out.parent) as cache,
    ):
        if first is None:
            ds = datasets.Dataset.from_list([], features=features)
        else:
            # An explicit fingerprint: datasets would otherwise pickle ``generate`` (and the
            # caller's record iterator) to hash it, which fails for generators.
            try:
                ds = datasets.Dataset.from_generator(
                    generate, features=features, cache_dir=cache, fingerprint=uuid.uuid4().hex
                )
            except Exception as exc:
                raise _our_error(exc) from exc
        ds.save_to_disk(str(tmp))
        del ds
    return count[0]
