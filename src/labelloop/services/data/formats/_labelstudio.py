"""Label Studio JSON export reader (a JSON list of tasks), streamed with ``ijson``."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from labelloop.services.data.formats._common import (
    IdTracker,
    ReadOptions,
    annotation_from_provenance,
    check_size,
    check_text,
    optional_str,
    parse_datetime,
    parse_seconds,
    parse_source,
)
from labelloop.services.data.formats._spans import TOKENS_KEY, check_tokens, ls_spans
from labelloop.services.data.formats.records import (
    ImportedAnnotation,
    ImportedPrediction,
    ImportRecord,
)
from labelloop.tasks import Where, task_for

__all__ = ["MEDIA_KEYS", "read_labelstudio"]

#: Task data keys that hold a file rather than text (labelloop writes media items this way).
MEDIA_KEYS = ("image", "audio")


def _iter_tasks(stream: BinaryIO, opts: ReadOptions) -> Iterator[tuple[int, Any]]:
    head = stream.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        raise opts.error("file is empty")
    if not head.startswith(b"["):
        raise opts.error("expected a Label Studio export: a JSON list of tasks, [ {...}, ... ]")
    stream.seek(0)
    if stream.read(3) != b"\xef\xbb\xbf":
        stream.seek(0)
    try:
        import ijson
    except ImportError:  # pragma: no cover - ijson ships with the dev environment
        try:
            tasks = json.load(stream)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise opts.error(f"invalid JSON: {exc}") from None
        yield from enumerate(tasks, start=1)
        return
    index = 0
    try:
        for index, task in enumerate(ijson.items(stream, "item", use_float=True), start=1):
            yield index, task
    except (ijson.JSONError, UnicodeDecodeError) as exc:
        raise opts.error(f"invalid JSON after task {index}: {exc}", line=index + 1) from None


def read_labelstudio(path: Path, opts: ReadOptions) -> Iterator[ImportRecord]:
    """Yield one record per task; ``line`` is the task number (1-based)."""
    ids = IdTracker()
    n = 0
    with path.open("rb") as stream:
        for index, task in _iter_tasks(stream, opts):
            if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
                raise opts.error("each task must be an object with a 'data' object", line=index)
            n += 1
            yield _record(task, opts, index, ids)
    if n == 0:
        raise opts.error("file holds no tasks")


def _record(task: dict[str, Any], opts: ReadOptions, line: int, ids: IdTracker) -> ImportRecord:
    data_in: dict[str, Any] = task["data"]
    raw_meta = task.get("meta")
    task_meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    external_id = None
    if opts.id_field is not None:
        if data_in.get(opts.id_field) is None:
            raise opts.error(
                f"no id in the task data; its keys are: {', '.join(data_in)}",
                line=line,
                field=opts.id_field,
            )
        external_id = ids.check(data_in[opts.id_field], opts, line, opts.id_field)
    elif task_meta.get("external_id") is not None:
        external_id = ids.check(task_meta["external_id"], opts, line, "meta.external_id")
    elif task.get("id") is not None and "content_hash" not in task_meta:
        # Label Studio's own task id names the item; in a file labelloop wrote (its meta holds
        # the content hash) the task id is labelloop's item id, which is not the item's name
        external_id = ids.check(task["id"], opts, line, "id")
    data, main_key = _data(data_in, opts, line)
    kept = {main_key, opts.id_field}
    if opts.spans and data_in.get(TOKENS_KEY) is not None and "text" in data:
        data[TOKENS_KEY] = check_tokens(data_in[TOKENS_KEY], data["text"], opts, line)
        kept.add(TOKENS_KEY)
    meta = {k: v for k, v in data_in.items() if k not in kept}
    for k, v in meta.items():
        if isinstance(v, str):
            check_size(v, opts, line, k)
    if meta:
        data["meta"] = meta
    annotations = tuple(
        a
        for a in (_annotation(ann, opts, line) for ann in task.get("annotations") or ())
        if a is not None
    )
    predictions = tuple(
        p
        for p in (_prediction(pred, opts, line) for pred in task.get("predictions") or ())
        if p is not None
    )
    return ImportRecord(line, external_id, data, annotations, predictions)


def _data(data_in: dict[str, Any], opts: ReadOptions, line: int) -> tuple[dict[str, Any], str]:
    if opts.text_field in data_in:
        return {"text": check_text(data_in[opts.text_field], opts, line)}, opts.text_field
    for key in MEDIA_KEYS:
        if isinstance(data_in.get(key), str) and data_in[key]:
            return {"path": _media_path(data_in[key], opts, line, key), "media": key}, key
    for key, value in data_in.items():
        if isinstance(value, str) and key != opts.id_field:
            return {"text": check_text(value, opts, line)}, key
    raise opts.error(
        f"task data has no text; its keys are: {', '.join(data_in) or '(none)'}",
        line=line,
        field=opts.text_field,
    )


#: How Label Studio names the files it serves: its local-files storage (the path after
#: ``?d=`` is relative to the storage's root) and its uploads (under its ``media`` folder).
_LS_LOCAL_FILES = "/data/local-files/?d="
_LS_UPLOADS = "/data/upload/"


def _media_path(value: str, opts: ReadOptions, line: int, field: str) -> str:
    """A task's media reference as a file path: Label Studio's ``/data/local-files/?d=a/b.jpg``
    is ``a/b.jpg`` and ``/data/upload/3/x.jpg`` is ``upload/3/x.jpg`` (both relative to the
    import's media folder: the storage root, or Label Studio's ``media`` folder).

    Raises:
        InvalidInput: a URL (labelloop reads local files only; the machine may be offline).
    """
    from urllib.parse import unquote

    if value.startswith(_LS_LOCAL_FILES):
        return unquote(value[len(_LS_LOCAL_FILES) :])
    if value.startswith(_LS_UPLOADS):
        return "upload/" + unquote(value[len(_LS_UPLOADS) :])
    if "://" in value:
        raise opts.error(
            f"{value[:80]!r} is a URL; labelloop imports local files: download them and name"
            " them by path (relative to --media-root)",
            line=line,
            field=field,
        )
    return value


def _choices(result: Any, opts: ReadOptions, line: int, field: str) -> tuple[str, ...] | None:
    """All ``choices`` of a result list, in order; None if the result has no choices region."""
    if not isinstance(result, list):
        raise opts.error("'result' must be a list", line=line, field=field)
    names: list[str] = []
    found = False
    for region in result:
        if not isinstance(region, dict) or region.get("type") != "choices":
            continue
        choices = (region.get("value") or {}).get("choices")
        if not isinstance(choices, list) or not all(isinstance(c, str) for c in choices):
            raise opts.error("choices must be a list of strings", line=line, field=field)
        found = True
        names.extend(c for c in choices if c not in names)
    return tuple(names) if found else None


def _annotation(ann: Any, opts: ReadOptions, line: int) -> ImportedAnnotation | None:
    if not isinstance(ann, dict):
        raise opts.error("annotations must be objects", line=line, field="annotations")
    if ann.get("was_cancelled"):
        return None
    value: tuple[Any, ...] | None
    if opts.spans:
        value = ls_spans(ann.get("result", []), opts, line, "annotations")[0]
    elif opts.boxes:  # an annotation without a rectangle: "no object in this image"
        value = _boxes(ann.get("result", []), opts, line, "annotations") or ()
    else:
        value = _choices(ann.get("result", []), opts, line, "annotations")
    if value is None:
        return None
    prov = ann.get("meta")
    if isinstance(prov, Mapping) and "source" in prov:  # written by labelloop
        return annotation_from_provenance(value, prov, opts, line)
    return ImportedAnnotation(
        value=value,
        annotator=_annotator(ann.get("completed_by"), opts),
        source=parse_source(None, opts, line),
        created_at=parse_datetime(ann.get("created_at"), opts, line, "created_at"),
        seconds=parse_seconds(ann.get("lead_time"), opts, line, "lead_time"),
    )


def _boxes(result: Any, opts: ReadOptions, line: int, field: str) -> tuple[Any, ...] | None:
    """The boxes (pixels) of a result's ``rectanglelabels`` regions, with each region's
    ``score`` kept on its box (a prediction); None when there is no such region."""
    assert opts.schema is not None  # opts.boxes says there is one
    where = Where(file=opts.file, line=line, field=field)
    boxes = task_for(opts.schema).value_from_label_studio(opts.schema, result, where=where)
    if boxes is None:
        return None
    regions = [r for r in result if isinstance(r, Mapping) and r.get("type") == "rectanglelabels"]
    if len(regions) == len(boxes):  # one label per region: its score belongs to its box
        for box, region in zip(boxes, regions, strict=True):
            if isinstance(region.get("score"), int | float):
                box["score"] = float(region["score"])
    return tuple(boxes)


def _annotator(completed_by: Any, opts: ReadOptions) -> str | None:
    if isinstance(completed_by, dict):
        found = optional_str(completed_by.get("email"))
        if found:
            return found
        completed_by = completed_by.get("id")
    if isinstance(completed_by, str) and completed_by:
        return completed_by
    if opts.annotator is not None:
        return opts.annotator
    if isinstance(completed_by, int):
        return f"label-studio-user-{completed_by}"
    return None


def _prediction(pred: Any, opts: ReadOptions, line: int) -> ImportedPrediction | None:
    if isinstance(pred, int) and not isinstance(pred, bool):
        # Label Studio's default export names a task's predictions by their primary keys
        # (they come as objects only when the export expands them): nothing to read
        return None
    if not isinstance(pred, dict):
        raise opts.error(
            "predictions must be objects (or the integer ids Label Studio exports)",
            line=line,
            field="predictions",
        )
    scores: tuple[float, ...] = ()
    if opts.spans:
        value, scores = ls_spans(pred.get("result", []), opts, line, "predictions")
    elif opts.boxes:
        value = _boxes(pred.get("result", []), opts, line, "predictions") or ()
    else:
        choices = _choices(pred.get("result", []), opts, line, "predictions")
        if choices is None:
            return None
        value = choices
    score = pred.get("score")
    try:
        score = None if score is None else float(score)
    except (TypeError, ValueError):
        raise opts.error(f"score {score!r} is not a number", line=line, field="score") from None
    return ImportedPrediction(value, score, optional_str(pred.get("model_version")), scores)
