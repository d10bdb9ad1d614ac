"""Quality control: agreement, label-error detection, consensus, auto-accept, gold scoring.

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
from labelloop.quality.gold import GoldScore, gold_accuracy, wilson_interval
from labelloop.quality.label_issues import (
    ConsensusResult,
    LabelIssue,
    consensus_labels,
    find_label_issues,
    find_multilabel_issues,
    low_confidence_issues,
)

__all__ = [
    "AgreementReport",
    "ConsensusResult",
    "GoldScore",
    "LabelIssue",
    "PrecisionAudit",
    "ThresholdDecision",
    "agreement_report",
    "audit_precision",
    "choose_threshold",
    "cohen_kappa",
    "consensus_labels",
    "find_label_issues",
    "find_multilabel_issues",
    "fleiss_kappa",
    "gold_accuracy",
    "krippendorff_alpha",
    "low_confidence_issues",
    "per_class_agreement",
    "percent_agreement",
    "precision_lower_bound",
    "should_pause",
    "wilson_interval",
]
