"""Span formats (issue 20), each read back by its real consumer: CoNLL IOB2 by spaCy's converter
and seqeval, ``.spacy`` by spaCy's ``DocBin`` and trainer corpus, Label Studio ``<Labels>`` JSON
by label-studio-sdk (its config interface and its own CoNLL converter), ``ner_tags`` by
``datasets``; JSONL with character offsets round-trips; bad input names its line and span."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from formats_factories import (
    NER_LABELS,
    conll2003_sentences,
    make_export_record,
    make_schema,
    make_span_record,
    make_span_schema,
    write_conll,
    write_jsonl,
)

from labelloop.errors import InvalidInput
from labelloop.services.data.formats import (
    SPAN_EXPORT_FORMATS,
    ExportRecord,
    ImportRecord,
    detect_format,
    export_format_for,
    label_studio_config,
    read_records,
    write_records,
)
from labelloop.services.data.importing import ImportOptions
from labelloop.tasks import task_for
from labelloop.tasks.spans import bio_tags, to_bio, token_offsets, token_spans

SCHEMA = make_span_schema()
TASK = task_for(SCHEMA)
EXTENSION = {
    "jsonl": ".jsonl",
    "hf": "",
    "labelstudio": ".json",
    "conll": ".conll",
    "spacy": ".spacy",
}


def _as_export(records: Iterable[ImportRecord]) -> list[ExportRecord]:
    """What the export service would hand the writers after importing ``records``."""
    out = []
    for item_id, rec in enumerate(records, start=1):
        label = None
        if rec.annotations:
            value = list(rec.annotations[-1].value)
            label = tuple(TASK.check_answer(SCHEMA, value, data=rec.data))
        prov = None if label is None else {"source": "human", "annotator": "conll"}
        out.append(
            ExportRecord(
                external_id=rec.external_id,
                item_id=item_id,
                data=rec.data,
                content_hash=hashlib.sha256(rec.data["text"].encode()).hexdigest(),
                label=label,
                provenance=prov,
            )
        )
    return out


def _entities(data: dict[str, Any], spans: Iterable[Any]) -> list[tuple[str, str]]:
    return [(data["text"][s["start"] : s["end"]], s["label"]) for s in spans]


def _tags(sentence: list[str]) -> list[str]:
    return [line.split()[-1] for line in sentence]


# -- CoNLL ---------------------------------------------------------------------------------------


def test_conll_sentences_become_tokens_text_and_spans(tmp_path: Path) -> None:
    path = write_conll(
        tmp_path / "a.conll",
        [
            [
                "EU\tNNP\tB-NP\tB-ORG",
                "rejects\tVBZ\tB-VP\tO",
                "German\tJJ\tB-NP\tB-MISC",
                "call NN I-NP O",
            ],
            ["Peter NNP B-NP B-PER", "Blackburn NNP I-NP I-PER"],
        ],
    )
    assert detect_format(path) == "conll"
    first, second = read_records(path, schema=SCHEMA, annotator="conll")
    assert first.data == {
        "text": "EU rejects German call",
        "tokens": ["EU", "rejects", "German", "call"],
    }
    assert first.line == 3  # after the -DOCSTART- line and the blank line
    assert _entities(first.data, first.annotations[0].value) == [("EU", "ORG"), ("German", "MISC")]
    assert first.annotations[0].annotator == "conll"
    assert second.line == 8
    assert _entities(second.data, second.annotations[0].value) == [("Peter Blackburn", "PER")]


def test_iob1_tags_are_read_and_written_back_as_iob2(tmp_path: Path) -> None:
    # IOB1: an entity starts with I-; B- only parts two adjacent entities of one type
    lines = ["Alex I-PER", "Smith I-PER", "Bob B-PER", "and O", "Paris I-LOC"]
    (rec,) = read_records(write_conll(tmp_path / "iob1.conll", [lines]), schema=SCHEMA)
    assert _entities(rec.data, rec.annotations[0].value) == [
        ("Alex Smith", "PER"),
        ("Bob", "PER"),
        ("Paris", "LOC"),
    ]
    out = tmp_path / "iob2.conll"
    assert write_records(_as_export([rec]), out, format="conll", schema=SCHEMA) == 1
    assert out.read_text(encoding="utf-8").split("\n") == [
        "Alex B-PER",
        "Smith I-PER",
        "Bob B-PER",
        "and O",
        "Paris B-LOC",
        "",
        "",
    ]


def test_a_conll_file_of_tokens_only_imports_unlabelled_sentences(tmp_path: Path) -> None:
    path = write_conll(tmp_path / "raw.conll", [["Peter", "Blackburn"], ["Brussels"]])
    records = list(read_records(path, schema=SCHEMA))
    assert [r.data["text"] for r in records] == ["Peter Blackburn", "Brussels"]
    assert all(r.annotations == () for r in records)


@pytest.mark.parametrize(
    ("lines", "bad_line", "message"),
    [
        (["Peter B-PER", "Smith X-PER"], 1, r"tag 'X-PER' is not O, B-<label> or I-<label>"),
        (["Peter B-PER", "Smith I-"], 1, r"tag 'I-' is not O"),
        (
            ["Peter B-PER", "today B-DATE"],
            1,
            r"tag 'B-DATE': unknown label 'DATE'; the project's labels are PER, LOC, ORG, MISC",
        ),
        (["Peter B-PER", "Smith"], 1, "every token line needs its tag in the last column"),
    ],
)
def test_bad_conll_lines_are_refused_naming_the_line(
    tmp_path: Path, lines: list[str], bad_line: int, message: str
) -> None:
    path = write_conll(tmp_path / "bad.conll", [["EU B-ORG"], lines], docstart=False)
    with pytest.raises(InvalidInput, match=message) as info:
        list(read_records(path, schema=SCHEMA))
    # the second sentence starts on line 3 (the first sentence, then a blank line)
    assert (info.value.file, info.value.line) == (str(path), 3 + bad_line)


def test_conll_files_that_are_not_conll_or_not_for_this_project_are_refused(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.conll"
    empty.write_text("-DOCSTART- -X- -X- O\n\n\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="file holds no sentences"):
        list(read_records(empty, schema=SCHEMA))
    latin1 = tmp_path / "latin1.conll"
    latin1.write_bytes("EU B-ORG\nK\xf6ln B-LOC\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="not valid UTF-8") as info:
        list(read_records(latin1, schema=SCHEMA))
    assert info.value.line == 2
    good = write_conll(tmp_path / "good.conll", [["EU B-ORG"]])
    with pytest.raises(InvalidInput, match="import CoNLL files into a spans project"):
        list(read_records(good, schema=make_schema(["a", "b"])))


def test_conll2003_sample_round_trips_and_reads_back_in_spacy_and_seqeval(tmp_path: Path) -> None:
    from seqeval.metrics import classification_report
    from seqeval.metrics.sequence_labeling import get_entities
    from spacy.training.converters import conll_ner_to_docs

    sentences = conll2003_sentences("test", 50)
    records = list(read_records(write_conll(tmp_path / "test50.conll", sentences), schema=SCHEMA))
    assert len(records) == 50
    out = tmp_path / "out.conll"
    assert export_format_for(out) == "conll"
    assert write_records(_as_export(records), out, format="conll", schema=SCHEMA) == 50
    written = [s.split("\n") for s in out.read_text(encoding="utf-8").strip("\n").split("\n\n")]
    # the shared copy is IOB2 with one "token TAG" per line: the export gives back its lines
    assert written == sentences

    # seqeval finds, sentence by sentence, the spans labelloop holds
    for rec, lines in zip(records, written, strict=True):
        offsets = token_offsets(rec.data)
        ours = [(label, s, e - 1) for s, e, label in token_spans(offsets, rec.annotations[0].value)]
        assert get_entities(_tags(lines)) == ours
    gold = [_tags(s) for s in sentences]
    report = classification_report(gold, [_tags(s) for s in written], output_dict=True)
    counts = Counter(span["label"] for rec in records for span in rec.annotations[0].value)
    assert {label: int(report[label]["support"]) for label in counts} == dict(counts)
    assert report["micro avg"]["f1-score"] == 1.0

    # spaCy's own CoNLL converter (`spacy convert`) reads the same entities, one doc a sentence
    docs = list(conll_ner_to_docs(out.read_text(encoding="utf-8"), n_sents=1, no_print=True))
    assert len(docs) == 50
    for rec, doc in zip(records, docs, strict=True):
        assert [t.text for t in doc] == rec.data["tokens"]
        assert [(e.text, e.label_) for e in doc.ents] == _entities(
            rec.data, rec.annotations[0].value
        )


def test_iob2_cannot_hold_overlapping_spans(tmp_path: Path) -> None:
    schema = make_span_schema(allow_overlap=True)
    rec = make_span_record(1)
    overlapping = (*(rec.label or ()), {"start": 6, "end": 15, "label": "ORG"})
    bad = ExportRecord(None, 1, rec.data, rec.content_hash, overlapping, rec.provenance)
    for fmt in ("conll", "hf", "spacy"):
        with pytest.raises(InvalidInput, match="item 1: overlapping spans"):
            write_records([bad], tmp_path / f"o{EXTENSION[fmt]}", format=fmt, schema=schema)
    assert write_records([bad], tmp_path / "o.jsonl", format="jsonl", schema=schema) == 1


# -- spaCy DocBin --------------------------------------------------------------------------------


def _irregular_record() -> ExportRecord:
    """Text without corpus tokens and with irregular whitespace: spaCy's tokenizer splits it."""
    text = "  Anna  lives in\nBerlin. "
    spans = ({"start": 2, "end": 6, "label": "PER"}, {"start": 17, "end": 23, "label": "LOC"})
    prov = {"source": "human", "annotator": "bob", "seconds": 2.0, "created_at": None}
    return ExportRecord("x9", 9, {"text": text}, "h9", spans, {**prov, "model_version": None})


