"""Exports read back by the tools people load them with (datasets, Label Studio's converter) and
by labelloop itself, with suggestions, provenance and auto-accept evidence kept whole."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from factories import TOPICS, write_csv
from labelloop.errors import InvalidInput
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality.autoaccept import auto_accept
from labelloop.store import Annotation, Item, Suggestion, repo

LABELS = ["sports", "tech", "politics"]


def blurred_texts(n: int, *, seed: int) -> list[tuple[str, str]]:
    """(text, label) pairs with two words of their topic and two of any: a model of them is
    unsure, so its probabilities are no 0/1 one-hots."""
    rng = random.Random(seed)
    everything = [w for words in TOPICS.values() for w in words]
    out = []
    for i in range(n):
        label = LABELS[i % len(LABELS)]
        words = [*rng.sample(TOPICS[label], 2), *rng.sample(everything, 2)]
        out.append((f"A {' '.join(words)} note {i}.", label))
    return out


def trained_project(ws, tmp_path: Path, name: str = "a", *, n: int = 60, labelled: int = 30):
    """A fake-backbone project: ``labelled`` items labelled by alice (every fourth with a
    ``lang`` column, kept as meta), the rest unlabelled, trained so that every unlabelled item
    has a suggestion."""
    rows = [
        {"id": f"i{i}", "text": text, "label": label if i < labelled else "",
         "lang": "en" if i % 4 == 0 else ""}
        for i, (text, label) in enumerate(blurred_texts(n, seed=5))
    ]  # fmt: skip
    ws.create_project(name, labels=LABELS, backbone="fake")
    ws.import_file(
        name,
        write_csv(tmp_path / f"{name}-labelled.csv", [r for r in rows if r["label"]]),
        ImportOptions(id_field="id", label_field="label", annotator="alice"),
    )
    pool = [{"id": r["id"], "text": r["text"]} for r in rows if not r["label"]]
    ws.import_file(
        name, write_csv(tmp_path / f"{name}-pool.csv", pool), ImportOptions(id_field="id")
    )
    ws.train(name)


def suggestions(ws, name: str) -> dict[str, tuple[list[Any], list[float], float]]:
    """external id -> (value, pred_probs, confidence) of the project's stored suggestions."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        rows = session.execute(
            select(Suggestion, Item.external_id)
            .join(Item, Item.id == Suggestion.item_id)
            .where(Suggestion.project_id == project.id)
        ).all()
        return {ext: (list(s.value), list(s.pred_probs), s.confidence) for s, ext in rows}


def jsonl_rows(ws, name: str, tmp_path: Path) -> dict[str, dict[str, Any]]:
    out = tmp_path / f"{name}-snapshot.jsonl"
    ws.export(name, out, format="jsonl")
    return {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}


