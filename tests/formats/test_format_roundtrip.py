"""Reading back what a writer wrote gives the same ids, data, labels and provenance."""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from formats_factories import LABELS, make_export_record, make_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labelloop.services.data.formats import ExportRecord, read_records, write_records
from labelloop.services.data.formats.writers import defuse_formula

READABLE_EXPORTS = {"jsonl": ".jsonl", "csv": ".csv", "parquet": ".parquet", "labelstudio": ".json"}

texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda t: t.strip() != "")
annotators = st.none() | st.sampled_from(["alice", "bob@example.org", 'zoë, the "reviewer"'])
meta_values = st.none() | st.integers(-5, 5) | texts | st.lists(texts, max_size=2)


@st.composite
def export_records(draw: Any, multi_label: bool) -> list[ExportRecord]:
    n = draw(st.integers(1, 6))
    out = []
    for i in range(n):
        if multi_label:
            label = draw(st.none() | st.lists(st.sampled_from(LABELS), unique=True, max_size=3))
        else:
            label = draw(st.none() | st.sampled_from(LABELS).map(lambda x: [x]))
        meta = draw(st.dictionaries(st.sampled_from(["lang", "url", "n"]), meta_values, max_size=2))
        out.append(
            make_export_record(
                i + 1,
                text=draw(texts),
                external_id=draw(st.sampled_from(["", "id-"])) + f"{i}-" + draw(texts),
                label=label,
                annotator=draw(annotators),
                source=draw(st.sampled_from(["human", "model_accepted", "auto"])),
                seconds=draw(st.none() | st.floats(0, 1e4, allow_nan=False)),
                meta=meta,
                model_version=draw(st.none() | st.just("v3")),
            )
        )
    return out


def _read_back(path: Path, fmt: str, multi_label: bool) -> list[Any]:
    return list(
        read_records(
            path,
            format=fmt,
            id_field=None if fmt == "labelstudio" else "id",
            label_field="label",
            label_separator="|" if (multi_label and fmt == "csv") else None,
        )
    )


def _assert_round_trip(records: list[ExportRecord], back: list[Any]) -> None:
    assert [r.external_id for r in back] == [r.external_id for r in records]
    assert [r.data for r in back] == [r.data for r in records]
    for rec, got in zip(records, back, strict=True):
        if rec.label is None:
            assert got.annotations == ()
            continue
        ann = got.annotations[-1]
        assert ann.value == rec.label
        assert rec.provenance is not None
        assert ann.annotator == rec.provenance["annotator"]
        assert ann.source == rec.provenance["source"]
        assert ann.seconds == rec.provenance["seconds"]
        assert ann.created_at == datetime.fromisoformat(rec.provenance["created_at"])


@pytest.mark.parametrize("fmt", sorted(READABLE_EXPORTS))
@pytest.mark.parametrize("multi_label", [False, True])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.data_too_large])
@given(data=st.data())
def test_export_then_import_round_trips(fmt: str, multi_label: bool, data: Any) -> None:
    records = data.draw(export_records(multi_label))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"out{READABLE_EXPORTS[fmt]}"
        n = write_records(records, path, format=fmt, schema=make_schema(LABELS, multi_label))
        assert n == len(records)
        _assert_round_trip(_as_written(records, fmt), _read_back(path, fmt, multi_label))


def _as_written(records: list[ExportRecord], fmt: str) -> list[ExportRecord]:
    """What reading ``records`` back gives: a CSV cell that a spreadsheet would run as a formula
    is written with a ``'`` in front (docs/formats.md), which a reader keeps."""
    if fmt != "csv":
        return records
    return [
        dataclasses.replace(
            r,
            external_id=defuse_formula(r.external_id) if r.external_id else r.external_id,
            data={**r.data, "text": defuse_formula(r.data["text"])},
        )
        for r in records
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_history_and_suggestion_come_back_from_nested_formats(tmp_path: Path, fmt: str) -> None:
    history = [
        {"value": ["World"], "source": "auto", "annotator": None, "model_version": "v1",
         "seconds": None, "created_at": "2024-01-01T00:00:00+00:00"},
        {"value": ["Sports"], "source": "human", "annotator": "ann", "model_version": None,
         "seconds": 4.0, "created_at": "2024-01-02T00:00:00+00:00"},
    ]  # fmt: skip
    rec = make_export_record(
        label=["Sports"],
        annotator="ann",
        seconds=4.0,
        created_at="2024-01-02T00:00:00+00:00",
        history=history,
        suggestion={
            "value": ["World"],
            "pred_probs": {"World": 0.7, "Sports": 0.3},
            "model_version": "v2",
        },
    )
    path = tmp_path / f"out.{fmt}"
    write_records([rec], path, format=fmt, schema=make_schema(LABELS, False))
    (back,) = read_records(path, id_field="id", label_field="label")
    assert [(a.value, a.source, a.annotator) for a in back.annotations] == [
        (("World",), "auto", None),
        (("Sports",), "human", "ann"),
    ]
    assert back.predictions[0].value == ("World",)
    assert back.predictions[0].score == pytest.approx(0.7)
    assert back.predictions[0].model_version == "v2"