def test_docbin_export_loads_in_spacy_and_its_trainer_corpus(tmp_path: Path) -> None:
    import spacy
    from spacy.tokens import DocBin
    from spacy.training import Corpus

    records = [
        make_span_record(1),
        make_span_record(2, tokens=("Nothing", "here", "."), tags=("O", "O", "O")),
        make_span_record(3, tags=None),
        _irregular_record(),
    ]
    out = tmp_path / "ner.spacy"
    assert export_format_for(out) == "spacy"
    assert write_records(records, out, format="spacy", schema=SCHEMA) == 4
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(out).get_docs(nlp.vocab))
    assert [d.text for d in docs] == [r.data["text"] for r in records]  # exactly, whitespace too
    assert [(e.text, e.label_) for e in docs[0].ents] == [
        ("Peter Blackburn", "PER"),
        ("Brussels", "LOC"),
    ]
    assert docs[0].user_data["labelloop"]["id"] == "s1"
    assert docs[1].ents == () and docs[1].has_annotation("ENT_IOB")  # labelled: no entity
    assert not docs[2].has_annotation("ENT_IOB")  # unlabelled
    assert [(e.text, e.label_) for e in docs[3].ents] == [("Anna", "PER"), ("Berlin", "LOC")]
    examples = list(Corpus(str(out))(nlp))
    assert [(e.text, e.label_) for e in examples[0].reference.ents] == [
        ("Peter Blackburn", "PER"),
        ("Brussels", "LOC"),
    ]

    back = list(read_records(out, schema=SCHEMA))
    assert [r.external_id for r in back] == ["s1", "s2", "s3", "x9"]
    assert [r.data["text"] for r in back] == [r.data["text"] for r in records]
    for before, after in zip(records, back, strict=True):
        assert token_offsets(after.data) == token_offsets(before.data)
        if before.label is None:
            assert after.annotations == ()
        else:
            assert list(after.annotations[0].value) == list(before.label)
    assert back[3].annotations[0].annotator == "bob"
    assert back[3].annotations[0].seconds == 2.0


