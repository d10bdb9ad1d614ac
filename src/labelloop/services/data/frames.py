"""A project as a pandas DataFrame or a Hugging Face ``datasets.Dataset``, in memory.

Both read what the JSONL export writes (:func:`~labelloop.services.data.exporting.
export_project`, to a temporary file), so a frame holds exactly the items, labels, provenance
and suggestions an export would, and nothing here reads the database itself. The nested JSONL
row is flattened into columns (docs/python-api.md lists them):

``id, item_id, <data columns>, meta, label (or spans), source, annotator, model_version, seconds,
annotated_at, <other provenance keys>, suggestion, suggestion_pred_probs,
suggestion_confidence, suggestion_model_version, history, content_hash``.

Example:
    >>> frame = project_frame(ws, "news")                       # doctest: +SKIP
    >>> frame.groupby("source").size()                          # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelloop.errors import MissingDependency
from labelloop.services.data.exporting import export_project
from labelloop.services.projects import project_info
from labelloop.tasks import AnswerShape, get_task

if TYPE_CHECKING:
    import pandas as pd

    from labelloop.services.context import WorkspaceContext
    from labelloop.services.results import ProjectInfo

__all__ = ["project_dataset", "project_frame"]

#: Where the label of a row sits in the JSONL export: ``label``, or ``spans`` for span projects.
_LABEL_KEYS = ("label", "spans")
_FIXED = ("id", "item_id")
_TAIL = ("history", "content_hash")


def _rows(ws: WorkspaceContext, name: str, only: str) -> list[dict[str, Any]]:
    """The JSONL export's rows, flattened (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="labelloop-frame-") as tmp:
        out = Path(tmp) / f"{name}.jsonl"
        export_project(ws, name, out, format="jsonl", only=only)
        with out.open(encoding="utf-8") as f:
            return [_flat(json.loads(line)) for line in f if line.strip()]


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    provenance = row.pop("provenance", None) or {}
    suggestion = row.pop("suggestion", None) or {}
    tail = {k: row.pop(k, None) for k in _TAIL}
    flat: dict[str, Any] = {k: row.pop(k, None) for k in _FIXED}
    labels = {k: row.pop(k) for k in _LABEL_KEYS if k in row}
    meta = row.pop("meta", None)
    flat.update(row)  # the data columns (text, path, tokens, ...)
    flat["meta"] = meta
    flat.update(labels)
    for key, value in provenance.items():
        flat["annotated_at" if key == "created_at" else key] = value
    flat["suggestion"] = suggestion.get("value")
    flat["suggestion_pred_probs"] = suggestion.get("pred_probs")
    flat["suggestion_confidence"] = suggestion.get("confidence")
    flat["suggestion_model_version"] = suggestion.get("model_version")
    flat.update(tail)
    return flat


def _single(values: list[str] | None, multi_label: bool) -> Any:
    """A single-label suggestion as its label name (as the label column holds it)."""
    if values is None or multi_label:
        return values
    return values[0] if values else None


def project_frame(ws: WorkspaceContext, name: str, *, only: str = "all") -> pd.DataFrame:
    """One row per item of project ``name`` (``only``: all | accepted | human, as for export).

    ``label`` is a name (single-label), a list of names (multi-label; ``[]``: no label applies)
    or None (unlabelled); a spans project has ``spans`` instead (a list of ``{start, end,
    label}``). ``suggestion`` is shaped like the label; ``suggestion_pred_probs`` maps each
    label to its probability (spans: each span carries its ``score``). ``annotated_at`` is a
    timezone-aware timestamp (UTC).
    """
    import pandas as pd

    info = project_info(ws, name)
    rows = _rows(ws, name, only)
    for row in rows:
        row["suggestion"] = _single(row["suggestion"], info.multi_label or _is_spans(info))
    columns = list(rows[0]) if rows else [*_FIXED, "text", "meta", "label"]
    frame = pd.DataFrame(rows, columns=columns)
    if "annotated_at" in frame:
        frame["annotated_at"] = pd.to_datetime(frame["annotated_at"], utc=True, format="ISO8601")
    return frame


def _is_spans(info: ProjectInfo) -> bool:
    return get_task(info.task).tags.answer is AnswerShape.SPANS


def project_dataset(ws: WorkspaceContext, name: str, *, only: str = "all") -> Any:
    """Project ``name`` as an in-memory ``datasets.Dataset`` (needs the ``hf`` extra).

    The columns are those of :func:`project_frame`, typed: ``label`` and ``suggestion`` are
    ``ClassLabel`` (``-1``: none; a list of them for a multi-label project), ``pred_probs`` a
    list of ``float32`` in label order (None without a suggestion), ``meta`` its JSON text,
    ``annotated_at`` ISO 8601 text. A spans project keeps ``spans`` and ``suggestion`` as lists
    of ``{start, end, label}`` (with ``score`` in the suggestion), types inferred.
    """
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import datasets
    except ImportError:
        raise MissingDependency("Hugging Face datasets", extra="hf") from None

    info = project_info(ws, name)
    rows = _rows(ws, name, only)
    spans = _is_spans(info)
    examples = [_example(row, info, spans) for row in rows]
    if spans:
        return datasets.Dataset.from_list(examples)
    return datasets.Dataset.from_list(examples, features=_features(datasets, info, rows))


def _example(row: dict[str, Any], info: ProjectInfo, spans: bool) -> dict[str, Any]:
    out = dict(row)
    out["meta"] = None if row["meta"] is None else json.dumps(row["meta"], ensure_ascii=False)
    out["history"] = json.dumps(row["history"], ensure_ascii=False)
    probs = out.pop("suggestion_pred_probs")
    if spans:
        return out
    index = {label: i for i, label in enumerate(info.labels)}
    out["label"] = _ids(row.get("label"), index, info.multi_label)
    out["suggestion"] = _ids(row["suggestion"], index, info.multi_label)
    out["pred_probs"] = None if not probs else [float(probs.get(lbl, 0.0)) for lbl in info.labels]
    return out


def _ids(value: Any, index: dict[str, int], multi_label: bool) -> Any:
    if multi_label:
        return [index[v] for v in value or ()]
    if isinstance(value, list):
        value = value[0] if value else None
    return -1 if value is None else index[value]


def _features(datasets: Any, info: ProjectInfo, rows: list[dict[str, Any]]) -> Any:
    Value = datasets.Value
    label = datasets.ClassLabel(names=list(info.labels))
    sequence = getattr(datasets, "List", None) or datasets.Sequence
    label_feature = sequence(label) if info.multi_label else label
    known = {
        "id": Value("string"),
        "item_id": Value("int64"),
        "meta": Value("string"),
        "label": label_feature,
        "source": Value("string"),
        "annotator": Value("string"),
        "model_version": Value("int64"),
        "seconds": Value("float64"),
        "annotated_at": Value("string"),
        "suggestion": label_feature,
        "pred_probs": sequence(Value("float32")),
        "suggestion_confidence": Value("float64"),
        "suggestion_model_version": Value("int64"),
        "history": Value("string"),
        "content_hash": Value("string"),
    }
    columns = list(rows[0]) if rows else [*_FIXED, "text", "meta", "label"]
    columns = ["pred_probs" if c == "suggestion_pred_probs" else c for c in columns]
    # the data columns (text, a media path) are text; provenance keys we do not know as floats
    return datasets.Features(
        {c: known.get(c, Value("string" if c not in _NUMERIC else "float64")) for c in columns}
    )


#: Provenance keys an export may add whose values are numbers (an auto label's evidence).
_NUMERIC = frozenset({"confidence", "threshold"})
