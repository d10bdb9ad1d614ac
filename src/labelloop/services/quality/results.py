"""Typed results of the quality-assurance services (rendered by the CLI and the dashboard)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AgreementSummary",
    "BlindVsSuggested",
    "ClassErrors",
    "FlagSummary",
    "FlagView",
    "GoldAnnotatorScore",
    "GoldImportResult",
    "GoldItemView",
    "GoldSummary",
    "GroupStats",
    "LabelIssueView",
    "LabelIssues",
    "PairKappa",
    "QAReport",
    "ReviewReason",
    "SpanLabelAgreement",
    "SpanLabelGold",
    "TokenIssueView",
    "shared_ratings",
]


class ReviewReason(StrEnum):
    """Why an item is on the review queue: each reason is one source of candidates
    (:data:`labelloop.services.quality.review.REVIEW_SOURCES`)."""

    DISAGREEMENT = "disagreement"  # annotators gave different labels
    REJECTED_SUGGESTION = "rejected_suggestion"  # a person's label differs from the suggestion
    AUDIT_AUTO = "audit_auto"  # an auto-accepted label drawn for the audit
    LABEL_ISSUE = "label_issue"  # the label-error detector doubts the label
    FLAG = "flag"  # an annotator reported the suggestion as wrong
    AUDIT = "audit"  # the same audit sample, under its older name (kept for callers)


class PairKappa(BaseModel):
    annotator_a: str
    annotator_b: str
    n_items: int = Field(description="items both answered")
    kappa: float | None = Field(description="Cohen's kappa on those items (None under 2)")
    percent_agreement: float = Field(
        description="share of those items with the same answer (spans: the same span set)"
    )
    exact_f1: float | None = Field(
        default=None, description="spans projects: span F1 of the pair, exact matches"
    )
    partial_f1: float | None = Field(
        default=None, description="spans projects: span F1 of the pair, overlapping same-label"
    )
    mean_iou: float | None = Field(
        default=None, description="boxes projects: mean IoU of the pair's matched boxes"
    )


class SpanLabelAgreement(BaseModel):
    """One label's span F1 between annotators, averaged over the pairs where either used it."""

    exact_f1: float
    partial_f1: float
    n_pairs: int = Field(description="annotator pairs averaged")
    n_spans: int = Field(description="spans of this label, both sides of every pair")


class AgreementSummary(BaseModel):
    """Agreement between annotators on items that two or more of them answered.

    Each annotator's answer is their own latest answer on the item (adjudications and
    auto-accepted labels excluded). Classification projects get kappa and alpha; spans projects
    (``kind="spans"``) get pairwise span F1 instead, exact and partial, overall and per label
    (:func:`labelloop.quality.span_agreement`), and ``percent_agreement`` is the share of
    (item, pair) comparisons with identical span sets.
    """

    kind: str = Field(default="labels", description="'labels' (kappa, alpha) or 'spans' (span F1)")
    n_items: int = Field(description="items with two or more annotators")
    n_annotators: int
    percent_agreement: float | None = None
    cohen_kappa_mean: float | None = Field(default=None, description="mean over annotator pairs")
    fleiss_kappa: float | None = Field(default=None, description="None if rater counts vary")
    krippendorff_alpha: float | None = Field(default=None, description="nominal alpha")
    per_class: dict[str, float | None] = Field(
        default_factory=dict, description="specific agreement per class (None if unused)"
    )
    pairs: list[PairKappa] = Field(default_factory=list)
    n_disagreements: int = Field(default=0, description="items whose answers differ")
    exact_f1: float | None = Field(
        default=None, description="spans: mean over annotator pairs of exact span F1"
    )
    partial_f1: float | None = Field(
        default=None, description="spans: mean over annotator pairs of partial span F1"
    )
    per_label_f1: dict[str, SpanLabelAgreement] = Field(
        default_factory=dict, description="spans: span F1 per label"
    )
    mean_iou: float | None = Field(
        default=None,
        description="boxes (kind='boxes', exact_f1 = box F1 at IoU 0.5): mean IoU of matched boxes",
    )
    notes: list[str] = Field(default_factory=list)