def labels_and_provenance(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    keep = ("source", "annotator", "seconds", "confidence", "threshold")
    return {
        k: (r["label"], {p: (r["provenance"] or {}).get(p) for p in keep}, r.get("meta"))
        for k, r in rows.items()
    }


# -- pred_probs kept whole (item 5) --------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_round_trip_keeps_pred_probs_whole(sqlite_workspace, tmp_path: Path, fmt: str):
    ws = sqlite_workspace
    trained_project(ws, tmp_path)
    before = suggestions(ws, "a")
    assert len(before) == 30
    # a model's probabilities are no top class plus an even split of the rest
    assert any(len({round(p, 5) for p in probs}) == 3 for _, probs, _ in before.values())
    out = tmp_path / f"a.{fmt}"
    ws.export("a", out, format=fmt)
    ws.create_project("b", labels=LABELS, backbone="fake")
    ws.import_file("b", out, ImportOptions(id_field="id", label_field="label"))
    assert suggestions(ws, "b") == before


def test_pred_probs_naming_a_label_the_project_lacks_are_refused(sqlite_workspace, tmp_path):
    ws = sqlite_workspace
    trained_project(ws, tmp_path)
    rows = [
        r for r in jsonl_rows(ws, "a", tmp_path).values()
        if r["label"] is None and r["suggestion"]["value"] != ["politics"]
    ]  # fmt: skip
    out = tmp_path / "unlabelled.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ws.create_project("b", labels=["sports", "tech", "law"], backbone="fake")
    with pytest.raises(InvalidInput, match="pred_probs names 'politics'") as info:
        ws.import_file("b", out, ImportOptions(id_field="id", label_field="label"))
    assert (info.value.line, info.value.field) == (1, "suggestion.pred_probs")
    assert ws.status("b").items == 0  # nothing half-written


# -- Parquet for datasets (item 3) ---------------------------------------------------------------


def _offline_datasets(tmp_path: Path):
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    datasets.disable_progress_bars()
    return datasets


def test_parquet_export_loads_with_datasets(sqlite_workspace, tmp_path: Path):
    datasets = _offline_datasets(tmp_path)
    ws = sqlite_workspace
    trained_project(ws, tmp_path)
    out = tmp_path / "a.parquet"
    ws.export("a", out, format="parquet")
    ds = datasets.load_dataset(
        "parquet", data_files=str(out), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert len(ds) == 60
    stored = suggestions(ws, "a")
    for row in ds:
        if row["suggestion"] is None:
            assert row["label"] in LABELS
            continue
        _, probs, confidence = stored[row["id"]]
        got = row["suggestion"]["pred_probs"]
        assert [p["label"] for p in got] == LABELS
        assert [p["prob"] for p in got] == probs
        assert row["suggestion"]["confidence"] == confidence


def test_parquet_written_before_with_a_map_column_still_imports(sqlite_workspace, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    ws = sqlite_workspace
    ws.create_project("b", labels=LABELS, backbone="fake")
    sug = pa.struct([("value", pa.list_(pa.string())),
                     ("pred_probs", pa.map_(pa.string(), pa.float64())),
                     ("model_version", pa.string())])  # fmt: skip
    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("label", pa.string()),
                        ("suggestion", sug), ("content_hash", pa.string())])  # fmt: skip
    probs = [("sports", 0.6), ("tech", 0.3), ("politics", 0.1)]  # how pyarrow reads a map
    sug_row = {"value": ["sports"], "model_version": "3", "pred_probs": probs}
    rows = [
        {"id": "u1", "text": "a goal", "label": None, "content_hash": "x", "suggestion": sug_row}
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "old.parquet")
    ws.import_file("b", tmp_path / "old.parquet", ImportOptions(id_field="id", label_field="label"))
    assert suggestions(ws, "b") == {"u1": (["sports"], [0.6, 0.3, 0.1], 0.6)}


# -- auto-accept evidence (item 6) ---------------------------------------------------------------


def auto_accepted_project(ws, tmp_path: Path) -> tuple[float, dict[str, float]]:
    """A project with auto-accepted labels: (threshold, external id -> confidence before)."""
    trained_project(ws, tmp_path, n=240, labelled=150)
    before = {k: c for k, (_, _, c) in suggestions(ws, "a").items()}
    result = auto_accept(ws, "a", target_precision=0.85, confidence=0.9)
    assert result.n_accepted > 0
    return result.threshold, before


def test_auto_accepted_labels_keep_their_probability_and_threshold(sqlite_workspace, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    ws = sqlite_workspace
    threshold, before = auto_accepted_project(ws, tmp_path)
    with ws.transaction() as session:
        autos = list(session.scalars(select(Annotation).where(Annotation.source == "auto")))
        humans = list(session.scalars(select(Annotation).where(Annotation.source == "human")))
    assert {(a.threshold) for a in autos} == {threshold}
    assert all(a.confidence is not None and a.confidence >= threshold for a in autos)
    assert all(a.confidence is None and a.threshold is None for a in humans)

    rows = jsonl_rows(ws, "a", tmp_path)
    auto_rows = {k: r for k, r in rows.items() if (r["provenance"] or {}).get("source") == "auto"}
    assert len(auto_rows) == len(autos)
    for key, row in auto_rows.items():
        assert row["provenance"]["confidence"] == before[key]
        assert row["provenance"]["threshold"] == threshold
        assert row["history"][-1]["confidence"] == before[key]

    ws.export("a", tmp_path / "a.parquet", format="parquet")
    table = {r["id"]: r for r in pq.read_table(tmp_path / "a.parquet").to_pylist()}
    for key in auto_rows:
        assert table[key]["provenance"]["confidence"] == before[key]
        assert table[key]["provenance"]["threshold"] == threshold

    ws.export("a", tmp_path / "a.json", format="labelstudio")
    tasks = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    ls = {t["meta"]["external_id"]: t for t in tasks}
    for key in auto_rows:
        meta = ls[key]["annotations"][0]["meta"]
        assert (meta["source"], meta["confidence"], meta["threshold"]) == (
            "auto",
            before[key],
            threshold,
        )


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "labelstudio"])
def test_auto_accept_evidence_survives_export_then_import(sqlite_workspace, tmp_path, fmt):
    ws = sqlite_workspace
    auto_accepted_project(ws, tmp_path)
    out = tmp_path / f"a.{'json' if fmt == 'labelstudio' else fmt}"
    ws.export("a", out, format=fmt)
    ws.create_project("b", labels=LABELS, backbone="fake")
    options = {} if fmt == "labelstudio" else {"id_field": "id", "label_field": "label"}
    ws.import_file("b", out, ImportOptions(format=fmt, **options))
    before = labels_and_provenance(jsonl_rows(ws, "a", tmp_path))
    assert labels_and_provenance(jsonl_rows(ws, "b", tmp_path)) == before
    assert any(prov["threshold"] is not None for _, prov, _ in before.values())


