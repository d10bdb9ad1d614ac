"""Quality control: agreement, label-error detection, consensus, auto-accept, gold scoring.

Classification labels and span answers (named entities) each have their own agreement, gold and
label-error functions: ``span_agreement``, ``gold_span_scores``, ``find_span_label_issues``.

Arrays in, plain typed results out; nothing here touches storage, HTTP or the terminal.

Example:
    >>> from labelloop.quality import precision_lower_bound
    >>> round(precision_lower_bound(95, 100, confidence=0.95), 3)
    0.898
"""

from labelloop.quality.agreement import (
    AgreementReport,
    agreement_report,
    cohen_kappa,
    fleiss_kappa,
    krippendorff_alpha,
    per_class_agreement,
    percent_agreement,
)
from labelloop.quality.autoaccept import (
    PrecisionAudit,
    ThresholdDecision,
    audit_precision,
    choose_threshold,
    precision_lower_bound,
    should_pause,
)
from labelloop.quality.gold import (
    GoldScore,
    GoldSpanScore,
    gold_accuracy,
    gold_span_scores,
    wilson_interval,
)
from labelloop.quality.label_issues import (
    ConsensusResult,
    LabelIssue,
    consensus_labels,
    find_label_issues,
    find_multilabel_issues,
    low_confidence_issues,
)
from labelloop.quality.span_agreement import (
    LabelSpanAgreement,
    PairSpanAgreement,
    SpanAgreementReport,
    SpanF1,
    SpanMatch,
    span_agreement,
    span_f1,
)
from labelloop.quality.span_issues import (
    SentenceIssue,
    TokenIssue,
    find_span_label_issues,
    token_labels,
)

__all__ = [
    "AgreementReport",
    "ConsensusResult",
    "GoldScore",
    "GoldSpanScore",
    "LabelIssue",
    "LabelSpanAgreement",
    "PairSpanAgreement",
    "PrecisionAudit",
    "SentenceIssue",
    "SpanAgreementReport",
    "SpanF1",
    "SpanMatch",
    "ThresholdDecision",
    "TokenIssue",
    "agreement_report",
    "audit_precision",
    "choose_threshold",
    "cohen_kappa",
    "consensus_labels",
    "find_label_issues",
    "find_multilabel_issues",
    "find_span_label_issues",
    "fleiss_kappa",
    "gold_accuracy",
    "gold_span_scores",
    "krippendorff_alpha",
    "low_confidence_issues",
    "per_class_agreement",
    "percent_agreement",
    "precision_lower_bound",
    "should_pause",
    "span_agreement",
    "span_f1",
    "token_labels",
    "wilson_interval",
]