class GoldAnnotatorScore(BaseModel):
    """One annotator on gold items; spans projects also get span F1 against the gold spans
    (``accuracy`` is then exact-sentence accuracy: every span right, none missing or extra)."""

    annotator: str
    n: int = Field(description="gold items answered")
    n_correct: int
    accuracy: float
    lower: float = Field(description="95% Wilson interval, lower end")
    upper: float
    exact_f1: float | None = Field(default=None, description="spans: span F1, exact matches")
    partial_f1: float | None = Field(default=None, description="spans: span F1, partial matches")
    precision: float | None = Field(default=None, description="spans: exact span precision")
    recall: float | None = Field(default=None, description="spans: exact span recall")


class SpanLabelGold(BaseModel):
    """One label's span F1 against gold, over every gold answer."""

    exact_f1: float
    partial_f1: float
    n_gold: int = Field(description="gold spans of this label, counted once per answer")
    n_answered: int = Field(description="annotators' spans of this label on gold items")


class GoldSummary(BaseModel):
    n_gold_items: int
    gold_rate: float = Field(description="the project's gold_rate setting")
    n_answers: int
    accuracy: float | None = Field(default=None, description="over every gold answer")
    lower: float | None = None
    upper: float | None = None
    annotators: list[GoldAnnotatorScore] = Field(default_factory=list)
    model_accuracy: float | None = Field(
        default=None, description="the champion's suggestions on gold items (never trained on)"
    )
    model_n: int = 0
    exact_f1: float | None = Field(
        default=None, description="spans: span F1 of every gold answer pooled, exact matches"
    )
    partial_f1: float | None = Field(default=None, description="spans: the same, partial matches")
    per_label_f1: dict[str, SpanLabelGold] = Field(
        default_factory=dict, description="spans: span F1 against gold per label"
    )
    model_exact_f1: float | None = Field(
        default=None, description="spans: the champion's suggestions on gold, exact span F1"
    )
    model_partial_f1: float | None = None
    mean_iou: float | None = Field(
        default=None, description="boxes: mean IoU of gold answers' boxes matched to gold boxes"
    )
    model_mean_iou: float | None = Field(
        default=None, description="boxes: the same for the champion's suggestions on gold"
    )


class TokenIssueView(BaseModel):
    """Spans projects: one token whose given label looks wrong."""

    token: int = Field(description="its index among the item's tokens")
    start: int = Field(description="its character offsets in data.text")
    end: int
    text: str
    given: str = Field(description="the label of the span it is in, or 'O' outside any span")
    suggested: str = Field(description="the out-of-fold model's most likely label, or 'O'")
    score: float = Field(description="the token's label quality (model probability of given)")


class LabelIssueView(BaseModel):
    item_id: int
    external_id: str | None = None
    given: list[str] = Field(
        description="the item's current human label (spans: 'token: label' of each doubtful token)"
    )
    suggested: list[str] = Field(
        description="what the out-of-fold model predicts (spans: per doubtful token)"
    )
    score: float = Field(description="label quality in [0, 1]; lower = more likely wrong")
    tokens: list[TokenIssueView] = Field(
        default_factory=list, description="spans: the doubtful tokens, most suspicious first"
    )
    suggested_spans: list[dict[str, Any]] | None = Field(
        default=None, description="spans: the out-of-fold model's spans for the item"
    )
    suggested_boxes: list[dict[str, Any]] | None = Field(
        default=None, description="boxes: the out-of-fold model's boxes (with scores) for the image"
    )


