"""Export writers: turn :class:`ExportRecord` values into a file, atomically.

Every writer streams (bounded memory), writes to a temporary name in the target folder and renames
it into place only when done, so a failed export leaves nothing behind. Every exported label keeps
its provenance: who or what labelled it (``source``, ``annotator``, ``model_version``), how long it
took (``seconds``) and when (``created_at``; CSV column ``annotated_at``).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.data.formats._atomic import atomic_file
from labelloop.services.data.formats._coco import write_coco
from labelloop.services.data.formats._common import NO_LABEL_CELL
from labelloop.services.data.formats._conll import write_conll
from labelloop.services.data.formats._docbin import write_docbin
from labelloop.services.data.formats._export_folders import write_class_folders
from labelloop.services.data.formats._export_hf import write_hf
from labelloop.services.data.formats._export_ls import (
    check_label_studio_users,
    label_studio_config,
    write_label_studio_config,
    write_labelstudio,
)
from labelloop.services.data.formats._rows import (
    MULTI_LABEL_SEPARATOR,
    ExportContext,
    checked,
    iso,
    json_row,
    meta_json,
)
from labelloop.services.data.formats._spans import span_row
from labelloop.services.data.formats._voc import write_voc
from labelloop.services.data.formats._yolo import write_yolo
from labelloop.services.data.formats.records import ExportRecord
from labelloop.tasks import AnswerShape, Task

__all__ = [
    "BOX_EXPORT_FORMATS",
    "BOX_ONLY_FORMATS",
    "EXPORT_FORMATS",
    "FILE_EXPORT_FORMATS",
    "FOLDER_EXPORT_FORMATS",
    "LABEL_STUDIO_CONFIG",
    "MULTI_LABEL_SEPARATOR",
    "SPANS_ONLY_FORMATS",
    "SPAN_EXPORT_FORMATS",
    "export_format_for",
    "export_formats_for",
    "label_studio_config",
    "write_records",
]

LABEL_STUDIO_CONFIG = "label-studio-config"
"""The format that writes the project's Label Studio labelling config (no items)."""
EXPORT_FORMATS = (
    "jsonl",
    "csv",
    "parquet",
    "hf",
    "labelstudio",
    "conll",
    "spacy",
    "coco",
    "yolo",
    "voc",
    "folders",
    LABEL_STUDIO_CONFIG,
)
"""Every format :func:`write_records` writes: the one list the CLI, the REST API and their error
messages derive theirs from."""
SPAN_EXPORT_FORMATS = ("jsonl", "hf", "labelstudio", "conll", "spacy")
"""The formats a spans project exports its items to (its label config too)."""
SPANS_ONLY_FORMATS = ("conll", "spacy")
"""The formats that hold spans only (a classification project cannot export to them)."""
BOX_EXPORT_FORMATS = ("jsonl", "hf", "labelstudio", "coco", "yolo", "voc")
"""The formats an image-boxes project exports its items to (its label config too)."""
BOX_ONLY_FORMATS = ("coco", "yolo", "voc")
"""The formats that hold boxes only."""
MEDIA_ONLY_FORMATS = ("folders",)
"""The formats that copy media files (class folders): image and audio classification only."""
FOLDER_EXPORT_FORMATS = ("hf", "folders", "yolo", "voc")
"""The formats of :data:`EXPORT_FORMATS` that write a folder rather than one file."""
FILE_EXPORT_FORMATS = tuple(f for f in EXPORT_FORMATS if f not in FOLDER_EXPORT_FORMATS)
"""The formats that write one file (what the REST API can send as a download)."""
_EXPORT_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".json": "labelstudio",  # a JSON list of Label Studio tasks
    ".conll": "conll",
    ".iob": "conll",
    ".iob2": "conll",
    ".bio": "conll",
    ".spacy": "spacy",
    ".xml": LABEL_STUDIO_CONFIG,
}
PARQUET_BATCH_ROWS = 8192


