"""Quality of span projects: agreement and gold as span F1, label issues over tokens.

A spans answer holds several labelled spans, so the one-label-per-item measures (kappa, alpha,
label accuracy) do not apply. Instead:

- **agreement**: pairwise span F1 between annotators, exact and partial (overlapping, same label),
  overall and per label, averaged over annotator pairs (:func:`labelloop.quality.span_agreement`);
- **gold**: each annotator's span F1 against the gold spans and exact-sentence accuracy (a
  sentence is right only when its span set is exactly the gold one), and the champion's;
- **label issues**: out-of-fold per-token class probabilities of the champion's recipe (kept
  with the model by its training when it was trained on exactly the current answers, else
  cross-validated on the project's labelled sentences) go to cleanlab's token-classification
  module (:func:`labelloop.quality.find_span_label_issues`); sentences holding a doubtful token
  become label-issue candidates, which :mod:`labelloop.services.quality.issues` caches and turns
  into review flags as for classification.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.services.projects import label_schema, project_settings
from labelloop.services.quality.results import (
    AgreementSummary,
    ClassErrors,
    GoldSummary,
    LabelIssues,
    LabelIssueView,
    PairKappa,
    SpanLabelAgreement,
    SpanLabelGold,
    TokenIssueView,
    shared_ratings,
)
from labelloop.store import repo, utcnow
from labelloop.store.queries import quality as queries
from labelloop.tasks import AnswerShape, task_for
from labelloop.tasks.spans import char_spans, token_offsets, token_spans

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.learn.spans import Sentence
    from labelloop.quality import SpanF1
    from labelloop.schema import LabelSchema
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "MIN_SENTENCES",
    "OUTSIDE",
    "agreement_summary",
    "detect_label_issues",
    "gold_summary",
    "is_spans",
    "span_tuples",
]

logger = logging.getLogger(__name__)

#: The token class "outside any span" (class 0 of the per-token probabilities).
OUTSIDE = "O"
#: Fewer labelled sentences than this: no label-issue detection (folds of one or two sentences).
MIN_SENTENCES = 6
_FOLDS = 3

#: (item id, annotator, answer value) as the QA report reads them.
Rating = tuple[int, str, Sequence[Any]]


def is_spans(schema: LabelSchema) -> bool:
    """Whether the project's answers are spans."""
    return task_for(schema).tags.answer is AnswerShape.SPANS


def span_tuples(value: Sequence[Any]) -> list[tuple[int, int, str]]:
    """A stored spans answer (``{"start", "end", "label"}`` dicts) as ``(start, end, label)``."""
    out = []
    for span in value:
        if isinstance(span, Mapping):
            out.append((int(span["start"]), int(span["end"]), str(span["label"])))
        else:
            start, end, label = span
            out.append((int(start), int(end), str(label)))
    return out


# -- agreement ---------------------------------------------------------------------------------
def agreement_summary(rows: Sequence[Rating], labels: Sequence[str]) -> AgreementSummary:
    """Pairwise span F1 over items that two or more annotators answered."""
    from labelloop.quality import span_agreement

    shared = shared_ratings(rows)
    if not shared:
        return AgreementSummary(
            kind="spans",
            n_items=0,
            n_annotators=0,
            notes=["no item has answers from two annotators yet: raise `overlap` above 1"],
        )
    report = span_agreement([(i, a, span_tuples(v)) for i, a, v in shared])
    per_label = {
        label: SpanLabelAgreement(
            exact_f1=round(x.exact_f1, 4),
            partial_f1=round(x.partial_f1, 4),
            n_pairs=x.n_pairs,
            n_spans=x.n_spans,
        )
        for label, x in report.per_label.items()
    }
    return AgreementSummary(
        kind="spans",
        n_items=report.n_items,
        n_annotators=report.n_annotators,
        percent_agreement=round(report.sentence_agreement, 4),
        per_class={
            label: per_label[label].exact_f1 if label in per_label else None for label in labels
        },
        pairs=[
            PairKappa(
                annotator_a=str(p.annotator_a),
                annotator_b=str(p.annotator_b),
                n_items=p.n_items,
                kappa=None,
                percent_agreement=round(p.sentence_agreement, 4),
                exact_f1=round(p.exact_f1, 4),
                partial_f1=round(p.partial_f1, 4),
            )
            for p in report.pairs
        ],
        n_disagreements=report.n_disagreements,
        exact_f1=round(report.exact_f1, 4),
        partial_f1=round(report.partial_f1, 4),
        per_label_f1=per_label,
    )


