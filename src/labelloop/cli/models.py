"""``labelloop train|predict|models|evaluate`` and ``labelloop backbones list|rank``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from labelloop.cli._common import JsonOpt, emit, err, out, progress, workspace
from labelloop.errors import InvalidInput

__all__ = ["backbones_app", "evaluate", "models", "predict", "train"]

backbones_app = typer.Typer(
    help="Pre-trained backbones: list them, rank them on a project.", no_args_is_help=True
)


def train(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    as_json: JsonOpt = False,
) -> None:
    """Train a model version on the current labels (zero-shot with none) and maybe promote it."""
    with progress() as shown:
        result = workspace(ctx).train(name, progress=shown)

    def render() -> None:
        verdict = "promoted to champion" if result.promoted else "kept as challenger"
        err.print(
            f"model version {result.model_version} ({result.kind}, {result.n_labels} labels): "
            f"{verdict}: {result.reason}"
        )
        shown = {k: v for k, v in result.metrics.items() if v is not None}
        if shown:
            err.print("cross-validated: " + ", ".join(f"{k} {v:.3f}" for k, v in shown.items()))

    emit(result, as_json, render)


def predict(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    as_json: JsonOpt = False,
) -> None:
    """Refresh every unlabelled item's suggestion from the champion model."""
    with progress() as shown:
        result = workspace(ctx).predict(name, progress=shown)
    emit(
        result,
        as_json,
        lambda: err.print(
            f"{result.items} suggestions from model version {result.model_version} "
            f"({result.kind}); {result.items} items embedded, "
            f"{result.items - result.embedded} from the cache; "
            f"queue ordered by {result.strategy}"
        ),
    )


def models(
    ctx: typer.Context,
    args: Annotated[
        list[str],
        typer.Argument(
            metavar="[promote|rollback] NAME [VERSION]",
            help="NAME lists model versions; 'promote NAME VERSION' or 'rollback NAME' change "
            "the champion.",
        ),
    ],
    as_json: JsonOpt = False,
) -> None:
    """List a project's model versions, promote one, or roll back to the previous champion."""
    action = args[0] if args[0] in ("promote", "rollback", "list") else "list"
    rest = args[1:] if action != "list" or args[0] == "list" else args
    ws = workspace(ctx)
    if action == "promote":
        if len(rest) != 2 or not rest[1].isdigit():
            raise InvalidInput("usage: labelloop models promote NAME VERSION", field="VERSION")
        info = ws.promote(rest[0], int(rest[1]))
        emit(info, as_json, lambda: err.print(f"model version {info.version} is now the champion"))
        return
    if len(rest) != 1:
        raise InvalidInput(f"usage: labelloop models {action} NAME", field="NAME")
    if action == "rollback":
        info = ws.rollback(rest[0])
        emit(
            info, as_json, lambda: err.print(f"rolled back: version {info.version} is the champion")
        )
        return
    versions = ws.models(rest[0])

    def render() -> None:
        table = Table(
            "version", "status", "kind", "labels", "accuracy", "macro-F1", "ECE", "reason"
        )
        for m in versions:
            acc, f1 = m.metrics.get("accuracy"), m.metrics.get("macro_f1")
            table.add_row(
                str(m.version),
                m.status,
                m.kind,
                str(m.n_labels),
                f"{acc:.3f}" if acc is not None else "-",
                f"{f1:.3f}" if f1 is not None else "-",
                f"{m.ece:.3f}" if m.ece is not None else "-",
                m.reason or "",
            )
        out.print(table)

    emit(versions, as_json, render)


def evaluate(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    file: Annotated[Path, typer.Argument(help="Labelled file to score the champion on.")],
    text_field: Annotated[str, typer.Option("--text-field")] = "text",
    label_field: Annotated[str, typer.Option("--label-field")] = "label",
    format: Annotated[
        str | None, typer.Option("--format", help="The file's format (default: detected).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Score the champion model on an outside labelled file (images with boxes for a box
    project: COCO JSON, a YOLO or VOC folder or zip, Label Studio, JSONL)."""
    with progress() as shown:
        result = workspace(ctx).evaluate(
            name, file, text_field=text_field, label_field=label_field, format=format,
            progress=shown,
        )  # fmt: skip

    def render() -> None:
        if result.map50 is None:
            err.print(
                f"model version {result.model_version} on {result.n} items: "
                f"accuracy {result.accuracy:.4f}, "
                f"macro-F1 {result.macro_f1:.4f}"
            )
            return
        iou = f"{result.mean_iou:.3f}" if result.mean_iou is not None else "-"
        err.print(
            f"model version {result.model_version} on {result.n} images: "
            f"mAP@0.5 {result.map50:.4f}, box F1 {result.box_f1:.4f}, mean IoU {iou}, "
            f"images exactly right {result.images_exact:.1%}"
        )
        table = Table("label", "AP@0.5", "precision", "recall", "F1", "gold boxes")
        for label, row in result.per_class.items():
            ap = f"{row['ap50']:.3f}" if "ap50" in row else "-"
            table.add_row(
                label, ap, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                f"{row['f1']:.3f}", str(int(row["support"])),
            )  # fmt: skip
        out.print(table)

    emit(result, as_json, render)


@backbones_app.command("list")
def backbones_list(as_json: JsonOpt = False) -> None:
    """Every known backbone and whether it is installed."""
    from labelloop.services.catalog import backbone_catalog

    rows = backbone_catalog()

    def render() -> None:
        table = Table("name", "modality", "dim", "installed", "install with", "description")
        for r in rows:
            table.add_row(
                r["name"],
                r["modality"],
                str(r["dim"]),
                "yes" if r["installed"] else "no",
                r["install"],
                r["description"],
            )
        out.print(table)

    emit({"backbones": rows}, as_json, render)


@backbones_app.command("rank")
def backbones_rank(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    as_json: JsonOpt = False,
) -> None:
    """Score every installed backbone on the project's labels and recommend one."""
    with progress() as shown:
        result = workspace(ctx).rank_backbones(name, progress=shown)

    def render() -> None:
        table = Table("backbone", "accuracy", "macro-F1", "texts/s", "dim", "note")
        for b in result.backbones:
            table.add_row(
                b.backbone,
                f"{b.accuracy:.3f}" if b.accuracy is not None else "-",
                f"{b.macro_f1:.3f}" if b.macro_f1 is not None else "-",
                f"{b.texts_per_second:.0f}",
                str(b.dim),
                b.error or "",
            )
        out.print(table)
        err.print(f"recommended: {result.recommended} ({result.reason})")

    emit(result, as_json, render)
