"""Auto-accept with a precision guarantee, and audits of what was auto-accepted.

The model's suggestion for an item is accepted without a human when its top-class probability is
at least a threshold. :func:`choose_threshold` picks the lowest threshold whose accepted set has
precision >= ``target_precision`` with probability >= ``confidence``, from out-of-fold evidence:
human-labelled items the model did not train on, their top-class probability (``confidences``)
and whether the top class equals the human label (``correct``).

Why the guarantee holds (Learn then Test, Angelopoulos et al. 2021, fixed-sequence testing):
for each threshold ``t`` on a grid fixed in advance, the null hypothesis is
``H_t: P(correct | confidence >= t) < target``. Conditional on how many evidence items reach
``t``, those items are an i.i.d. sample of the accepted population, so the number correct is
binomial and the one-sided Clopper-Pearson bound gives a valid p-value for ``H_t``. The thresholds
are tested in a fixed order, highest (safest) first, each at the full level ``1 - confidence``,
stopping at the first one not rejected; fixed-sequence testing controls the family-wise error
rate at ``1 - confidence`` without a multiplicity correction. So with probability >= confidence
*every* accepted threshold, in particular the lowest one returned, meets the target. Thresholds
reached by fewer than ``min_evidence`` items, or by fewer than :func:`certifiable_size` (too few
to pass even with no error, so a sequence starting there would stop at once), are skipped before
testing; those rules look only at the confidences, never at correctness.
Assumptions: evidence and future items are exchangeable (same distribution; audit drift), the
model is the one that produced ``confidences`` and did not train on the evidence.

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> conf = rng.uniform(0.5, 1.0, 2000)
    >>> correct = rng.random(2000) < conf
    >>> d = choose_threshold(conf, correct, target_precision=0.9)
    >>> 0.8 < d.threshold < 0.95
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import beta

from labelloop.errors import InvalidInput

__all__ = [
    "PrecisionAudit",
    "ThresholdDecision",
    "audit_precision",
    "certifiable_size",
    "choose_threshold",
    "precision_lower_bound",
    "should_pause",
]

DEFAULT_GRID = np.round(np.arange(1000, 0, -1) / 1000, 3)  # 1.000, 0.999, ..., 0.001


def _check_confidence(confidence: float) -> float:
    c = float(confidence)
    if not 0.0 < c < 1.0:
        raise InvalidInput(f"confidence must lie in (0, 1), got {confidence}", field="confidence")
    return c


def _check_counts(n_correct: int, n: int) -> tuple[int, int]:
    if int(n) != n or int(n_correct) != n_correct or n < 0 or not 0 <= n_correct <= n:
        raise InvalidInput(
            f"need integers 0 <= n_correct <= n, got n_correct={n_correct}, n={n}", field="n"
        )
    return int(n_correct), int(n)


def precision_lower_bound(n_correct: int, n: int, *, confidence: float = 0.95) -> float:
    """One-sided exact binomial (Clopper-Pearson) lower confidence bound on a precision.

    Args:
        n_correct: correct accepted items observed.
        n: accepted items observed.
        confidence: coverage of the bound, e.g. 0.95.

    Returns:
        ``L`` with ``P(true precision >= L) >= confidence``; 0.0 when ``n_correct`` is 0 or n is 0.
    """
    conf = _check_confidence(confidence)
    x, m = _check_counts(n_correct, n)
    if x == 0:
        return 0.0
    return float(beta.ppf(1.0 - conf, x, m - x + 1))


def certifiable_size(target_precision: float, confidence: float) -> int:
    """Fewest evidence items that, all correct, prove ``target_precision`` at ``confidence``.

    The one-sided Clopper-Pearson bound of n correct out of n is ``(1 - confidence) ** (1 / n)``,
    so below ``n* = ceil(log(1 - confidence) / log(target))`` (149 for 0.98 at 95%) no threshold
    can pass.
    """
    return math.ceil(math.log(1.0 - confidence) / math.log(target_precision) - 1e-9)


@dataclass(frozen=True)
class ThresholdDecision:
    """Outcome of :func:`choose_threshold`.

    Attributes:
        threshold: accept suggestions with top-class probability >= this; None = refused.
        n_evidence: evidence items given.
        n_accepted: evidence items at or above ``threshold`` (0 when refused).
        estimated_precision: observed precision of those items (None when refused).
        precision_lower_bound: its one-sided lower bound at ``confidence`` (None when refused).
        coverage: share of evidence items the threshold accepts.
        target_precision: the requested precision.
        confidence: the requested confidence.
        reason: why no threshold was chosen, else None.
    """

    threshold: float | None
    n_evidence: int
    n_accepted: int
    estimated_precision: float | None
    precision_lower_bound: float | None
    coverage: float
    target_precision: float
    confidence: float
    reason: str | None = None


def choose_threshold(
    confidences: np.ndarray,
    correct: np.ndarray,
    *,
    target_precision: float,
    confidence: float = 0.95,
    min_evidence: int = 50,
    grid: np.ndarray | None = None,
) -> ThresholdDecision:
    """Lowest auto-accept threshold whose precision is >= target with the stated confidence.

    Learn-then-Test fixed-sequence testing over ``grid`` from the highest threshold down,
    stopping at the first threshold whose Clopper-Pearson lower bound falls below the target
    (see the module docstring for why this is valid).

    Args:
        confidences: (n,) out-of-fold top-class probabilities of human-labelled items.
        correct: (n,) bool, whether the top class equals the human label.
        target_precision: required precision of auto-accepted labels, in (0, 1).
        confidence: probability the guarantee holds, in (0, 1).
        min_evidence: fewest evidence items a threshold must accept to be tested; fewer
            in total means refusal. Thresholds below :func:`certifiable_size` items are never
            tested either.
        grid: candidate thresholds, fixed before seeing the data; default 1.000 down to 0.001
            in steps of 0.001. Tested from highest to lowest.

    Returns:
        A :class:`ThresholdDecision`; ``threshold`` is None (with ``reason``) when refused.
    """
    conf = np.asarray(confidences, dtype=np.float64)
    ok = np.asarray(correct)
    if conf.ndim != 1 or ok.shape != conf.shape:
        raise InvalidInput(
            f"confidences and correct must be 1-D of equal length, got {conf.shape}, {ok.shape}",
            field="confidences",
        )
    if ok.dtype != np.bool_:
        if not np.all(np.isin(ok, (0, 1))):
            raise InvalidInput("correct must be boolean", field="correct")
        ok = ok.astype(bool)
    if conf.size and (not np.all(np.isfinite(conf)) or conf.min() < 0 or conf.max() > 1):
        raise InvalidInput("confidences must be probabilities in [0, 1]", field="confidences")
    target = float(target_precision)
    if not 0.0 < target < 1.0:
        raise InvalidInput("target_precision must lie in (0, 1)", field="target_precision")
    level = _check_confidence(confidence)
    if int(min_evidence) < 1:
        raise InvalidInput("min_evidence must be >= 1", field="min_evidence")
    thresholds = DEFAULT_GRID if grid is None else np.sort(np.asarray(grid, np.float64))[::-1]
    n_total = int(conf.size)

    def refuse(reason: str) -> ThresholdDecision:
        return ThresholdDecision(None, n_total, 0, None, None, 0.0, target, level, reason)

    needed = max(int(min_evidence), certifiable_size(target, level))
    if n_total < needed:
        return refuse(
            f"only {n_total} evidence items; at least {needed} are needed to certify precision "
            f"{target} with confidence {level}"
        )
    order = np.argsort(-conf, kind="stable")
    sorted_conf = conf[order]
    cum_correct = np.concatenate([[0], np.cumsum(ok[order])])
    # accepted count at threshold t = number of confidences >= t
    n_acc = np.searchsorted(-sorted_conf, -thresholds, side="right")
    tested = n_acc >= needed
    if not tested.any():
        return refuse(f"no threshold accepts {needed} evidence items")
    idx = np.flatnonzero(tested)
    n_t = n_acc[idx]
    x_t = cum_correct[n_t]
    lower = np.where(x_t > 0, beta.ppf(1.0 - level, np.maximum(x_t, 1), n_t - x_t + 1), 0.0)
    passed = lower >= target
    if not passed[0]:
        return refuse(
            f"precision at the highest testable threshold ({thresholds[idx[0]]:.3f}, "
            f"{int(n_t[0])} items) is {x_t[0] / n_t[0]:.3f}, lower bound {lower[0]:.3f} "
            f"< target {target}"
        )
    # fixed sequence: the last consecutive pass from the top
    last = int(np.argmin(passed)) - 1 if not passed.all() else passed.size - 1
    m = int(n_t[last])
    return ThresholdDecision(
        threshold=float(thresholds[idx[last]]),
        n_evidence=n_total,
        n_accepted=m,
        estimated_precision=float(x_t[last] / m),
        precision_lower_bound=float(lower[last]),
        coverage=m / n_total,
        target_precision=target,
        confidence=level,
    )


@dataclass(frozen=True)
class PrecisionAudit:
    """A precision estimate from a human audit of auto-accepted items.

    Attributes:
        n: audited items.
        n_correct: audited items whose auto-accepted label the human confirmed.
        estimate: ``n_correct / n`` (NaN when n is 0).
        lower: two-sided Clopper-Pearson lower bound.
        upper: two-sided Clopper-Pearson upper bound.
        confidence: coverage of ``[lower, upper]``.
    """

    n: int
    n_correct: int
    estimate: float
    lower: float
    upper: float
    confidence: float


def audit_precision(n_correct: int, n: int, *, confidence: float = 0.95) -> PrecisionAudit:
    """Estimate and two-sided exact (Clopper-Pearson) interval for an audited precision."""
    level = _check_confidence(confidence)
    x, m = _check_counts(n_correct, n)
    if m == 0:
        return PrecisionAudit(0, 0, float("nan"), 0.0, 1.0, level)
    a = (1.0 - level) / 2
    lower = 0.0 if x == 0 else float(beta.ppf(a, x, m - x + 1))
    upper = 1.0 if x == m else float(beta.ppf(1 - a, x + 1, m - x))
    return PrecisionAudit(m, x, x / m, lower, upper, level)


def should_pause(audit: PrecisionAudit, target: float) -> bool:
    """Whether auto-accept should stop: the audit shows precision is below ``target``.

    True when even the interval's upper bound is below ``target`` (the shortfall is not
    noise); a small audit never pauses on its own.
    """
    if not 0.0 < float(target) < 1.0:
        raise InvalidInput("target must lie in (0, 1)", field="target")
    return audit.n > 0 and audit.upper < float(target)