def export_format_for(out: Path) -> str:
    """The export format ``out``'s extension names (``news.parquet`` -> ``parquet``; a ``.json``
    file is a Label Studio task list).

    Raises:
        InvalidInput: the extension names no export format (the message lists them); a folder
            for ``hf`` needs the format given explicitly.

    Example:
        >>> export_format_for(Path("labels.parquet"))
        'parquet'
    """
    fmt = _EXPORT_EXTENSIONS.get(Path(out).suffix.lower())
    if fmt is None:
        known = ", ".join(f"{ext} ({name})" for ext, name in _EXPORT_EXTENSIONS.items())
        raise InvalidInput(
            f"cannot tell the export format from {Path(out).name!r}: name the file {known}, "
            f"or give the format (one of {', '.join(EXPORT_FORMATS)})",
            file=str(out),
            field="format",
        )
    return fmt


def write_records(
    records: Iterable[ExportRecord],
    out: Path,
    *,
    format: str,
    schema: LabelSchema,
    text_field: str = "text",
    label_studio_users: Mapping[str, str | int] | None = None,
    media_root: Path | None = None,
) -> int:
    """Write records to ``out`` in one of :data:`EXPORT_FORMATS`.

    Args:
        records: The items to export, in the order to write them (streamed once).
        out: Target file (``hf``: target folder). Replaced only when the export succeeds.
        format: ``jsonl``, ``csv``, ``parquet``, ``hf`` (Hugging Face ``datasets`` folder),
            ``labelstudio`` (Label Studio JSON tasks), and for spans projects ``conll`` (IOB2)
            and ``spacy`` (a spaCy ``DocBin``); see :data:`SPAN_EXPORT_FORMATS`. Image
            classification also writes ``folders`` (``label/file``, a folder or ``*.zip``);
            image-boxes ``coco`` (one JSON file), ``yolo`` and ``voc`` (a folder or ``*.zip``),
            see :data:`BOX_EXPORT_FORMATS`.
            ``label-studio-config`` writes no items: the Label Studio labelling config
            (``<View>`` XML) that a ``labelstudio`` export's tasks fit.
        schema: The project's label schema; its task encodes the labels (``hf``: the
            ``ClassLabel`` feature, ``labelstudio``: the choices result).
        text_field: Name of the text column/key in the output.
        label_studio_users: ``labelstudio`` only: annotator name -> the Label Studio user
            (an e-mail address or an integer user id) its annotations are ``completed_by``.
            Unmapped annotators are named only when their name is an e-mail address.
        media_root: What the items' relative media paths are relative to (the workspace's
            media root): the formats that copy images or read their size need it.

    Returns:
        Number of records written (0 for ``label-studio-config``).

    Raises:
        InvalidInput: Unknown format, a format that does not fit the project's task (``csv``
            for spans, ``conll`` for classification), missing target folder, or a record whose
            label is not in the schema (nothing is written then).
        MissingDependency: ``hf`` without the ``datasets`` package.

    Example:
        >>> schema = LabelSchema(task="text-classification", labels=["World", "Sports"])
        >>> write_records(records, Path("a.jsonl"), format="jsonl", schema=schema)  # doctest: +SKIP
        1000
    """
    if format not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {format!r}; expected one of {', '.join(EXPORT_FORMATS)}",
            field="format",
        )
    out = Path(out)
    users = None if label_studio_users is None else check_label_studio_users(label_studio_users)
    ctx = ExportContext(schema, text_field, users, media_root)
    if format == LABEL_STUDIO_CONFIG:  # every task has one
        return write_label_studio_config(out, ctx)
    _check_fits(format, ctx)
    stream = checked(records, ctx)
    if format in _BOX_WRITERS:
        return _BOX_WRITERS[format](stream, out, labels=ctx.label_names, media_root=media_root)
    if format == "folders":
        return write_class_folders(stream, out, ctx)
    if format == "jsonl":
        return _write_jsonl(stream, out, ctx)
    if format == "csv":
        return _write_csv(stream, out, ctx)
    if format == "parquet":
        return _write_parquet(stream, out, ctx)
    if format == "hf":
        return write_hf(stream, out, ctx)
    if format == "conll":
        return write_conll(stream, out, ctx)
    if format == "spacy":
        return write_docbin(stream, out, ctx)
    return write_labelstudio(stream, out, ctx)


_BOX_WRITERS = {"coco": write_coco, "yolo": write_yolo, "voc": write_voc}


