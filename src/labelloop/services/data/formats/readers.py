"""Import readers: stream a file into validated :class:`ImportRecord` values.

One entry point, :func:`read_records`, picks the reader from the file extension (or ``format=``).
Every reader streams: memory stays bounded by one row (CSV, TSV, JSONL, Label Studio with
``ijson``) or one record batch (Parquet), plus the set of external ids seen (to refuse duplicates).
Bad input raises :class:`~labelloop.errors.InvalidInput` at the first bad row, naming the file,
line and field.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema
from labelloop.services.data.formats._coco import is_coco, read_coco
from labelloop.services.data.formats._common import ReadOptions
from labelloop.services.data.formats._conll import read_conll
from labelloop.services.data.formats._docbin import read_docbin
from labelloop.services.data.formats._folder import iter_media_files, read_folder
from labelloop.services.data.formats._hf import is_hf_folder, read_hf
from labelloop.services.data.formats._jsonl import read_jsonl, read_parquet
from labelloop.services.data.formats._labelstudio import read_labelstudio
from labelloop.services.data.formats._tabular import read_delimited
from labelloop.services.data.formats._voc import is_voc_folder, read_voc
from labelloop.services.data.formats._yolo import is_yolo_folder, read_yolo
from labelloop.services.data.formats.records import ImportRecord

__all__ = ["IMPORT_FORMATS", "count_rows_hint", "detect_format", "iter_media_files", "read_records"]

IMPORT_FORMATS = (
    "csv",
    "tsv",
    "jsonl",
    "parquet",
    "folder",
    "hf",
    "labelstudio",
    "conll",
    "spacy",
    "coco",
    "yolo",
    "voc",
)
#: The formats read from a folder rather than a file.
FOLDER_IMPORT_FORMATS = ("folder", "hf", "yolo", "voc")

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".json": "labelstudio",
    ".conll": "conll",
    ".iob": "conll",
    ".iob2": "conll",
    ".bio": "conll",
    ".spacy": "spacy",
}


def detect_format(path: Path) -> str:
    """Name of the import format for ``path``: ``hf`` for a folder ``datasets`` saved (it holds
    ``dataset_info.json`` and ``state.json``, or ``dataset_dict.json``), ``yolo`` for a folder
    with ``labels/`` and ``classes.txt`` or ``data.yaml``, ``voc`` for one with
    ``Annotations/*.xml``, ``folder`` for any other folder, or a file's by its extension (a
    ``.json`` file holding one object is ``coco``, a list is ``labelstudio``).

    Raises:
        InvalidInput: ``path`` does not exist or its extension is not one labelloop reads.

    Example:
        >>> detect_format(Path("pool.ndjson"))  # doctest: +SKIP
        'jsonl'
    """
    path = Path(path)
    if path.is_dir():
        if is_hf_folder(path):
            return "hf"
        if is_yolo_folder(path):
            return "yolo"
        return "voc" if is_voc_folder(path) else "folder"
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise InvalidInput(
            f"unknown file type {path.suffix or '(no extension)'!r}; labelloop reads {known} files"
            " and folders of images/audio (or pass the format explicitly)",
            file=str(path),
        )
    if fmt == "labelstudio" and is_coco(path):
        return "coco"
    return fmt


def read_records(
    path: Path,
    *,
    format: str | None = None,
    text_field: str = "text",
    id_field: str | None = None,
    label_field: str | None = None,
    annotator: str | None = None,
    label_separator: str | None = None,
    max_field_bytes: int = 1_000_000,
    labels_from_subfolders: bool = False,
    schema: LabelSchema | None = None,
    problems: list[InvalidInput] | None = None,
    path_field: str = "path",
) -> Iterator[ImportRecord]:
    """Stream the items of a file (or folder) as validated records.

    The path and format are checked now; the content is read (and checked) as the iterator is
    consumed, so a caller inside one transaction gets the error before committing anything.

    Args:
        path: A ``.csv``, ``.tsv``, ``.jsonl``/``.ndjson``, ``.parquet``, Label Studio ``.json``,
            CoNLL (``.conll``, ``.iob``, ``.iob2``, ``.bio``) or spaCy ``.spacy`` file, a folder
            of image/audio files, or a folder ``datasets`` saved (``save_to_disk``: labelloop's
            ``hf`` export or any dataset with a text column).
        format: One of :data:`IMPORT_FORMATS`; None detects it from ``path``.
        text_field: Column holding the text (Label Studio: key of the task data; its first string
            value when the key is absent).
        id_field: Column holding the item's external id (must be unique in the file); None: no
            ids (folder: the relative path; Label Studio: the task id).
        label_field: Column holding labels; None: import no labels (tabular formats; an ``hf``
            folder's ``ClassLabel`` column ``label``, or ``ner_tags`` for spans, is read
            without it).
        annotator: Annotator recorded for labels when the file names none; None lets the service
            decide.
        label_separator: Splits a label cell into several labels (multi-label), e.g. ``","``.
        max_field_bytes: Largest value accepted, in UTF-8 bytes.
        labels_from_subfolders: Folder import: the top subfolder (``class_name/file``) is the label.
        schema: The label schema of the project the records go into. A spans schema reads the
            label field as span lists (and keeps an item's ``tokens``); CoNLL tags are checked
            against its labels. None: labels are label names, any CoNLL label is read.
        problems: Where a caller that reports every bad row collects the errors of rows that
            cannot be read (CSV, TSV, JSONL and Parquet skip them and read on); None: the
            first bad row raises.
        path_field: Image and audio projects: the CSV, TSV, JSONL or Parquet column naming
            each row's file (relative to the media folder of the import, or absolute).

    Returns:
        An iterator of :class:`ImportRecord`, in file order.

    Raises:
        InvalidInput: Path not found, unknown format, or (while iterating) the first bad row.
    """
    path = Path(path)
    if format is None:
        format = detect_format(path)
    elif format not in IMPORT_FORMATS:
        raise InvalidInput(
            f"unknown import format {format!r}; expected one of {', '.join(IMPORT_FORMATS)}",
            file=str(path),
        )
    if not path.exists():
        raise InvalidInput("file not found", file=str(path))
    if (format in FOLDER_IMPORT_FORMATS) != path.is_dir():
        what = "a folder" if format in FOLDER_IMPORT_FORMATS else "a file"
        raise InvalidInput(f"format {format!r} needs {what}", file=str(path))
    if max_field_bytes < 1:
        raise InvalidInput("max_field_bytes must be positive", field="max_field_bytes")
    if label_separator == "":
        raise InvalidInput("label_separator must not be empty", field="label_separator")
    opts = ReadOptions(
        file=str(path),
        text_field=text_field,
        id_field=id_field,
        label_field=label_field,
        annotator=annotator,
        label_separator=label_separator,
        max_field_bytes=max_field_bytes,
        labels_from_subfolders=labels_from_subfolders,
        schema=schema,
        problems=problems,
        path_field=path_field,
    )
    if format in _BOX_READERS:
        return _BOX_READERS[format](path, opts)
    if format == "csv":
        return read_delimited(path, opts, delimiter=",")
    if format == "tsv":
        return read_delimited(path, opts, delimiter="\t")
    if format == "jsonl":
        return read_jsonl(path, opts)
    if format == "parquet":
        return read_parquet(path, opts)
    if format == "labelstudio":
        return read_labelstudio(path, opts)
    if format == "conll":
        return read_conll(path, opts)
    if format == "spacy":
        return read_docbin(path, opts)
    if format == "hf":
        return read_hf(path, opts)
    return read_folder(path, opts)


_BOX_READERS = {"coco": read_coco, "yolo": read_yolo, "voc": read_voc}


def count_rows_hint(path: Path, *, format: str | None = None) -> int | None:
    """A cheap estimate of the number of records, for a progress bar; None if unknown.

    Exact for Parquet (file metadata); an estimate from the size of the first 64 KiB of lines for
    CSV, TSV and JSONL; None for folders and Label Studio files. Never raises for a readable file.
    """
    path = Path(path)
    try:
        fmt = format or detect_format(path)
    except InvalidInput:
        return None
    if fmt == "parquet":
        import pyarrow.parquet as pq

        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except Exception:  # an unreadable file: read_records reports it properly
            return None
    if fmt not in ("csv", "tsv", "jsonl"):
        return None
    try:
        size = os.path.getsize(path)
        with path.open("rb") as f:
            sample = f.read(65536)
    except OSError:
        return None
    lines = sample.count(b"\n")
    if len(sample) == size:  # the whole file was read: count exactly
        lines += 0 if sample.endswith(b"\n") or not sample else 1
    elif lines:
        lines = round(size / (len(sample) / lines))
    header = 1 if fmt in ("csv", "tsv") else 0
    return max(lines - header, 0)
