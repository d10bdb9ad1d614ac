"""The loop for a span project through the Workspace API: the pre-trained recogniser suggests
before any label, people correct, retraining chooses a model by cross-validation, and
auto-accept certifies whole sentences. Real spaCy, tiny data, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories import write_jsonl
from labelloop.errors import InvalidInput

pytest.importorskip("spacy")
pytestmark = pytest.mark.real_model

NAMES = ["Anna Schmidt", "Peter Blackburn", "Maria Lopez", "John Smith", "Wei Chen"]
CITIES = ["Paris", "Berlin", "Madrid", "London", "Tokyo"]


def _sentences(n: int) -> list[dict[str, object]]:
    rows = []
    for i in range(n):
        name, city = NAMES[i % len(NAMES)], CITIES[(i // len(NAMES)) % len(CITIES)]
        text = f"{name} flew to {city} on day {i} ."
        spans = [
            {"start": 0, "end": len(name), "label": "PER"},
            {"start": len(name) + 9, "end": len(name) + 9 + len(city), "label": "LOC"},
        ]
        rows.append({"text": text, "gold": spans})
    return rows


@pytest.fixture
def project(workspace, tmp_path: Path, monkeypatch):
    from labelloop.learn.spans import Candidate, SpacySpanModel, SpanArgs
    from labelloop.services.models import spans

    def quick(schema, *, seed=0):  # the spaCy candidates only, few epochs: the loop is the point
        base = SpacySpanModel.pretrained(schema.labels, dict(schema.type_map),
                                         args=SpanArgs(epochs=2, seed=seed))  # fmt: skip
        return [
            Candidate("spacy-pretrained", lambda s, g: base),
            Candidate("spacy-finetuned", lambda s, g: base.fit(s, g)),
        ]

    monkeypatch.setattr(spans, "candidates", quick)
    rows = _sentences(30)
    workspace.create_project("ner", labels=["PER", "LOC", "ORG", "MISC"], task="spans")
    workspace.import_file(
        "ner", write_jsonl(tmp_path / "s.jsonl", [{"text": r["text"]} for r in rows])
    )
    return workspace, rows


def _by_text(ws, rows):
    items = ws.next_items("ner", n=len(rows), annotator=None)
    gold = {r["text"]: r["gold"] for r in rows}
    return items, gold


def test_candidates_are_the_pretrained_the_resumed_and_the_transformer():
    from labelloop.schema import LabelSchema
    from labelloop.services.models.spans import candidates

    schema = LabelSchema(task="spans", labels=("PER", "LOC"))
    assert [c.name for c in candidates(schema)] == [
        "spacy-pretrained",
        "spacy-finetuned",
        "minilm-tokens",
    ]


def test_pretrained_suggestions_before_any_label_then_corrections_retrain(project):
    ws, rows = project
    first = ws.train("ner")
    assert first.kind == "pretrained" and first.promoted and first.n_labels == 0
    ws.predict("ner")
    items, gold = _by_text(ws, rows)
    suggested = [i for i in items if i.suggestion is not None and i.suggestion.value]
    assert len(suggested) >= len(rows) // 2  # names and cities are what en_core_web_sm knows
    for item in suggested:
        for span in item.suggestion.value:
            assert span["label"] in {"PER", "LOC", "ORG", "MISC"}
            key = f"{span['start']}:{span['end']}:{span['label']}"
            assert 0.0 <= item.suggestion.pred_probs[key] <= 1.0  # the span's own marginal
            assert (
                item.data["text"][span["start"] : span["end"]].strip()
                == item.data["text"][span["start"] : span["end"]]
            )
        assert 0.0 < item.suggestion.confidence <= 1.0
    for item in items[:12]:
        result = ws.submit("ner", item.item_id, gold[item.data["text"]], annotator="ann")
        assert result.value == gold[item.data["text"]]
    second = ws.train("ner")
    assert second.n_labels == 12
    models = ws.models("ner")
    assert models[-1].metrics["candidate"] in {"spacy-pretrained", "spacy-finetuned"}
    assert set(models[-1].metrics["candidates"]) == {"spacy-pretrained", "spacy-finetuned"}


def test_a_bad_span_is_refused_naming_it_and_writes_nothing(project):
    ws, _ = project
    item = ws.next_items("ner", n=1, annotator=None)[0]
    text = item.data["text"]
    with pytest.raises(InvalidInput, match=r"span 1"):
        ws.submit("ner", item.item_id, [{"start": 0, "end": 4, "label": "PER"},
                                   {"start": 0, "end": len(text) + 5, "label": "LOC"}],
                  annotator="ann")  # fmt: skip
    with pytest.raises(InvalidInput, match="label"):
        ws.submit("ner", item.item_id, [{"start": 0, "end": 4, "label": "DRUG"}], annotator="ann")
    assert ws.status("ner").labelled == 0


def test_auto_accept_certifies_whole_sentences_from_held_out_evidence(project):
    from labelloop.services.models import spans

    ws, rows = project
    ws.train("ner")
    ws.predict("ner")
    items, gold = _by_text(ws, rows)
    for item in items[:20]:
        ws.submit("ner", item.item_id, gold[item.data["text"]], annotator="ann")
    confidences, correct, version, _ = spans.auto_accept_evidence(ws, "ner")
    assert len(confidences) == 20 and version == 1  # the pre-trained champion trained on none
    assert correct.dtype == bool
    # 20 sentences cannot certify 0.95 at 95% confidence: refused, nothing written
    from labelloop.services.quality.autoaccept import AutoAcceptRefused

    with pytest.raises(AutoAcceptRefused):
        ws.auto_accept("ner", target_precision=0.95, min_evidence=10)
    assert ws.status("ner").labelled == 20
