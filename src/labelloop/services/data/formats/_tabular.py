"""CSV and TSV readers: the stdlib ``csv`` module over a UTF-8 text stream, one row at a time."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._common import (
    EXPORT_KEYS,
    IdTracker,
    ImportedAnnotation,
    ReadOptions,
    annotation_from_provenance,
    check_size,
    human_size,
    main_data,
    main_field,
    merge_meta,
    parse_label,
)
from labelloop.services.data.formats.records import ImportRecord

__all__ = ["read_delimited"]

#: Provenance columns a labelloop CSV export writes next to the label column.
PROVENANCE_COLUMNS = ("source", "annotator", "model_version", "seconds", "annotated_at")


def _raise_field_limit(limit: int) -> None:
    # csv refuses fields over its own limit (128 KiB by default) before we can check ours; a
    # character is at least one byte, so a limit of ``max_field_bytes`` characters never hides one
    # of our errors. Only ever raised, so other readers in the process are not restricted.
    if csv.field_size_limit() < limit + 1:
        csv.field_size_limit(limit + 1)


def read_delimited(path: Path, opts: ReadOptions, *, delimiter: str) -> Iterator[ImportRecord]:
    """Yield one record per row of a CSV (``delimiter=","``) or TSV (``"\\t"``) file."""
    _raise_field_limit(opts.max_field_bytes)
    with path.open("r", encoding="utf-8-sig", newline="") as stream:
        reader = csv.reader(stream, delimiter=delimiter, strict=True)
        rows = _rows(reader, opts)
        header = next(rows, None)
        if header is None:
            raise opts.error("file is empty (no header, no rows)")
        columns = _check_header(header[1], opts)
        n = 0
        ids = IdTracker()
        for line, row in rows:
            n += 1
            try:
                if len(row) != len(columns):
                    raise opts.error(
                        f"row has {len(row)} columns but the header has {len(columns)}"
                        " (an unquoted delimiter or a missing quote?)",
                        line=line,
                    )
                record = _record(dict(zip(columns, row, strict=True)), opts, line, ids, columns)
            except InvalidInput as exc:
                opts.bad_row(exc)
                continue
            yield record
        if n == 0:
            raise opts.error("file has a header but no rows", line=header[0])


def _rows(reader: Any, opts: ReadOptions) -> Iterator[tuple[int, list[str]]]:
    """Yield (first physical line, cells) of every non-blank row, mapping parse errors."""
    last = 0
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError:
            raise _encoding_error(opts) from None
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a value is over {human_size(opts.max_field_bytes)}"
            elif "unexpected end of data" in message:
                message = f"a quoted value is never closed ({message})"
            raise opts.error(f"malformed CSV: {message}", line=last + 1) from None
        start, last = last + 1, reader.line_num
        if row:
            yield start, row


def _encoding_error(opts: ReadOptions) -> InvalidInput:
    """The error for a file that is not UTF-8, naming the first line that is not."""
    with open(opts.file, "rb") as f:
        for line_no, raw in enumerate(f, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return opts.error(
                    f"file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded);"
                    " save it as UTF-8 and import again",
                    line=line_no,
                )
    return opts.error("file is not valid UTF-8; save it as UTF-8 and import again")


def _check_header(header: list[str], opts: ReadOptions) -> list[str]:
    columns = [c.strip() for c in header]
    listing = ", ".join(repr(c) for c in columns)
    main = ("path", opts.path_field) if opts.media else ("text", opts.text_field)
    roles = (main, ("id", opts.id_field), ("label", opts.label_field))
    for role, name in roles:
        if name is not None and name not in columns:
            raise opts.error(
                f"no {role} column {name!r}; the columns are: {listing}", line=1, field=name
            )
    seen: set[str] = set()
    for c in columns:
        if c in seen:
            raise opts.error(f"column {c!r} appears twice in the header", line=1, field=c)
        seen.add(c)
    return columns


def _record(
    row: dict[str, str], opts: ReadOptions, line: int, ids: IdTracker, columns: list[str]
) -> ImportRecord:
    main = main_field(opts)
    data: dict[str, Any] = main_data(row[main], opts, line)
    external_id = None
    if opts.id_field is not None:
        external_id = ids.check(row[opts.id_field], opts, line, opts.id_field)
    exported = "content_hash" in row
    used = {main, opts.id_field, opts.label_field}
    if opts.media:
        used.add("media")
    meta: dict[str, Any] = {}
    for key in columns:
        if key in used:
            continue
        cell = row[key]
        check_size(cell, opts, line, key)
        if key == "meta" or (exported and key in EXPORT_KEYS):
            if key == "meta":
                merge_meta(meta, cell)
            continue
        meta[key] = cell
    if meta:
        data["meta"] = meta
    annotations: tuple[ImportedAnnotation, ...] = ()
    if opts.label_field is not None:
        value = parse_label(row[opts.label_field], opts, line, opts.label_field)
        if exported:
            # A labelloop export writes an empty label cell with a source for "no label applies".
            if value is None and row.get("source"):
                value = ()
            if value is not None:
                annotations = (annotation_from_provenance(value, row, opts, line),)
        elif value is not None:
            annotations = (ImportedAnnotation(value=value, annotator=opts.annotator),)
    return ImportRecord(line, external_id, data, annotations)