# -- hf folders re-import (item 4) ---------------------------------------------------------------


@pytest.mark.parametrize("multi_label", [False, True])
def test_hf_export_reimports_labels_suggestions_and_meta(sqlite_workspace, tmp_path, multi_label):
    _offline_datasets(tmp_path)
    ws = sqlite_workspace
    trained_project(ws, tmp_path)
    if multi_label:  # the same items in a multi-label project
        ws.create_project("m", labels=LABELS, backbone="fake", multi_label=True)
        rows = [r for r in jsonl_rows(ws, "a", tmp_path).values()]
        for r in rows:
            r["label"] = None if r["label"] is None else [r["label"]]
            r["history"] = []
        src = tmp_path / "multi.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        ws.import_file("m", src, ImportOptions(id_field="id", label_field="label"))
    name = "m" if multi_label else "a"
    ws.export(name, tmp_path / "hf", format="hf")
    ws.create_project("b", labels=LABELS, backbone="fake", multi_label=multi_label)
    result = ws.import_file("b", tmp_path / "hf", ImportOptions(id_field="id"))
    assert (result.format, result.items_added) == ("hf", 60)
    before = labels_and_provenance(jsonl_rows(ws, name, tmp_path))
    assert labels_and_provenance(jsonl_rows(ws, "b", tmp_path)) == before
    assert sum(r[2] is not None for r in before.values()) == 30  # the meta came back too
    assert suggestions(ws, "b") == suggestions(ws, name)


def test_a_saved_dataset_with_a_class_label_imports(sqlite_workspace, tmp_path):
    datasets = _offline_datasets(tmp_path)
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=LABELS)}
    )
    texts = ["a goal in the match", "a new chip", "the vote in parliament"]
    train = datasets.Dataset.from_dict({"text": texts, "label": [0, 1, -1]}, features=features)
    test = datasets.Dataset.from_dict({"text": ["the coach"], "label": [0]}, features=features)
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "saved"))
    ws = sqlite_workspace
    ws.create_project("b", labels=LABELS, backbone="fake")
    result = ws.import_file("b", tmp_path / "saved", ImportOptions(annotator="hub"))
    assert (result.format, result.items_added, result.annotations_added) == ("hf", 4, 3)
    ws.export("b", tmp_path / "b.jsonl")
    rows = map(json.loads, (tmp_path / "b.jsonl").read_text(encoding="utf-8").splitlines())
    by_text = {r["text"]: (r["label"], (r["provenance"] or {}).get("annotator")) for r in rows}
    assert by_text == {
        "a goal in the match": ("sports", "hub"),
        "a new chip": ("tech", "hub"),
        "the vote in parliament": (None, None),
        "the coach": ("sports", "hub"),
    }


