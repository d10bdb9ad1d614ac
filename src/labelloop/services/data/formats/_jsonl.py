"""JSON Lines and Parquet readers: both yield one JSON-like object per row.

In a spans project a row is ``{"text", "spans": [{"start", "end", "label"}], "tokens"?}``: the
label field holds span lists (:func:`labelloop.services.data.formats._spans.span_record`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from labelloop.errors import InvalidInput
from labelloop.services.data.formats._boxes import box_record
from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    main_field,
    record_from_object,
)
from labelloop.services.data.formats._spans import span_record
from labelloop.services.data.formats.records import ImportRecord

__all__ = ["read_jsonl", "read_parquet"]

PARQUET_BATCH_ROWS = 8192

_Build = Callable[[Mapping[str, Any], ReadOptions, int, IdTracker], ImportRecord]


def _builder(opts: ReadOptions) -> _Build:
    """How a row becomes a record: label names, or spans in a spans project."""
    if opts.boxes:
        return box_record
    return span_record if opts.spans else record_from_object


def read_jsonl(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per non-blank line; each line must be one JSON object."""
    ids = IdTracker()
    build = _builder(opts)
    n = 0
    with path.open("rb") as stream:
        for line_no, raw in enumerate(stream, start=1):
            if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise opts.error(
                    f"line is not valid UTF-8 (byte 0x{raw[exc.start]:02x} cannot be decoded);"
                    " save the file as UTF-8 and import again",
                    line=line_no,
                ) from None
            if not text.strip():
                continue
            n += 1
            try:
                record = _json_line(text, line_no, build, opts, ids)
            except InvalidInput as exc:
                opts.bad_row(exc)
                continue
            yield record
    if n == 0:
        raise opts.error("file has no rows")


def _json_line(
    text: str, line_no: int, build: _Build, opts: ReadOptions, ids: IdTracker
) -> ImportRecord:
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise opts.error(f"invalid JSON: {exc.msg} (column {exc.colno})", line=line_no) from None
    if not isinstance(obj, dict):
        raise opts.error(f"each line must be a JSON object, got {type(obj).__name__}", line=line_no)
    return build(obj, opts, line_no, ids)


def read_parquet(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per row, reading record batches of ``PARQUET_BATCH_ROWS`` rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise opts.error(f"not a readable Parquet file: {exc}") from None
    with parquet:
        names = parquet.schema_arrow.names
        for role, name in (
            ("path" if opts.media else "text", main_field(opts)),
            ("id", opts.id_field),
        ):
            if name is not None and name not in names:
                raise opts.error(
                    f"no {role} column {name!r}; the columns are: {', '.join(map(repr, names))}",
                    line=1,
                    field=name,
                )
        if (
            opts.label_field is not None
            and opts.label_field not in names
            and "content_hash" not in names
        ):
            raise opts.error(
                f"no label column {opts.label_field!r}; the columns are: "
                f"{', '.join(map(repr, names))}",
                line=1,
                field=opts.label_field,
            )
        if parquet.metadata.num_rows == 0:
            raise opts.error("file has no rows")
        ids = IdTracker()
        build = _builder(opts)
        row = 0
        for batch in parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS):
            for obj in batch.to_pylist():
                row += 1
                try:
                    record = build(obj, opts, row, ids)
                except InvalidInput as exc:
                    opts.bad_row(exc)
                    continue
                yield record