def test_a_file_that_is_not_a_docbin_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.spacy"
    path.write_bytes(b"not a docbin at all")
    with pytest.raises(InvalidInput, match="not a readable spaCy DocBin file") as info:
        list(read_records(path, schema=SCHEMA))
    assert info.value.file == str(path)


# -- JSONL ---------------------------------------------------------------------------------------


def test_jsonl_spans_round_trip_with_provenance_and_suggestion(tmp_path: Path) -> None:
    records = [
        make_span_record(1, suggestion=[(0, 2, "PER", 0.9), (4, 5, "LOC", 0.6)]),
        make_span_record(2, tags=None),
    ]
    out = tmp_path / "ner.jsonl"
    assert write_records(records, out, format="jsonl", schema=SCHEMA) == 2
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    peter = {"start": 0, "end": 15, "label": "PER"}
    brussels = {"start": 24, "end": 32, "label": "LOC"}
    assert rows[0]["spans"] == [peter, brussels]
    assert rows[0]["tokens"] == ["Peter", "Blackburn", "flew", "to", "Brussels", "."]
    assert rows[0]["suggestion"] == {
        "value": [{**peter, "score": 0.9}, {**brussels, "score": 0.6}],
        "confidence": 0.7,
        "model_version": 3,
    }
    assert rows[0]["history"][0]["value"] == [peter, brussels]
    assert rows[1]["spans"] is None and rows[1]["provenance"] is None

    back = list(read_records(out, id_field="id", label_field="spans", schema=SCHEMA))
    assert back[0].external_id == "s1"
    assert back[0].data["tokens"] == rows[0]["tokens"]
    (annotation,) = back[0].annotations
    assert list(annotation.value) == [peter, brussels]
    assert (annotation.annotator, annotation.source, annotation.seconds) == ("alice", "human", 4.0)
    (prediction,) = back[0].predictions
    assert (prediction.score, prediction.scores, prediction.model_version) == (0.7, (0.9, 0.6), "3")
    assert back[1].annotations == ()


