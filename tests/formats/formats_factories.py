"""Factories for the format tests: export records and small files, built from arguments."""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from labelloop.schema import LabelSchema
from labelloop.services.data.formats import ExportRecord

LABELS = ("World", "Sports", "Business, Tech")


def make_schema(labels: Sequence[str], multi_label: bool = False) -> LabelSchema:
    """A text-classification schema over ``labels`` (what a project hands the writers)."""
    return LabelSchema(task="text-classification", labels=tuple(labels), multi_label=multi_label)


def make_export_record(
    item_id: int = 1,
    *,
    text: str = "some text",
    external_id: str | None = None,
    label: Sequence[str] | None = ("World",),
    annotator: str | None = "alice",
    source: str = "human",
    seconds: float | None = 3.5,
    created_at: str = "2024-05-01T12:00:00+00:00",
    model_version: str | None = None,
    meta: dict[str, Any] | None = None,
    suggestion: dict[str, Any] | None = None,
    history: Sequence[dict[str, Any]] | None = None,
) -> ExportRecord:
    data: dict[str, Any] = {"text": text}
    if meta:
        data["meta"] = meta
    prov = None
    if label is not None:
        prov = {
            "source": source,
            "annotator": annotator,
            "model_version": model_version,
            "seconds": seconds,
            "created_at": created_at,
        }
    if history is None:
        history = [] if label is None else [{"value": list(label), **(prov or {})}]
    return ExportRecord(
        external_id=f"ext-{item_id}" if external_id is None else external_id,
        item_id=item_id,
        data=data,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        label=None if label is None else tuple(label),
        provenance=prov,
        history=tuple(history),
        suggestion=suggestion,
    )


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, objects: Sequence[Any]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in objects), encoding="utf-8")
    return path


def ls_task(
    text: str,
    *,
    task_id: int = 1,
    choices: Sequence[str] | None = ("World",),
    completed_by: Any = 7,
    cancelled: bool = False,
    prediction: Sequence[str] | None = None,
    score: float | None = 0.9,
) -> dict[str, Any]:
    def result(values: Sequence[str]) -> list[dict[str, Any]]:
        return [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": list(values)},
            }
        ]

    task: dict[str, Any] = {"id": task_id, "data": {"text": text, "source_url": "http://x"}}
    if choices is not None:
        task["annotations"] = [
            {
                "id": 100 + task_id,
                "completed_by": completed_by,
                "result": result(choices),
                "was_cancelled": cancelled,
                "created_at": "2024-01-02T03:04:05.000000Z",
                "lead_time": 12.5,
            }
        ]
    if prediction is not None:
        task["predictions"] = [
            {"result": result(prediction), "score": score, "model_version": "m1"}
        ]
    return task


# -- spans ---------------------------------------------------------------------------------------

NER_LABELS = ("PER", "LOC", "ORG", "MISC")
#: The shared benchmark data (``LABELLOOP_DATA``, else ``../shared/data`` beside the repository).
DATA = Path(
    os.environ.get("LABELLOOP_DATA", Path(__file__).resolve().parents[2].parent / "shared/data")
)
CONLL2003 = DATA / "conll2003"


def make_span_schema(labels: Sequence[str] = NER_LABELS, **kwargs: Any) -> LabelSchema:
    """A spans schema over ``labels`` (named entities by default)."""
    return LabelSchema(task="spans", labels=tuple(labels), **kwargs)


def make_span_record(
    item_id: int = 1,
    *,
    tokens: Sequence[str] = ("Peter", "Blackburn", "flew", "to", "Brussels", "."),
    tags: Sequence[str] | None = ("B-PER", "I-PER", "O", "O", "B-LOC", "O"),
    keep_tokens: bool = True,
    annotator: str | None = "alice",
    suggestion: Sequence[tuple[int, int, str, float]] | None = None,
    confidence: float = 0.7,
) -> ExportRecord:
    """An export record of a sentence whose spans are given as IOB2 ``tags`` over ``tokens``
    (None: unlabelled); ``suggestion`` holds ``(first_token, end_token, label, marginal)``."""
    from labelloop.tasks.spans import char_spans, from_bio

    text = " ".join(tokens)
    offsets = []
    at = 0
    for token in tokens:
        offsets.append((at, at + len(token)))
        at += len(token) + 1
    data: dict[str, Any] = {"text": text}
    if keep_tokens:
        data["tokens"] = list(tokens)
    label = None if tags is None else tuple(from_bio(offsets, list(tags)))
    prov = None
    if label is not None:
        prov = {
            "source": "human",
            "annotator": annotator,
            "model_version": None,
            "seconds": 4.0,
            "created_at": "2024-05-01T12:00:00+00:00",
        }
    sug = None
    if suggestion is not None:
        sug = {
            "value": char_spans(offsets, [(s, e, lab) for s, e, lab, _ in suggestion]),
            "pred_probs": [p for *_, p in suggestion],
            "confidence": confidence,
            "model_version": 3,
        }
    return ExportRecord(
        external_id=f"s{item_id}",
        item_id=item_id,
        data=data,
        content_hash=hashlib.sha256(text.encode()).hexdigest(),
        label=label,
        provenance=prov,
        history=() if label is None else ({"value": list(label), **(prov or {})},),
        suggestion=sug,
    )


def write_conll(path: Path, sentences: Sequence[Sequence[str]], *, docstart: bool = True) -> Path:
    """A CoNLL file from sentences given as ``"token ... TAG"`` lines, CRLF line ends."""
    head = "-DOCSTART- -X- -X- O\r\n\r\n" if docstart else ""
    body = "\r\n\r\n".join("\r\n".join(lines) for lines in sentences)
    path.write_bytes((head + body + "\r\n").encode("utf-8"))
    return path


def conll2003_sentences(split: str = "test", n: int = 50) -> list[list[str]]:
    """The first ``n`` sentences of the shared CoNLL-2003 ``split``, as ``"token TAG"`` lines."""
    import pytest

    path = CONLL2003 / f"{split}.txt"
    if not path.exists():
        pytest.skip(f"the shared CoNLL-2003 data is not at {path}")
    sentences: list[list[str]] = []
    current: list[str] = []
    with path.open(encoding="utf-8", newline="") as f:
        for raw in f:
            line = raw.rstrip("\r\n")
            if line.strip() and not line.startswith("-DOCSTART-"):
                current.append(line)
            elif current:
                sentences.append(current)
                current = []
                if len(sentences) == n:
                    break
    return sentences
