"""Label errors in span answers: cleanlab's token-classification module over per-token classes.

Each token of a labelled sentence gets one class: ``0`` for "outside any span" (``O``) and
``1 + j`` for ``labels[j]`` (:func:`token_labels`; the B/I distinction is dropped, as in cleanlab's
token-classification tutorial). With out-of-fold per-token probabilities over the same ``K =
1 + n_labels`` classes, :func:`find_span_label_issues` asks
``cleanlab.token_classification.filter.find_label_issues`` which tokens' given class looks wrong
and ``cleanlab.token_classification.rank.get_label_quality_scores`` how good each sentence's
labels are (the worst token's self-confidence), and returns the sentences holding a flagged
token, most suspicious first.

Example:
    >>> import numpy as np
    >>> labels = [[1, 0, 2], [0, 1], [2, 0], [1, 0, 0]]
    >>> probs = [np.eye(3)[row] * 0.9 + 0.1 / 3 for row in labels]
    >>> labels[3][0] = 2  # "Paris" labelled LOC where the model is sure it is PER
    >>> [(s.index, s.tokens[0].token, s.tokens[0].given, s.tokens[0].suggested)
    ...  for s in find_span_label_issues(labels, probs)]
    [(3, 0, 2, 1)]
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from labelloop.errors import InvalidInput
from labelloop.quality.span_agreement import Span

__all__ = [
    "SPAN_ISSUE_METHODS",
    "SentenceIssue",
    "TokenIssue",
    "find_span_label_issues",
    "token_labels",
]

#: ``method`` -> cleanlab ``filter_by`` rule (``None``: the plain ``p[given] < 0.5`` baseline).
#: ``rank_by_count`` is labelloop's classification default under its cleanlab name: rank by
#: self-confidence and flag as many as the confident joint estimates (off-diagonal).
SPAN_ISSUE_METHODS: dict[str, str | None] = {
    "rank_by_count": "low_self_confidence",
    "prune_by_noise_rate": "prune_by_noise_rate",
    "both": "both",
    "confident_learning": "confident_learning",
    "low_confidence": None,
}


@dataclass(frozen=True)
class TokenIssue:
    """A token whose given class is probably wrong.

    Attributes:
        token: its index in the sentence.
        given: its given class (0 = O, ``1 + j`` = ``labels[j]``).
        suggested: the model's most likely class.
        score: its label quality (self-confidence ``p[given]``), lower = more likely wrong.
    """

    token: int
    given: int
    suggested: int
    score: float


@dataclass(frozen=True)
class SentenceIssue:
    """A sentence with at least one doubtful token.

    Attributes:
        index: the sentence's position in the input.
        score: the sentence's label quality in [0, 1] (its worst token's); issues sort by it.
        tokens: its flagged tokens, most suspicious first.
    """

    index: int
    score: float
    tokens: tuple[TokenIssue, ...]


def token_labels(n_tokens: int, spans: Collection[Span], labels: Sequence[str]) -> np.ndarray:
    """``(n_tokens,)`` int64 class of each token: 0 outside every span, ``1 + j`` inside a span
    labelled ``labels[j]``.

    Args:
        n_tokens: the sentence's length in tokens.
        spans: ``(first_token, end_token, label)`` spans, end exclusive.
        labels: the label of each class ``1 + j``.

    Raises:
        InvalidInput: a span is out of range, has an unknown label, or shares a token with
            another (one class per token cannot say that).

    Example:
        >>> token_labels(4, [(0, 2, "PER"), (3, 4, "LOC")], ["PER", "LOC"]).tolist()
        [1, 1, 0, 2]
    """
    ids = {label: 1 + j for j, label in enumerate(labels)}
    out = np.zeros(n_tokens, dtype=np.int64)
    for start, end, label in sorted(spans):
        if label not in ids:
            raise InvalidInput(f"span {start}-{end}: unknown label {label!r}", field="spans")
        if not 0 <= start < end <= n_tokens:
            raise InvalidInput(
                f"span {start}-{end} is out of range of a sentence of {n_tokens} tokens",
                field="spans",
            )
        if out[start:end].any():
            raise InvalidInput(
                f"span {start}-{end} {label!r} overlaps another span: token-level label-issue "
                "detection needs one class per token",
                field="spans",
            )
        out[start:end] = ids[label]
    return out


def _check(
    labels: Sequence[Sequence[int] | np.ndarray], pred_probs: Sequence[np.ndarray]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    if len(labels) != len(pred_probs):
        raise InvalidInput(
            f"{len(labels)} label sequences but {len(pred_probs)} pred_probs", field="pred_probs"
        )
    if not labels:
        raise InvalidInput("no sentences given", field="labels")
    ys, ps = [], []
    k: int | None = None
    for i, (y_raw, p_raw) in enumerate(zip(labels, pred_probs, strict=True)):
        y, p = np.asarray(y_raw), np.asarray(p_raw, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] < 2 or (k is not None and p.shape[1] != k):
            raise InvalidInput(
                f"pred_probs[{i}] must be (n_tokens, k >= 2) with one k for every sentence, "
                f"got {p.shape}",
                field="pred_probs",
            )
        k = p.shape[1]
        if y.shape != (p.shape[0],):
            raise InvalidInput(
                f"labels[{i}] must hold one class per token ({p.shape[0]}), got {y.shape}",
                field="labels",
            )
        if y.size and (not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= k):
            raise InvalidInput(f"labels[{i}] must be class ids in [0, {k})", field="labels")
        if p.size and (
            not np.all(np.isfinite(p)) or p.min() < 0 or np.abs(p.sum(axis=1) - 1).max() > 1e-3
        ):
            raise InvalidInput(
                f"pred_probs[{i}] rows must be probabilities summing to 1", field="pred_probs"
            )
        ys.append(y.astype(np.int64))
        ps.append(p)
    return ys, ps


def find_span_label_issues(
    labels: Sequence[Sequence[int] | np.ndarray],
    pred_probs: Sequence[np.ndarray],
    *,
    method: str = "rank_by_count",
) -> list[SentenceIssue]:
    """Sentences whose token labels are probably wrong, most suspicious first.

    Args:
        labels: per sentence, ``(n_tokens,)`` given class ids in ``[0, k)`` (:func:`token_labels`).
        pred_probs: per sentence, ``(n_tokens, k)`` **out-of-fold** class probabilities (a model
            scoring sentences it trained on has memorised their labels, wrong ones included).
        method: a key of :data:`SPAN_ISSUE_METHODS`: the cleanlab rule that flags tokens
            (default ``rank_by_count``: the lowest self-confidence tokens, as many as cleanlab's
            confident joint estimates are mislabelled), or ``low_confidence`` (``p[given] < 0.5``).

    Returns:
        :class:`SentenceIssue` list sorted by ascending sentence score, then index; sentences
        with no token (nothing to doubt) never appear.

    Raises:
        InvalidInput: mismatched shapes, ids out of range, rows that are not probabilities, an
            unknown method, or fewer than two classes in use (no span at all).
    """
    from cleanlab.token_classification.filter import find_label_issues
    from cleanlab.token_classification.rank import get_label_quality_scores

    if method not in SPAN_ISSUE_METHODS:
        raise InvalidInput(
            f"unknown method {method!r}; choose from {', '.join(SPAN_ISSUE_METHODS)}",
            field="method",
        )
    ys, ps = _check(labels, pred_probs)
    keep = [i for i, y in enumerate(ys) if y.size]  # cleanlab cannot score an empty sentence
    if len(np.unique(np.concatenate([ys[i] for i in keep] or [np.zeros(0, np.int64)]))) < 2:
        raise InvalidInput(
            "label-issue detection needs two or more token classes in use (some spans)",
            field="labels",
        )
    y_kept, p_kept = [ys[i].tolist() for i in keep], [ps[i] for i in keep]
    sentence_scores, token_scores = get_label_quality_scores(y_kept, p_kept)
    rule = SPAN_ISSUE_METHODS[method]
    if rule is None:
        flagged = [
            (s, t) for s, y in enumerate(y_kept) for t in range(len(y)) if p_kept[s][t, y[t]] < 0.5
        ]
    else:
        flagged = find_label_issues(y_kept, p_kept, filter_by=rule, n_jobs=1)
    by_sentence: dict[int, list[TokenIssue]] = {}
    for s, t in flagged:
        s, t = int(s), int(t)
        by_sentence.setdefault(s, []).append(
            TokenIssue(
                token=t,
                given=int(y_kept[s][t]),
                suggested=int(p_kept[s][t].argmax()),
                score=float(token_scores[s].iloc[t]),
            )
        )
    issues = [
        SentenceIssue(
            index=keep[s],
            score=float(sentence_scores[s]),
            tokens=tuple(sorted(tokens, key=lambda x: (x.score, x.token))),
        )
        for s, tokens in by_sentence.items()
    ]
    return sorted(issues, key=lambda x: (x.score, x.index))