def test_jsonl_span_values_are_shape_checked_naming_the_line(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            {"text": "Peter Blackburn", "spans": []},
            {"text": "Anna in Berlin", "spans": {"start": 0, "end": 4, "label": "PER"}},
        ],
    )
    with pytest.raises(InvalidInput, match="spans must be a list") as info:
        list(read_records(path, label_field="spans", schema=SCHEMA))
    assert (info.value.line, info.value.field) == (2, "spans")
    tokens = write_jsonl(
        tmp_path / "t.jsonl", [{"text": "Anna in Berlin", "tokens": ["Anna", "on"]}]
    )
    with pytest.raises(InvalidInput, match=r"token 1 \('on'\) is not in the item's text") as info:
        list(read_records(tokens, schema=SCHEMA))
    assert (info.value.line, info.value.field) == (1, "tokens")


# -- Label Studio --------------------------------------------------------------------------------


def test_label_studio_span_export_validates_with_label_studio_sdk(tmp_path: Path) -> None:
    interface_mod = pytest.importorskip("label_studio_sdk.label_interface")
    from label_studio_sdk.types.annotation_request import AnnotationRequest
    from label_studio_sdk.types.prediction_request import PredictionRequest

    records = [
        make_span_record(1, annotator="ann@example.org", suggestion=[(0, 2, "PER", 0.9)]),
        make_span_record(2, tags=None),
    ]
    out = tmp_path / "ls.json"
    write_records(records, out, format="labelstudio", schema=SCHEMA)
    tasks = json.loads(out.read_text(encoding="utf-8"))
    li = interface_mod.LabelInterface(label_studio_config(SCHEMA))
    li.validate()
    assert [c.tag for c in li.controls] == ["Labels"]
    for task in tasks:
        assert all(task["data"].get(obj.value_name) for obj in li.objects)
    ann = tasks[0]["annotations"][0]
    assert li.validate_annotation(ann)
    assert [r["value"]["text"] for r in ann["result"]] == ["Peter Blackburn", "Brussels"]
    for region in ann["result"]:
        v = region["value"]
        assert tasks[0]["data"]["text"][v["start"] : v["end"]] == v["text"]
    prediction = tasks[0]["predictions"][0]
    assert li.validate_prediction(prediction, return_errors=True) == []
    assert (prediction["score"], prediction["result"][0]["score"]) == (0.7, 0.9)
    AnnotationRequest.model_validate({k: v for k, v in ann.items() if k != "completed_by"})
    PredictionRequest.model_validate({**prediction, "task": 1})
    bad = json.loads(json.dumps(ann))
    bad["result"][0]["value"]["labels"] = ["DATE"]  # not a label of the config
    assert not li.validate_annotation(bad)
    assert tasks[1]["annotations"] == [] and tasks[1]["predictions"] == []