# -- gold --------------------------------------------------------------------------------------
def gold_summary(
    session: Session, project_id: int, rows: Sequence[Rating], base: GoldSummary
) -> GoldSummary:
    """``base`` (exact-sentence accuracy per annotator, from the classification code, which
    compares whole answers) with span F1 against the gold spans added: per annotator, per label,
    pooled over every gold answer, and for the champion's suggestions on gold items."""
    from labelloop.quality import gold_span_scores, span_f1

    gold = {i: span_tuples(v) for i, v in queries.gold_items(session, project_id).items()}
    on_gold = [(a, i, span_tuples(v)) for i, a, v in rows if i in gold]
    scores = gold_span_scores(on_gold, gold)
    annotators = []
    for s in base.annotators:
        score = scores.get(s.annotator)
        annotators.append(
            s.model_copy(update=_f1_fields(score.exact, score.partial)) if score else s
        )
    update: dict[str, Any] = {"annotators": annotators}
    if on_gold:
        given, truth = [x[2] for x in on_gold], [gold[x[1]] for x in on_gold]
        exact, partial = span_f1(given, truth), span_f1(given, truth, partial=True)
        update |= {
            "exact_f1": round(exact.f1, 4),
            "partial_f1": round(partial.f1, 4),
            "per_label_f1": {
                label: SpanLabelGold(
                    exact_f1=round(m.f1, 4),
                    partial_f1=round(partial.per_label[label].f1, 4),
                    n_gold=m.n_b,
                    n_answered=m.n_a,
                )
                for label, m in exact.per_label.items()
            },
        }
    model_rows = queries.suggestion_values(session, project_id, list(gold))
    if model_rows:
        given = [span_tuples(v) for _, v in model_rows]
        truth = [gold[i] for i, _ in model_rows]
        update |= {
            "model_exact_f1": round(span_f1(given, truth).f1, 4),
            "model_partial_f1": round(span_f1(given, truth, partial=True).f1, 4),
        }
    return base.model_copy(update=update)


def _f1_fields(exact: SpanF1, partial: SpanF1) -> dict[str, float]:
    return {
        "exact_f1": round(exact.f1, 4),
        "partial_f1": round(partial.f1, 4),
        "precision": round(exact.precision, 4),
        "recall": round(exact.recall, 4),
    }


# -- label issues ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class _Snapshot:
    schema: LabelSchema
    version: int | None
    head: str | None
    artifact: str | None
    seed: int
    annotation_ids: list[int]
    item_ids: list[int]
    external_ids: list[str | None]
    texts: list[str]
    offsets: list[list[tuple[int, int]]]
    sentences: list[Sentence]
    gold: list[list[tuple[int, int, str]]]
    reviewed: list[bool]


def _snapshot(session: Session, name: str) -> _Snapshot:
    from labelloop.learn.spans import Sentence

    project = repo.get_project(session, name)
    schema = label_schema(project)
    champion = repo.champion(session, project.id)
    rows = repo.training_label_rows(session, project.id)
    offsets = [token_offsets(r.data) for r in rows]
    return _Snapshot(
        schema=schema,
        version=champion.version if champion else None,
        head=champion.head if champion else None,
        artifact=champion.artifact if champion else None,
        seed=int(project_settings(project)["seed"]),
        annotation_ids=[r.id for r in rows],
        item_ids=[r.item_id for r in rows],
        external_ids=[r.external_id for r in rows],
        texts=[str(r.data["text"]) for r in rows],
        offsets=offsets,
        sentences=[
            Sentence.from_offsets(str(r.data["text"]), o)
            for r, o in zip(rows, offsets, strict=True)
        ],
        gold=[token_spans(o, r.value) for r, o in zip(rows, offsets, strict=True)],
        reviewed=[bool(r.reviewed) for r in rows],
    )


def _empty(snap: _Snapshot, method: str, note: str) -> LabelIssues:
    return LabelIssues(
        model_version=snap.version,
        method=method,
        n_labels=len(snap.item_ids),
        computed_at=utcnow(),
        note=note,
    )


