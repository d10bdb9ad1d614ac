"""Hugging Face ``datasets`` folder import: what ``Dataset.save_to_disk`` (or a
``DatasetDict``'s) writes, labelloop's ``hf`` export included.

A row becomes the JSON object a JSONL line would be, so the JSONL rules apply to it:
``ClassLabel`` ids turn into label names (``-1``: unlabelled), a spans dataset's ``tokens`` and
IOB2 ``ner_tags`` into character spans, and a labelloop export's flat provenance columns into
its ``provenance``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput, MissingDependency
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    main_field,
    record_from_object,
)
from labelloop.services.data.formats._spans import TOKENS_KEY, span_record
from labelloop.services.data.formats.records import ImportRecord
from labelloop.tasks.spans import from_bio, token_offsets

__all__ = ["NER_TAGS", "is_hf_folder", "read_hf"]

#: The IOB2 tag column of a spans dataset (as CoNLL-2003 on the Hub names it).
NER_TAGS = "ner_tags"
#: The files ``save_to_disk`` writes beside the Arrow data: one Dataset, or a DatasetDict.
_MARKERS = (("dataset_info.json", "state.json"), ("dataset_dict.json",))
#: The columns of labelloop's ``hf`` export that hold the label's provenance.
_PROVENANCE_COLUMNS = ("source", "annotator", "model_version", "seconds", "confidence", "threshold")


def is_hf_folder(path: Path) -> bool:
    """Whether ``path`` is a folder written by ``datasets``' ``save_to_disk``."""
    return any(all((path / name).is_file() for name in names) for names in _MARKERS)


def _load(path: Path, opts: ReadOptions) -> list[tuple[str | None, Any]]:
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise MissingDependency("Hugging Face datasets import", extra="hf") from None
    try:
        loaded = datasets.load_from_disk(str(path))
    except (OSError, ValueError) as exc:  # a damaged folder: datasets names what is missing
        raise opts.error(f"not a readable datasets folder: {exc}") from None
    if isinstance(loaded, datasets.DatasetDict):
        return list(loaded.items())
    return [(None, loaded)]


def _names(feature: Any) -> list[str] | None:
    """The class names of a ``ClassLabel`` feature, or of a list of them; else None."""
    names = getattr(feature, "names", None)
    if names is not None:
        return list(names)
    inner = getattr(feature, "feature", None)
    return None if inner is None else _names(inner)


def read_hf(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per row, split after split; ``line`` is the row number (1-based, the
    splits counted one after another)."""
    splits = _load(path, opts)
    label_field = opts.label_field
    first = splits[0][1].features
    if label_field is None:  # a ClassLabel column says which column holds the labels
        default = NER_TAGS if opts.spans else "label"
        if default in first and _names(first[default]) is not None:
            label_field = default
    opts = dataclasses.replace(opts, label_field=label_field)
    ids = IdTracker()
    line = 0
    for split, ds in splits:
        features = ds.features
        for name in (main_field(opts), opts.id_field, label_field):
            if name is not None and name not in features:
                where = f" of split {split!r}" if split is not None else ""
                raise opts.error(
                    f"no column {name!r}{where}; the columns are: {', '.join(features)}",
                    line=1,
                    field=name,
                )
        names = _names(features[label_field]) if label_field is not None else None
        image = features.get("image")
        if opts.media and type(image).__name__ == "Image":
            ds = ds.cast_column("image", type(image)(decode=False))  # read by path, not bytes
        for row in ds:
            line += 1
            yield _record(row, names, opts, line, ids)
    if line == 0:
        raise opts.error("the dataset has no rows")


def _record(
    row: dict[str, Any], names: list[str] | None, opts: ReadOptions, line: int, ids: IdTracker
) -> ImportRecord:
    obj = dict(row)
    exported = "content_hash" in obj
    if opts.media and exported:
        # labelloop's image column (the file's bytes) beside the path that names the file
        obj.pop("image", None)
    if opts.spans:
        return _span_record(obj, names, opts, line, ids, exported)
    field = opts.label_field
    if field is not None and names is not None:
        obj[field] = _label_names(obj.get(field), names, opts, line, field)
    if exported:
        labelled = obj.get("source") is not None
        if field is not None and not labelled:
            obj[field] = None  # multi-label: ``[]`` without a source is an unlabelled row
        _nest_provenance(obj, labelled)
    return record_from_object(obj, opts, line, ids)


def _label_names(
    value: Any, names: list[str], opts: ReadOptions, line: int, field: str
) -> str | list[str] | None:
    """``ClassLabel`` ids as names: ``-1`` or None is unlabelled; a list stays a list."""

    def name(i: Any) -> str:
        if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(names):
            raise opts.error(
                f"class id {i!r} is not one of the {len(names)} classes", line=line, field=field
            )
        return names[i]

    if value is None or value == -1:
        return None
    if isinstance(value, list):
        return [name(i) for i in value]
    return name(value)


def _nest_provenance(obj: dict[str, Any], labelled: bool) -> None:
    """labelloop's flat provenance columns as the ``provenance`` a JSONL row holds."""
    prov = {k: obj.pop(k, None) for k in _PROVENANCE_COLUMNS}
    prov["created_at"] = obj.pop("annotated_at", None)
    if labelled:
        obj["provenance"] = prov


def _span_record(
    obj: dict[str, Any],
    names: list[str] | None,
    opts: ReadOptions,
    line: int,
    ids: IdTracker,
    exported: bool,
) -> ImportRecord:
    """A spans row: ``tokens`` and their IOB2 tags become character spans over the text.

    In labelloop's export an unlabelled row has no ``source`` (its tags are ``[]``); elsewhere
    a row without tags is unlabelled.
    """
    field = opts.label_field or NER_TAGS
    tags = obj.pop(field, None)
    labelled = tags is not None and (not exported or obj.get("source") is not None)
    spans: list[dict[str, Any]] | None = None
    if labelled and tags:
        if names is not None:
            tags = [_label_names(t, names, opts, line, field) for t in tags]
        tokens, text = obj.get(TOKENS_KEY), obj.get(opts.text_field)
        if not isinstance(tokens, list) or not isinstance(text, str):
            raise opts.error(f"{field} needs the row's tokens and text", line=line, field=field)
        try:
            spans = from_bio(
                token_offsets({"text": text, "tokens": tokens}), [str(t) for t in tags]
            )
        except InvalidInput as exc:
            raise opts.error(exc.reason, line=line, field=field) from None
    elif labelled:
        spans = []
    if exported:
        _nest_provenance(obj, labelled)
    obj[field] = spans
    return span_record(obj, dataclasses.replace(opts, label_field=field), line, ids)