def test_label_studios_own_converter_reads_the_same_entities(tmp_path: Path) -> None:
    converter_mod = pytest.importorskip("label_studio_sdk.converter")
    sentences = conll2003_sentences("test", 50)
    records = list(read_records(write_conll(tmp_path / "in.conll", sentences), schema=SCHEMA))
    out = tmp_path / "ls.json"
    write_records(_as_export(records), out, format="labelstudio", schema=SCHEMA)
    # Label Studio numbers the tasks it imports; its converter reads its own exports
    tasks = json.loads(out.read_text(encoding="utf-8"))
    numbered = tmp_path / "ls-export.json"
    numbered.write_text(json.dumps([{**t, "id": i} for i, t in enumerate(tasks, 1)]), "utf-8")
    converter = converter_mod.Converter(
        label_studio_config(SCHEMA), project_dir=None, download_resources=False
    )
    converter.convert_to_conll2003(str(numbered), str(tmp_path / "ls"), is_dir=False)
    theirs = list(read_records(tmp_path / "ls" / "result.conll", format="conll", schema=SCHEMA))
    assert len(theirs) == 50

    def words(rec: ImportRecord) -> list[tuple[str, str]]:  # its tokenizer is not CoNLL's
        return [
            (w.replace(" ", ""), lab) for w, lab in _entities(rec.data, rec.annotations[0].value)
        ]

    assert [words(r) for r in theirs] == [words(r) for r in records]


def test_label_studio_span_tasks_are_read(tmp_path: Path) -> None:
    text = "Anna met Peter Blackburn in Berlin."

    def region(start: int, end: int, label: str, **extra: Any) -> dict[str, Any]:
        value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
        return {"from_name": "label", "to_name": "text", "type": "labels", "value": value, **extra}

    tasks = [
        {
            "id": 1,
            "data": {"text": text},
            "annotations": [
                {"completed_by": {"email": "a@x.org"}, "result": [region(0, 4, "PER")]}
            ],
            "predictions": [
                {
                    "model_version": "ner-v1",
                    "result": [region(28, 34, "LOC", score=0.8), region(9, 24, "PER", score=0.6)],
                }
            ],
        },
        {"id": 2, "data": {"text": "Nothing here."}, "annotations": [{"result": []}]},
    ]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    first, second = read_records(path, schema=SCHEMA)
    assert _entities(first.data, first.annotations[0].value) == [("Anna", "PER")]
    assert first.annotations[0].annotator == "a@x.org"
    (prediction,) = first.predictions
    assert _entities(first.data, prediction.value) == [
        ("Berlin", "LOC"),
        ("Peter Blackburn", "PER"),
    ]
    assert (prediction.scores, prediction.score, prediction.model_version) == (
        (0.8, 0.6),
        None,
        "ner-v1",
    )
    # a submitted annotation without regions says: no entity in this sentence
    assert second.annotations[0].value == ()


# -- Hugging Face datasets -----------------------------------------------------------------------