class ClassErrors(BaseModel):
    """Where people and the model disagree, per class (human label vs out-of-fold prediction)."""

    label: str
    n: int = Field(description="human labels of this class")
    n_disagree: int = Field(description="of those, the model predicts another class")
    disagree_rate: float
    confused_with: dict[str, int] = Field(
        default_factory=dict, description="predicted class -> count, most frequent first"
    )

    @classmethod
    def table(
        cls, y: Iterable[int], predicted: Iterable[int], labels: Sequence[str]
    ) -> list[ClassErrors]:
        """Per class of ``labels`` (ids ``y``, the model's ``predicted`` ids): how often the
        model predicts another class, and which; worst first, classes never given left out."""
        pairs = [(int(t), int(p)) for t, p in zip(y, predicted, strict=True)]
        out = []
        for j, label in enumerate(labels):
            predicted_here = [p for t, p in pairs if t == j]
            if not predicted_here:
                continue
            wrong = Counter(labels[p] for p in predicted_here if p != j)
            n, n_wrong = len(predicted_here), sum(wrong.values())
            out.append(
                cls(
                    label=label,
                    n=n,
                    n_disagree=n_wrong,
                    disagree_rate=round(n_wrong / n, 4),
                    confused_with=dict(wrong.most_common()),
                )
            )
        return sorted(out, key=lambda c: (-c.disagree_rate, c.label))


class LabelIssues(BaseModel):
    """Label-error candidates of a project, computed for one champion model version."""

    model_version: int | None
    method: str
    n_labels: int = Field(description="human labels checked")
    issues: list[LabelIssueView] = Field(default_factory=list)
    per_class_errors: list[ClassErrors] = Field(default_factory=list)
    computed_at: datetime | None = None
    note: str | None = None


class GroupStats(BaseModel):
    n_answers: int
    gold_n: int = 0
    gold_accuracy: float | None = None
    gold_lower: float | None = None
    gold_upper: float | None = None
    pair_n: int = Field(default=0, description="(answer, other annotator's answer) pairs")
    pair_agreement: float | None = Field(
        default=None, description="share of those pairs that agree"
    )


class BlindVsSuggested(BaseModel):
    """Anchoring check: answers given without the suggestion versus with it."""

    blind_rate: float
    blind: GroupStats
    suggested: GroupStats
    accuracy_gap: float | None = Field(
        default=None, description="suggested minus blind gold accuracy"
    )


class FlagView(BaseModel):
    id: int
    item_id: int
    annotator: str | None
    reason: str
    suggestion: list[Any] | None = Field(
        description="the disputed suggestion: label names, or spans {start, end, label}"
    )
    model_version: int | None
    status: str
    kind: str = Field(description="'flag' (a person) or 'label_issue' (the detector)")
    resolved_by: str | None = None
    created_at: datetime


class FlagSummary(BaseModel):
    open: int = 0
    confirmed: int = 0
    dismissed: int = 0
    recent: list[FlagView] = Field(default_factory=list, description="open flags, newest first")


class QAReport(BaseModel):
    """Everything `labelloop qa` prints and the dashboard shows."""

    project: str
    agreement: AgreementSummary
    gold: GoldSummary
    label_issues: list[LabelIssueView]
    label_issues_model_version: int | None = None
    per_class_errors: list[ClassErrors]
    auto_accept_audit: dict[str, Any] | None = Field(
        default=None, description="labelloop.services.quality.autoaccept.AuditReport, or None"
    )
    blind_vs_suggested: BlindVsSuggested
    flags: FlagSummary
    notes: list[str] = Field(default_factory=list)


class GoldImportResult(BaseModel):
    project: str
    file: str
    rows: int
    gold_set: int
    unknown_ids: list[str] = Field(default_factory=list, description="first few ids not found")


class GoldItemView(BaseModel):
    """A gold item: its data and the known answer annotators are scored against."""

    item_id: int
    external_id: str | None = None
    data: dict[str, Any]
    gold: list[Any] = Field(
        description="the known answer: label names, or spans {start, end, label}"
    )


def shared_ratings(rows: Sequence[tuple[int, str, Any]]) -> list[tuple[int, str, Any]]:
    """The ``(item_id, annotator, value)`` ratings of items that two or more annotators
    answered: what pairwise span and box agreement compare."""
    per_item: dict[int, set[str]] = {}
    for item_id, annotator, _ in rows:
        per_item.setdefault(item_id, set()).add(annotator)
    return [r for r in rows if len(per_item[r[0]]) >= 2]
