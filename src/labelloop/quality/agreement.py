"""Inter-annotator agreement: Cohen's and Fleiss' kappa, Krippendorff's alpha, per-class agreement.

Labels are class ids (ints) or any hashable value; missing ratings are NaN in reliability data.

Example:
    >>> cohen_kappa([0, 0, 1, 1], [0, 0, 1, 1])
    1.0
    >>> report = agreement_report([(1, "ann", 0), (1, "bob", 0), (2, "ann", 1), (2, "bob", 0)])
    >>> report.n_items, report.fleiss_kappa is not None
    (2, True)
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import cohen_kappa_score

from labelloop.errors import InvalidInput, MissingDependency

__all__ = [
    "AgreementReport",
    "agreement_report",
    "cohen_kappa",
    "fleiss_kappa",
    "krippendorff_alpha",
    "per_class_agreement",
    "percent_agreement",
]


def cohen_kappa(a: Sequence[Hashable] | np.ndarray, b: Sequence[Hashable] | np.ndarray) -> float:
    """Cohen's kappa between two raters who labelled the same items.

    Args:
        a: (n,) labels of rater A.
        b: (n,) labels of rater B, aligned with ``a``.

    Returns:
        kappa in [-1, 1]; 1.0 when both raters agree on every item (also when they used one
        class only, where the formula is 0/0).
    """
    x, y = np.asarray(a), np.asarray(b)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise InvalidInput(
            f"cohen_kappa needs two non-empty 1-D label arrays of equal length, got {x.shape} "
            f"and {y.shape}",
            field="labels",
        )
    if np.array_equal(x, y):
        return 1.0
    return float(cohen_kappa_score(x, y))


def _check_counts(counts: object) -> np.ndarray:
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] < 2:
        raise InvalidInput(
            f"counts must be (n_items, k) with k >= 2, got shape {c.shape}", field="counts"
        )
    if np.any(c < 0) or not np.all(np.isfinite(c)) or np.any(c != np.round(c)):
        raise InvalidInput("counts must be non-negative integers", field="counts")
    return c


def fleiss_kappa(counts: np.ndarray) -> float:
    """Fleiss' kappa for a fixed number of raters per item.

    Args:
        counts: (n_items, k) how many raters put item i in class j; every row must have the
            same total (>= 2).

    Returns:
        kappa (<= 1); 1.0 for perfect agreement.
    """
    c = _check_counts(counts)
    raters = c.sum(axis=1)
    if raters.min() != raters.max() or raters[0] < 2:
        raise InvalidInput(
            "fleiss_kappa needs the same number (>= 2) of raters on every item; "
            "use krippendorff_alpha for varying raters",
            field="counts",
        )
    r = raters[0]
    p_i = (np.sum(c * c, axis=1) - r) / (r * (r - 1))
    p_bar = p_i.mean()
    p_j = c.sum(axis=0) / c.sum()
    p_e = float(np.sum(p_j * p_j))
    if p_e == 1.0:
        return 1.0
    return float((p_bar - p_e) / (1.0 - p_e))


def krippendorff_alpha(reliability_data: np.ndarray, *, level: str = "nominal") -> float:
    """Krippendorff's alpha via the ``krippendorff`` package.

    Args:
        reliability_data: (n_raters, n_items) numeric labels, NaN where a rater did not rate.
        level: "nominal", "ordinal", "interval" or "ratio".

    Returns:
        alpha (<= 1); 1.0 for perfect agreement.
    """
    try:
        import krippendorff
    except ImportError as exc:  # pragma: no cover - it is a core dependency
        raise MissingDependency("krippendorff", package="krippendorff") from exc
    data = np.asarray(reliability_data, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] < 2:
        raise InvalidInput(
            f"reliability_data must be (n_raters >= 2, n_items), got shape {data.shape}",
            field="reliability_data",
        )
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise InvalidInput(f"unknown level {level!r}", field="level")
    pairable = np.sum(~np.isnan(data), axis=0) >= 2
    if not pairable.any():
        raise InvalidInput("no item has two ratings", field="reliability_data")
    values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])])
    if values.size == 1:
        return 1.0
    return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))  # type: ignore[arg-type]


def percent_agreement(counts: np.ndarray) -> float:
    """Share of agreeing rater pairs, averaged over items with >= 2 ratings.

    Args:
        counts: (n_items, k) ratings per class; rows may have different totals.
    """
    c = _check_counts(counts)
    r = c.sum(axis=1)
    ok = r >= 2
    if not ok.any():
        raise InvalidInput("no item has two ratings", field="counts")
    agree = (np.sum(c[ok] * (c[ok] - 1), axis=1)) / (r[ok] * (r[ok] - 1))
    return float(agree.mean())


def per_class_agreement(counts: np.ndarray) -> np.ndarray:
    """Specific (per-class) agreement: P(second rater says j | first rater said j).

    ``sum_i n_ij (n_ij - 1) / sum_i n_ij (r_i - 1)`` over items with >= 2 ratings (Uebersax's
    proportion of specific agreement).

    Args:
        counts: (n_items, k) ratings per class.

    Returns:
        (k,) agreement per class in [0, 1], NaN for a class nobody used.
    """
    c = _check_counts(counts)
    r = c.sum(axis=1, keepdims=True)
    c = c[r[:, 0] >= 2]
    r = r[r[:, 0] >= 2]
    num = np.sum(c * (c - 1), axis=0)
    den = np.sum(c * (r - 1), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


@dataclass(frozen=True)
class AgreementReport:
    """Agreement summary of a long table of ratings.

    Attributes:
        n_items: items with at least two ratings (the ones agreement is measured on).
        n_annotators: distinct annotators.
        classes: the label values, in the order of ``per_class``.
        percent_agreement: share of agreeing rater pairs.
        cohen_kappa_mean: mean Cohen's kappa over annotator pairs sharing >= 2 items, or None.
        n_pairs: annotator pairs averaged in ``cohen_kappa_mean``.
        fleiss_kappa: Fleiss' kappa, or None when items have different numbers of raters.
        krippendorff_alpha: nominal alpha (handles missing ratings).
        per_class: class -> specific agreement (NaN if unused).
        notes: why a metric is missing.
    """

    n_items: int
    n_annotators: int
    classes: tuple[Hashable, ...]
    percent_agreement: float
    cohen_kappa_mean: float | None
    n_pairs: int
    fleiss_kappa: float | None
    krippendorff_alpha: float
    per_class: dict[Hashable, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def agreement_report(
    ratings: Iterable[tuple[Hashable, Hashable, Hashable]],
) -> AgreementReport:
    """Build an :class:`AgreementReport` from ``(item, annotator, label)`` triples.

    A repeated (item, annotator) pair keeps the last label. Items with a single rating are
    ignored.

    Raises:
        InvalidInput: fewer than one item with two ratings.
    """
    table: dict[Hashable, dict[Hashable, Hashable]] = {}
    for row in ratings:
        if len(row) != 3:
            raise InvalidInput("each rating must be (item, annotator, label)", field="ratings")
        item, annotator, label = row
        table.setdefault(item, {})[annotator] = label
    table = {i: r for i, r in table.items() if len(r) >= 2}
    if not table:
        raise InvalidInput("agreement needs at least one item rated twice", field="ratings")
    items = list(table)
    annotators = sorted({a for r in table.values() for a in r}, key=repr)
    classes = sorted({lab for r in table.values() for lab in r.values()}, key=repr)
    cls_id = {c: j for j, c in enumerate(classes)}
    ann_id = {a: j for j, a in enumerate(annotators)}
    data = np.full((len(annotators), len(items)), np.nan)
    counts = np.zeros((len(items), max(2, len(classes))))
    for i, item in enumerate(items):
        for annotator, label in table[item].items():
            data[ann_id[annotator], i] = cls_id[label]
            counts[i, cls_id[label]] += 1
    notes: list[str] = []
    kappas = []
    for a, b in itertools.combinations(range(len(annotators)), 2):
        both = ~np.isnan(data[a]) & ~np.isnan(data[b])
        if both.sum() >= 2:
            kappas.append(cohen_kappa(data[a, both].astype(int), data[b, both].astype(int)))
    if not kappas:
        notes.append("no annotator pair shares two items: Cohen's kappa not computed")
    raters = counts.sum(axis=1)
    fk: float | None = None
    if raters.min() == raters.max():
        fk = fleiss_kappa(counts)
    else:
        notes.append(
            f"items have {int(raters.min())} to {int(raters.max())} raters: Fleiss' kappa needs "
            "a fixed number, see Krippendorff's alpha"
        )
    specific = per_class_agreement(counts)
    return AgreementReport(
        n_items=len(items),
        n_annotators=len(annotators),
        classes=tuple(classes),
        percent_agreement=percent_agreement(counts),
        cohen_kappa_mean=float(np.mean(kappas)) if kappas else None,
        n_pairs=len(kappas),
        fleiss_kappa=fk,
        krippendorff_alpha=krippendorff_alpha(data, level="nominal"),
        per_class={c: float(specific[j]) for j, c in enumerate(classes)},
        notes=tuple(notes),
    )