def export_formats_for(task: Task) -> tuple[str, ...]:
    """The formats of :data:`EXPORT_FORMATS` a project of this task type exports to.

    Example:
        >>> from labelloop.tasks import get_task
        >>> export_formats_for(get_task("image-boxes"))
        ('jsonl', 'hf', 'labelstudio', 'coco', 'yolo', 'voc', 'label-studio-config')
    """
    return tuple(f for f in EXPORT_FORMATS if _misfit(f, task) is None)


def _misfit(format: str, task: Task) -> str | None:
    """Why ``format`` cannot hold answers of ``task`` (naming the ones that can), or ``None``."""
    tags = task.tags
    if format in BOX_ONLY_FORMATS and tags.answer is not AnswerShape.BOXES:
        return f"the {format} format holds boxes; this project's task is {task.name}"
    boxes = tags.answer is AnswerShape.BOXES
    if boxes and format not in (*BOX_EXPORT_FORMATS, LABEL_STUDIO_CONFIG):
        return (
            f"labelloop does not write boxes as {format}; export an image-boxes project as one"
            f" of {', '.join(BOX_EXPORT_FORMATS)}"
        )
    media = tags.answer is AnswerShape.CHOICES and tags.modality is not Modality.TEXT
    if format in MEDIA_ONLY_FORMATS and not media:
        return (
            f"the {format} format copies image or audio files into label folders; this "
            f"project's task is {task.name}"
        )
    spans = tags.answer is AnswerShape.SPANS
    if spans and format not in (*SPAN_EXPORT_FORMATS, LABEL_STUDIO_CONFIG):
        return (
            f"labelloop does not write spans as {format}; export a spans project as one of "
            f"{', '.join(SPAN_EXPORT_FORMATS)}"
        )
    if not spans and format in SPANS_ONLY_FORMATS:
        return (
            f"the {format} format holds spans (named entities); this project's task is {task.name}"
        )
    return None


def _check_fits(format: str, ctx: ExportContext) -> None:
    """Refuse a format that cannot hold this project's answers (naming the ones that can)."""
    reason = _misfit(format, ctx.task)
    if reason is not None:
        raise InvalidInput(reason, field="format")
    if ctx.multi_label and format == "csv":
        bad = [n for n in ctx.label_names if MULTI_LABEL_SEPARATOR in n]
        if bad:
            raise InvalidInput(
                f"label {bad[0]!r} contains {MULTI_LABEL_SEPARATOR!r}, which joins multi-label"
                " CSV cells; export as jsonl or parquet instead",
                field="label",
            )