def detect_label_issues(ws: WorkspaceContext, name: str, *, method: str) -> LabelIssues:
    """Label-issue candidates of a span project for its current champion (not cached here).

    The champion's recipe (the project's span-model candidate of the champion's name, as
    training chose it) is cross-validated on the labelled sentences, 3 folds seeded by the
    project's ``seed``: every sentence is scored by a model that never saw it. A mapped
    pre-trained champion has never seen any, so its folds only predict. A result with a
    ``note`` and no issues says why nothing was checked (no champion, too few sentences, no
    span at all, a model without per-token probabilities).
    """
    from labelloop.learn.spans import cross_validate_spans
    from labelloop.quality import find_span_label_issues, token_labels
    from labelloop.services.models.spans import (
        candidates,
        load_span_model,
        stored_out_of_fold,
    )

    with ws.transaction() as session:
        snap = _snapshot(session, name)
    if snap.version is None:
        return _empty(snap, method, "no trained model yet: label-error detection needs one")
    if len(snap.sentences) < MIN_SENTENCES:
        return _empty(snap, method, f"needs {MIN_SENTENCES}+ labelled sentences")
    classes = [OUTSIDE, *snap.schema.labels]
    labels, rows, skipped = [], [], 0
    for i, (sentence, spans) in enumerate(zip(snap.sentences, snap.gold, strict=True)):
        try:
            labels.append(token_labels(len(sentence.words), spans, snap.schema.labels))
            rows.append(i)
        except InvalidInput:  # overlapping spans (allow_overlap): no one class per token
            skipped += 1
    if len(rows) < MIN_SENTENCES or not any(y.any() for y in labels):
        return _empty(snap, method, f"needs {MIN_SENTENCES}+ labelled sentences with spans")
    recipe = next((c for c in candidates(snap.schema, seed=snap.seed) if c.name == snap.head), None)
    if recipe is None:
        return _empty(snap, method, f"label-error detection knows no span model {snap.head!r}")
    no_probs = _empty(snap, method, f"span model {snap.head!r} gives no per-token probabilities")
    stored = (
        None
        if snap.artifact is None
        else stored_out_of_fold(ws, snap.artifact, snap.annotation_ids)
    )
    if stored is not None:  # the champion's training kept them: nothing to fit again
        probs = [stored.token_probs[i] for i in rows]
        suggested = [stored.spans[i] for i in rows]
    else:
        if snap.artifact is not None:  # ask the champion before fitting its recipe 3 times
            champion = load_span_model(ws.path / snap.artifact)
            if champion.predict([snap.sentences[rows[0]]])[0].token_probs is None:
                return no_probs
        _, oof = cross_validate_spans(
            recipe, [snap.sentences[i] for i in rows], [snap.gold[i] for i in rows],
            folds=_FOLDS, seed=snap.seed,
        )  # fmt: skip
        if any(p.token_probs is None for p in oof):
            return no_probs
        probs = [np.asarray(p.token_probs) for p in oof]
        suggested = [list(p.spans) for p in oof]
    found = find_span_label_issues(labels, probs, method=method)
    issues = []
    for s in found:
        i = rows[s.index]
        if snap.reviewed[i]:  # a reviewer's adjudication is not questioned again
            continue
        issues.append(_issue_view(snap, i, s, suggested[s.index], classes))
    note = f"{skipped} sentences with overlapping spans were not checked" if skipped else None
    return LabelIssues(
        model_version=snap.version,
        method=method,
        n_labels=len(snap.item_ids),
        issues=issues,
        per_class_errors=ClassErrors.table(
            np.concatenate(labels), np.concatenate([p.argmax(axis=1) for p in probs]), classes
        ),
        computed_at=utcnow(),
        note=note,
    )


def _issue_view(
    snap: _Snapshot,
    i: int,
    issue: Any,
    suggested: Sequence[tuple[int, int, str, float]],
    classes: list[str],
) -> LabelIssueView:
    text, offsets = snap.texts[i], snap.offsets[i]
    tokens = [
        TokenIssueView(
            token=t.token,
            start=offsets[t.token][0],
            end=offsets[t.token][1],
            text=text[offsets[t.token][0] : offsets[t.token][1]],
            given=classes[t.given],
            suggested=classes[t.suggested],
            score=round(t.score, 6),
        )
        for t in issue.tokens
    ]
    return LabelIssueView(
        item_id=snap.item_ids[i],
        external_id=snap.external_ids[i],
        given=[f"{t.text}: {t.given}" for t in tokens],
        suggested=[f"{t.text}: {t.suggested}" for t in tokens],
        score=round(issue.score, 6),
        tokens=tokens,
        suggested_spans=char_spans(offsets, [(s, e, label) for s, e, label, _ in suggested]),
    )