def test_hf_span_export_reimports(sqlite_workspace, tmp_path):
    _offline_datasets(tmp_path)
    ws = sqlite_workspace
    sentences = [
        ["Peter B-PER", "Blackburn I-PER", "flew O", "to O", "Brussels B-LOC", ". O"],
        ["Nothing O", "here O", ". O"],
        ["EU B-ORG", "rejects O", "German B-MISC", "call O"],
    ]
    src = tmp_path / "in.conll"
    src.write_text("\n\n".join("\n".join(s) for s in sentences) + "\n", encoding="utf-8")
    ws.create_project("ner", labels=["PER", "LOC", "ORG", "MISC"], task="spans")
    ws.import_file("ner", src, ImportOptions(annotator="conll"))
    ws.export("ner", tmp_path / "hf", format="hf")
    ws.create_project("back", labels=["PER", "LOC", "ORG", "MISC"], task="spans")
    result = ws.import_file("back", tmp_path / "hf")
    assert (result.format, result.items_added, result.annotations_added) == ("hf", 3, 3)

    def spans(name: str) -> dict[str, Any]:
        out = tmp_path / f"{name}.jsonl"
        ws.export(name, out, format="jsonl")
        rows = map(json.loads, out.read_text(encoding="utf-8").splitlines())
        return {r["text"]: (r["spans"], r["provenance"]["annotator"]) for r in rows}

    assert spans("back") == spans("ner")
    assert spans("back")["Nothing here ."] == ([], "conll")


# -- the label config (item 2) -------------------------------------------------------------------


@pytest.mark.parametrize("task", ["text-classification", "spans"])
def test_label_config_exports_and_parses_with_label_studio_sdk(sqlite_workspace, tmp_path, task):
    interface = pytest.importorskip("label_studio_sdk.label_interface")
    ws = sqlite_workspace
    labels = LABELS if task != "spans" else ["PER", "LOC"]
    ws.create_project("a", labels=labels, task=task, backbone="fake" if task != "spans" else None)
    result = ws.export("a", tmp_path / "config.xml")  # the format from the extension
    assert (result.format, result.rows) == ("label-studio-config", 0)
    li = interface.LabelInterface((tmp_path / "config.xml").read_text(encoding="utf-8"))
    li.validate()
    (control,) = li.controls
    assert control.labels == labels
    # the tasks of a labelstudio export fit it
    ws.import_file("a", write_csv(tmp_path / "in.csv", [{"text": "Anna met Bo"}]))
    ws.export("a", tmp_path / "a.json")
    (task_json,) = json.loads((tmp_path / "a.json").read_text(encoding="utf-8"))
    assert all(obj.value_name in task_json["data"] for obj in li.objects)


def test_an_items_history_shows_what_admitted_its_auto_label(sqlite_workspace, tmp_path):
    from labelloop.services.annotation.browse import item_history

    ws = sqlite_workspace
    threshold, before = auto_accepted_project(ws, tmp_path)
    with ws.transaction() as session:
        auto = session.scalars(select(Annotation).where(Annotation.source == "auto")).first()
        external_id = session.get(Item, auto.item_id).external_id
    (event,) = [e for e in item_history(ws, "a", auto.item_id).events if e.kind == "answer"]
    assert (event.source, event.confidence, event.threshold) == (
        "auto",
        before[external_id],
        threshold,
    )