def _write_jsonl(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    n = 0
    with atomic_file(out) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as f:
        row = span_row if ctx.spans else json_row
        for rec in records:
            f.write(json.dumps(row(rec, ctx), ensure_ascii=False) + "\n")
            n += 1
    return n


#: CSV columns after the data columns.
CSV_LABEL_COLUMNS = ("label", "source", "annotator", "model_version", "seconds", "annotated_at")


def _write_csv(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    first = next(records, None)
    data_cols = list(ctx.data_columns(first)) if first is not None else [ctx.text_field]
    header = ["id", "item_id", *data_cols, *CSV_LABEL_COLUMNS, "content_hash", "meta"]
    n = 0
    with atomic_file(out) as tmp, tmp.open("w", encoding="utf-8", newline="") as f:
        # "\r\n" (RFC 4180) also makes csv quote values holding a bare "\r".
        writer = csv.writer(f, lineterminator="\r\n")
        writer.writerow(header)
        rest = records if first is None else itertools.chain([first], records)
        for rec in rest:
            writer.writerow([defuse_formula(cell) for cell in _csv_row(rec, ctx, data_cols)])
            n += 1
    return n


# what makes a spreadsheet read a cell as a formula (OWASP "CSV injection"): = + - @, and a
# leading tab or carriage return, after which some tools look for one
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defuse_formula(cell: str) -> str:
    """``cell`` with a ``'`` in front when a spreadsheet would run it as a formula
    (``=HYPERLINK(...)``, ``+1+1``, ``@SUM(...)``): the quote makes Excel, LibreOffice and
    Google Sheets show it as text. A CSV export is read back with the quote kept (use JSONL
    or Parquet for an exact round trip; docs/formats.md).

    Example:
        >>> defuse_formula("=1+1"), defuse_formula("plain")
        ("'=1+1", 'plain')
    """
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _csv_row(rec: ExportRecord, ctx: ExportContext, data_cols: list[str]) -> list[str]:
    data = ctx.data_columns(rec)
    extra = {k: v for k, v in data.items() if k not in data_cols}
    meta = meta_json(rec)
    if extra:  # a key the first record did not have: keep it, in the meta column
        merged = {**(rec.data.get("meta") or {}), **extra}
        meta = json.dumps(merged, ensure_ascii=False, sort_keys=True)
    prov = rec.provenance or {}
    # an empty multi-label answer (none applies) is "[]", not the empty cell of an unlabelled item
    label = "" if rec.label is None else MULTI_LABEL_SEPARATOR.join(rec.label) or NO_LABEL_CELL
    seconds = prov.get("seconds")
    return [
        rec.external_id or "",
        str(rec.item_id),
        *[_cell(data.get(c)) for c in data_cols],
        label,
        prov.get("source") or "",
        prov.get("annotator") or "",
        prov.get("model_version") or "",
        "" if seconds is None else repr(float(seconds)),
        iso(prov.get("created_at")) or "",
        rec.content_hash,
        meta,
    ]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _write_parquet(records: Iterator[ExportRecord], out: Path, ctx: ExportContext) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    first = next(records, None)
    data_cols = list(ctx.data_columns(first)) if first is not None else [ctx.text_field]
    schema = _parquet_schema(pa, data_cols, ctx.multi_label)
    rest = records if first is None else itertools.chain([first], records)
    n = 0
    with atomic_file(out) as tmp, pq.ParquetWriter(tmp, schema) as writer:
        while batch := list(itertools.islice(rest, PARQUET_BATCH_ROWS)):
            rows = [_parquet_row(rec, ctx, data_cols) for rec in batch]
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
            n += len(rows)
    return n


def _parquet_row(rec: ExportRecord, ctx: ExportContext, data_cols: list[str]) -> dict[str, Any]:
    row = json_row(rec, ctx)
    extra = {k: row.pop(k) for k in list(ctx.data_columns(rec)) if k not in data_cols}
    meta = {**(row.get("meta") or {}), **extra}
    row["meta"] = json.dumps(meta, ensure_ascii=False, sort_keys=True) if meta else None
    for c in data_cols:
        value = row.get(c)
        row[c] = value if value is None or isinstance(value, str) else json.dumps(value)
    # model versions are numbers in labelloop and free text in other tools: one string column
    for part in [row.get("provenance"), row.get("suggestion"), *(row.get("history") or [])]:
        if isinstance(part, dict) and part.get("model_version") is not None:
            part["model_version"] = str(part["model_version"])
    if row.get("suggestion") is not None:
        row["suggestion"]["pred_probs"] = prob_structs(row["suggestion"]["pred_probs"])
    return row


def prob_structs(pred_probs: dict[str, float]) -> list[dict[str, Any]]:
    """``{label: p}`` as a list of ``{"label", "prob"}`` structs, in the schema's label order.

    Parquet and ``hf`` store a suggestion's probabilities this way: a ``map<string, double>``
    column is what pyarrow writes for a dict, but ``datasets`` cannot load one (its features
    have no map type), while a list of structs loads as a list of dicts.
    """
    return [{"label": label, "prob": p} for label, p in pred_probs.items()]


def _parquet_schema(pa: Any, data_cols: list[str], multi_label: bool) -> Any:
    string = pa.string()
    prov_fields = [
        ("source", string),
        ("annotator", string),
        ("model_version", string),
        ("seconds", pa.float64()),
        ("created_at", string),
        ("confidence", pa.float64()),
        ("threshold", pa.float64()),
    ]
    return pa.schema(
        [
            ("id", string),
            ("item_id", pa.int64()),
            *[(c, string) for c in data_cols],
            ("meta", string),
            ("label", pa.list_(string) if multi_label else string),
            ("provenance", pa.struct(prov_fields)),
            ("history", pa.list_(pa.struct([("value", pa.list_(string)), *prov_fields]))),
            (
                "suggestion",
                pa.struct(
                    [
                        ("value", pa.list_(string)),
                        (
                            "pred_probs",
                            pa.list_(pa.struct([("label", string), ("prob", pa.float64())])),
                        ),
                        ("confidence", pa.float64()),
                        ("model_version", string),
                    ]
                ),
            ),
            ("content_hash", string),
        ]
    )
