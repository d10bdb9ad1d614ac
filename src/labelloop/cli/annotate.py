"""``labelloop next|label``: annotate from the terminal."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from labelloop.cli._common import JsonOpt, emit, err, out, progress, workspace
from labelloop.errors import InvalidInput
from labelloop.services.results import SubmitResult, TrainResult

__all__ = ["LabelResult", "label", "next_"]


class LabelResult(SubmitResult):
    """What ``labelloop label`` did: the stored answer, and the retrain it triggered if any."""

    trained: TrainResult | None = None


def next_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    n: Annotated[int, typer.Option("--n", help="How many items.")] = 10,
    annotator: Annotated[
        str | None, typer.Option("--annotator", help="Lease the items to this annotator.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The next items to label, in queue order, with the model's suggestion and confidence."""
    items = workspace(ctx).next_items(name, n=n, annotator=annotator)

    def render() -> None:
        table = Table("item", "suggestion", "confidence", "text")
        for it in items:
            s = it.suggestion
            text = str(it.data.get("text", it.data.get("path", "")))
            table.add_row(
                str(it.item_id),
                ", ".join(s.value) if s else "-",
                f"{s.confidence:.2f}" if s else "-",
                text[:80],
            )
        out.print(table)

    emit(items, as_json, render)


def label(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    item_id: Annotated[int, typer.Argument(help="Item id (from next).")],
    value: Annotated[
        str | None,
        typer.Argument(
            help="Label name; several comma-separated for multi-label; span and box projects"
            ' take a JSON list: \'[{"x": 10, "y": 20, "w": 30, "h": 40, "label": "cat"}]\','
            " '[]' for none."
        ),
    ] = None,
    none_applies: Annotated[
        bool,
        typer.Option("--none", help="Multi-label: no label applies (an answer, unlike a skip)."),
    ] = False,
    annotator: Annotated[str | None, typer.Option("--annotator", help="Who labels.")] = None,
    retrain: Annotated[
        bool,
        typer.Option(
            "--retrain/--no-retrain", help="Retrain when the project's retrain_every is reached."
        ),
    ] = True,
    as_json: JsonOpt = False,
) -> None:
    """Label one item (a correction keeps the earlier label in the history)."""
    if (value is None) == (not none_applies):
        raise InvalidInput(
            "give a label, or --none on a multi-label project (one of the two)", field="value"
        )
    labels = [] if none_applies else _answer(value or "")
    ws = workspace(ctx)
    submitted = ws.submit(name, item_id, labels, annotator=annotator)
    trained = None
    if retrain and submitted.retrain_due:
        with progress() as shown:
            trained = ws.train(name, progress=shown)
    result = LabelResult(**dict(submitted), trained=trained)

    def render() -> None:
        shown = ", ".join(_shown(v) for v in result.value or []) or "no label applies"
        err.print(f"item {item_id}: {shown} ({result.source})")
        if trained:
            err.print(
                f"retrained: model version {trained.model_version}, "
                f"{'promoted' if trained.promoted else 'kept as challenger'}"
            )

    emit(result, as_json, render)


def _answer(value: str) -> list[Any]:
    """The command line's answer: a JSON list (spans, boxes) or comma-separated label names."""
    if not value.lstrip().startswith("["):
        return [v.strip() for v in value.split(",")]
    try:
        answer = json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the answer looks like JSON but is not ({exc.msg} at character {exc.pos})",
            field="value",
        ) from exc
    if not isinstance(answer, list):
        raise InvalidInput("a JSON answer must be a list", field="value")
    return answer


def _shown(value: Any) -> str:
    """One part of a stored answer, for the terminal: a label, or a span's or box's label."""
    return str(value.get("label")) if isinstance(value, dict) else str(value)