def test_hf_export_has_tokens_and_a_classlabel_sequence_of_ner_tags(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    records = [make_span_record(1), make_span_record(2, tags=None), _irregular_record()]
    out = tmp_path / "hf"
    assert write_records(records, out, format="hf", schema=SCHEMA) == 3
    ds = datasets.load_from_disk(str(out))
    tags = ds.features["ner_tags"].feature
    assert isinstance(tags, datasets.ClassLabel)
    assert (
        tags.names
        == bio_tags(SCHEMA)
        == ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]
    )
    assert ds.features["tokens"].feature == datasets.Value("string")
    assert "label" not in ds.column_names
    assert ds[0]["tokens"] == ["Peter", "Blackburn", "flew", "to", "Brussels", "."]
    assert tags.int2str(ds[0]["ner_tags"]) == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    assert (ds[1]["ner_tags"], ds[1]["source"]) == ([], None)  # unlabelled
    assert ds[2]["tokens"] == ["Anna", "lives", "in", "Berlin", "."]
    assert tags.int2str(ds[2]["ner_tags"]) == ["B-PER", "O", "O", "B-LOC", "O"]
    assert ds["annotator"] == ["alice", None, "bob"]


# -- what does not fit ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_formats_without_spans_refuse_a_spans_project(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(InvalidInput, match=f"does not write spans as {fmt}; export a spans"):
        write_records([make_span_record(1)], tmp_path / f"o.{fmt}", format=fmt, schema=SCHEMA)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", ["conll", "spacy"])
def test_span_formats_refuse_a_classification_project(tmp_path: Path, fmt: str) -> None:
    schema = make_schema(["World", "Sports"])
    with pytest.raises(InvalidInput, match=f"the {fmt} format holds spans"):
        write_records([make_export_record(1)], tmp_path / f"o.{fmt}", format=fmt, schema=schema)


@pytest.mark.parametrize("fmt", SPAN_EXPORT_FORMATS)
def test_failed_span_export_leaves_nothing_and_keeps_the_old_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"out{EXTENSION[fmt]}"
    write_records([make_span_record(i) for i in range(3)], out, format=fmt, schema=SCHEMA)
    before = sorted((p.name, p.stat().st_size) for p in tmp_path.rglob("*"))
    bad = make_span_record(11, tags=("B-PER", "I-PER", "O", "O", "B-DATE", "O"))
    with pytest.raises(InvalidInput, match=r"item 11: span 1 .*unknown label 'DATE'"):
        write_records([make_span_record(10), bad], out, format=fmt, schema=SCHEMA)
    assert sorted((p.name, p.stat().st_size) for p in tmp_path.rglob("*")) == before


# -- through the Workspace -----------------------------------------------------------------------


