"""Dashboard plots drawn on the server with matplotlib, as SVG (no JS chart library, no CDN)."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

from labelloop.services.results import ModelStatus
from labelloop.services.stats import Dashboard

__all__ = ["PLOTS", "render"]

_lock = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe
INK = "#1f2933"
ACCENT = "#2563eb"
MUTED = "#9aa5b1"


def _figure(width: float = 5.6, height: float = 3.0) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot(1, 1, 1)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    return fig, ax


def _empty(ax: Any, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _learning_curve(board: Dashboard) -> Any:
    """Each version's cross-validated score against its human labels: accuracy and macro-F1,
    or a box project's mAP@0.5."""
    fig, ax = _figure()
    boxes = board.curve_measure == "mAP@0.5"
    score = (lambda p: p.map50) if boxes else (lambda p: p.accuracy)
    points = [p for p in board.learning_curve if score(p) is not None]
    if not points:
        _empty(ax, "no trained model yet" if not boxes else "no cross-validated model yet")
        return fig
    xs = [p.n_labels for p in points]
    ax.plot(xs, [score(p) for p in points], marker="o", color=ACCENT,
            label="mAP@0.5" if boxes else "accuracy")  # fmt: skip
    f1 = [(p.n_labels, p.macro_f1) for p in points if p.macro_f1 is not None and not boxes]
    if f1:
        ax.plot(*zip(*f1, strict=True), marker="s", color=MUTED, label="macro-F1")
    for p in points:
        style = {"fontweight": "bold"} if p.status == ModelStatus.CHAMPION else {}
        ax.annotate(
            f"v{p.version}",
            (p.n_labels, score(p)),
            fontsize=7,
            xytext=(3, 4),
            textcoords="offset points",
            **style,
        )
    ax.set_xlabel("labelled images" if boxes else "human labels", fontsize=8)
    ax.set_ylabel("cross-validated mAP@0.5" if boxes else "cross-validated score", fontsize=8)
    ax.set_ylim(0, 1.02)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return fig


def _acceptance(board: Dashboard) -> Any:
    fig, ax = _figure()
    buckets = board.acceptance_by_version
    if not buckets:
        _empty(ax, "no answers on suggestions yet")
    else:
        names = [b.bucket for b in buckets]
        ax.bar(names, [b.rate or 0 for b in buckets], color=ACCENT)
        for i, b in enumerate(buckets):
            ax.text(
                i,
                (b.rate or 0) + 0.02,
                f"{b.accepted}/{b.answered}",
                ha="center",
                fontsize=7,
                color=INK,
            )
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("suggestions accepted", fontsize=8)
        ax.set_xlabel("model version", fontsize=8)
    return fig


def _confusion(board: Dashboard) -> Any:
    champion = board.champion
    if champion is None or not champion.confusion:
        fig, ax = _figure()
        _empty(ax, "the champion has no cross-validated confusion matrix")
        return fig
    k = len(champion.confusion)
    labels = champion.labels[:k]
    size = min(3.0 + 0.35 * k, 9.0)
    fig, ax = _figure(size + 1.2, size)
    matrix = champion.confusion
    ax.imshow(matrix, cmap="Blues")
    peak = max((max(row) for row in matrix), default=0) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                color = "white" if value > peak / 2 else INK
                ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(k), labels, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), labels, fontsize=7)
    ax.set_xlabel("predicted", fontsize=8)
    ax.set_ylabel("true", fontsize=8)
    return fig


def _throughput(board: Dashboard) -> Any:
    fig, ax = _figure()
    rows = [a for a in board.annotators if a.items_per_hour]
    if not rows:
        _empty(ax, "no timed answers yet")
    else:
        ax.barh([a.annotator for a in rows], [a.items_per_hour for a in rows], color=ACCENT)
        ax.set_xlabel("items per hour", fontsize=8)
    return fig


PLOTS: dict[str, Callable[[Dashboard], Any]] = {
    "learning-curve": _learning_curve,
    "acceptance": _acceptance,
    "confusion": _confusion,
    "throughput": _throughput,
}


def render(kind: str, board: Dashboard) -> bytes:
    """The plot ``kind`` (a key of :data:`PLOTS`) as SVG bytes."""
    with _lock:
        fig = PLOTS[kind](board)
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()