def _spans_by_text(path: Path) -> dict[str, list[dict[str, Any]]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return {row["text"]: row["spans"] for row in rows}


@pytest.fixture
def ner(workspace):
    workspace.create_project("ner", labels=list(NER_LABELS), task="spans")
    return workspace


def test_a_conll_corpus_goes_out_and_back_in_every_span_format(ner, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    sentences = conll2003_sentences("test", 50)
    src = write_conll(tmp_path / "test50.conll", sentences)
    conll = ImportOptions(annotator="conll")
    result = ner.import_file("ner", src, conll)
    n = result.items_added
    assert (result.rows, n + result.duplicates, result.annotations_added) == (50, 50, n)
    assert ner.status("ner").labelled == n
    ner.export("ner", tmp_path / "ner.jsonl")
    expected = _spans_by_text(tmp_path / "ner.jsonl")
    assert len(expected) == n
    by_text = {" ".join(line.split()[0] for line in s): _tags(s) for s in sentences}
    for text, spans in expected.items():  # the stored spans are the corpus's tags
        data = {"text": text, "tokens": text.split(" ")}
        assert to_bio(token_offsets(data), spans) == by_text[text]

    reimport = {
        "jsonl": ImportOptions(label_field="spans"),
        "conll": conll,
        "spacy": ImportOptions(),
        "labelstudio": ImportOptions(),
    }
    for fmt, options in reimport.items():
        out = tmp_path / f"ner{EXTENSION[fmt]}"
        exported = ner.export("ner", out)  # the format from the extension
        assert (exported.format, exported.rows) == (fmt, n)
        ner.create_project(f"back-{fmt}", labels=list(NER_LABELS), task="spans")
        back = ner.import_file(f"back-{fmt}", out, options)
        assert (back.items_added, back.annotations_added) == (n, n), fmt
        ner.export(f"back-{fmt}", tmp_path / f"back-{fmt}.jsonl")
        assert _spans_by_text(tmp_path / f"back-{fmt}.jsonl") == expected, fmt

    hf = ner.export("ner", tmp_path / "hf", format="hf")
    assert hf.rows == n
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    names = ds.features["ner_tags"].feature.names
    for row in ds:
        assert [names[i] for i in row["ner_tags"]] == by_text[row["text"]]

    # the same corpus again, with the same annotator: nothing new
    again = ner.import_file("ner", tmp_path / "ner.conll", conll)
    assert (again.items_added, again.annotations_added) == (0, 0)


BAD_SPANS = [
    (
        [{"start": 14, "end": 99, "label": "LOC"}],
        r"span 1 \(14-99\) is out of range of a text of 21",
    ),
    ([{"start": 14, "end": 20, "label": "DATE"}], r"span 1 \(14-20\): unknown label 'DATE'"),
    ([{"start": 0, "end": 10, "label": "LOC"}], r"spans 0-4 'PER' and 0-10 'LOC' overlap"),
    ([{"start": 4, "end": 5, "label": "LOC"}], r"span 1 \(4-5\) covers no token"),
    ([[14, "x", "LOC"]], "span 1: start and end must be integers"),
]


@pytest.mark.parametrize(("extra", "message"), BAD_SPANS)
def test_bad_spans_are_refused_naming_row_and_span_and_nothing_is_written(
    ner, tmp_path: Path, extra: list[Any], message: str
) -> None:
    rows = [
        {"text": "Peter Blackburn flew to Brussels.", "spans": [[0, 15, "PER"]]},
        {
            "text": "Anna lives in Berlin.",
            "spans": [{"start": 0, "end": 4, "label": "PER"}, *extra],
        },
    ]
    path = write_jsonl(tmp_path / "bad.jsonl", rows)
    with pytest.raises(InvalidInput, match=message) as info:
        ner.import_file("ner", path, ImportOptions(label_field="spans"))
    assert (info.value.file, info.value.line, info.value.field) == (str(path), 2, "spans")
    assert ner.status("ner").items == 0


def test_imported_spans_are_snapped_to_tokens_and_predictions_keep_their_scores(
    ner, tmp_path: Path
) -> None:
    rows = [{"id": "a", "text": "Anna lives in Berlin.", "spans": [[1, 3, "PER"]]}]  # in "Anna"
    options = ImportOptions(id_field="id", label_field="spans")
    ner.import_file("ner", write_jsonl(tmp_path / "a.jsonl", rows), options)
    text = "Anna met Peter Blackburn in Berlin."

    def region(start: int, end: int, label: str, score: float) -> dict[str, Any]:
        value = {"start": start, "end": end, "text": text[start:end], "labels": [label]}
        return {"from_name": "label", "to_name": "text", "type": "labels", "value": value,
                "score": score}  # fmt: skip

    # Berlin first, then "eter Blackburn": both move (sorted, snapped) and keep their scores
    result = [region(28, 34, "LOC", 0.8), region(10, 24, "PER", 0.6)]
    task = {"data": {"text": text}, "predictions": [{"model_version": "v1", "result": result}]}
    path = tmp_path / "ls.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    assert ner.import_file("ner", path).suggestions_added == 1
    ner.export("ner", tmp_path / "out.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert exported[0]["spans"] == [{"start": 0, "end": 4, "label": "PER"}]
    suggestion = exported[1]["suggestion"]
    assert suggestion["value"] == [
        {"start": 9, "end": 24, "label": "PER", "score": 0.6},
        {"start": 28, "end": 34, "label": "LOC", "score": 0.8},
    ]
    assert suggestion["confidence"] == pytest.approx(0.48)  # both right, taken as independent
