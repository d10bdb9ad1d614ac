"""The ``labelloop`` command line: a thin layer over :mod:`labelloop.services`.

Every reporting command takes ``--json`` and then prints exactly one JSON document on stdout.
Errors print one line on stderr and exit non-zero (see :class:`labelloop.errors.LabelloopError`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from labelloop.errors import InvalidInput, LabelloopError
from labelloop.services.workspace import Workspace, open_workspace

__all__ = ["app", "main"]

app = typer.Typer(
    name="labelloop",
    help="Annotate data with a pre-trained model doing the first pass.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
project_app = typer.Typer(help="Create, list and configure projects.", no_args_is_help=True)
app.add_typer(project_app, name="project")

err = Console(stderr=True)
out = Console()


class _State:
    workspace: str | None = None
    db: str | None = None
    ws: Workspace | None = None


state = _State()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@app.callback()
def _root(
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="LABELLOOP_WORKSPACE",
            help="Workspace folder (database and artifacts). Default: ./labelloop-data",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="LABELLOOP_DATABASE_URL",
            help="Database URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in the "
            "workspace.",
        ),
    ] = None,
) -> None:
    state.workspace = workspace
    state.db = db


def ws() -> Workspace:
    if state.ws is None:
        state.ws = open_workspace(state.workspace, database_url=state.db)
    return state.ws


def emit(
    result: BaseModel | list[BaseModel] | dict[str, Any], as_json: bool, render: Callable[[], None]
) -> None:
    if as_json:
        if isinstance(result, list):
            payload: Any = [r.model_dump(mode="json") for r in result]
        elif isinstance(result, BaseModel):
            payload = result.model_dump(mode="json")
        else:
            payload = result
        sys.stdout.write(json.dumps(payload) + "\n")
    else:
        render()


@contextmanager
def progress_bar(
    description: str,
) -> Iterator[tuple[Callable[[int], None], Callable[[int | None], None]]]:
    """A rich progress bar on stderr; yields (advance, set_total) callbacks."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not err.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=None)
        yield (
            lambda n: bar.advance(task, n),
            lambda total: bar.update(task, total=total),
        )


def _pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"expected KEY=VALUE, got {pair!r}", field=option)
        parsed[key.strip()] = value.strip()
    return parsed


# -- projects ----------------------------------------------------------------------------------
@project_app.command("create")
def project_create(
    name: Annotated[str, typer.Argument(help="Project name.")],
    labels: Annotated[str, typer.Option("--labels", help="Comma-separated label names.")],
    task: Annotated[str, typer.Option("--task", help="Task type.")] = "text-classification",
    multi_label: Annotated[
        bool, typer.Option("--multi-label", help="Items may have several labels.")
    ] = False,
    backbone: Annotated[
        str | None, typer.Option("--backbone", help="Pre-trained backbone.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project with its label schema."""
    info = ws().create_project(
        name, labels=labels, task=task, multi_label=multi_label, backbone=backbone
    )
    emit(
        info,
        as_json,
        lambda: err.print(
            f"created project [bold]{info.name}[/] ({info.task}, "
            f"{len(info.labels)} labels, backbone {info.backbone})"
        ),
    )


@project_app.command("list")
def project_list(as_json: JsonOpt = False) -> None:
    """List the projects of the workspace."""
    projects = ws().list_projects()

    def render() -> None:
        table = Table("name", "task", "labels", "backbone")
        for p in projects:
            table.add_row(p.name, p.task, ", ".join(p.labels), p.backbone)
        out.print(table)

    emit(projects, as_json, render)


@project_app.command("set")
def project_set(
    name: Annotated[str, typer.Argument(help="Project name.")],
    backbone: Annotated[str | None, typer.Option("--backbone", help="Switch the backbone.")] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE project setting (repeatable).")
    ] = None,
    describe: Annotated[
        list[str] | None,
        typer.Option("--describe", help="LABEL=words describing it (repeatable)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a project's backbone, settings or label descriptions."""
    info = ws().update_project(
        name,
        backbone=backbone,
        settings=_pairs(setting, "--set") or None,
        descriptions=_pairs(describe, "--describe") or None,
    )
    emit(info, as_json, lambda: err.print(f"updated project [bold]{info.name}[/]"))


# -- data --------------------------------------------------------------------------------------
@app.command("import")
def import_(
    name: Annotated[str, typer.Argument(help="Project name.")],
    file: Annotated[
        Path, typer.Argument(help="CSV, TSV, JSONL, Parquet, Label Studio JSON or a folder.")
    ],
    format: Annotated[
        str | None, typer.Option("--format", help="Override format detection.")
    ] = None,
    text_field: Annotated[
        str, typer.Option("--text-field", help="Column holding the text.")
    ] = "text",
    id_field: Annotated[
        str | None, typer.Option("--id-field", help="Column holding your item id.")
    ] = None,
    label_field: Annotated[
        str | None, typer.Option("--label-field", help="Column with existing labels to import.")
    ] = None,
    annotator: Annotated[
        str | None, typer.Option("--annotator", help="Who gave the imported labels.")
    ] = None,
    label_separator: Annotated[
        str | None, typer.Option("--label-separator", help="Separator of several labels in a cell.")
    ] = None,
    labels_from_subfolders: Annotated[
        bool,
        typer.Option(
            "--labels-from-subfolders", help="Folder import: class_name/file gives the label."
        ),
    ] = False,
    max_field_bytes: Annotated[
        int, typer.Option("--max-field-bytes", help="Refuse fields larger than this.")
    ] = 1_000_000,
    as_json: JsonOpt = False,
) -> None:
    """Import items (and optionally their labels) into a project."""
    with progress_bar("importing") as (advance, set_total):
        result = ws().import_file(
            name,
            file,
            format=format,
            text_field=text_field,
            id_field=id_field,
            label_field=label_field,
            annotator=annotator,
            label_separator=label_separator,
            labels_from_subfolders=labels_from_subfolders,
            max_field_bytes=max_field_bytes,
            progress=advance,
            on_total=set_total,
        )

    def render() -> None:
        if result.already_imported:
            err.print(f"{file} was imported before with the same options: nothing changed")
            return
        err.print(
            f"imported {result.items_added} items from {result.rows} rows "
            f"({result.duplicates} duplicates skipped, {result.annotations_added} labels, "
            f"{result.suggestions_added} suggestions)"
        )

    emit(result, as_json, render)


@app.command("status")
def status(
    name: Annotated[str, typer.Argument(help="Project name.")], as_json: JsonOpt = False
) -> None:
    """Items, labels by source and label counts of a project."""
    result = ws().status(name)

    def render() -> None:
        out.print(f"[bold]{result.project}[/] ({result.task}, backbone {result.backbone})")
        out.print(
            f"items: {result.items}   labelled: {result.labelled}   "
            f"suggestions: {result.suggestions}   champion model: {result.champion or '-'}"
        )
        out.print("by source: " + ", ".join(f"{k} {v}" for k, v in result.by_source.items()))
        table = Table("label", "count")
        for label, n in result.label_counts.items():
            table.add_row(label, str(n))
        out.print(table)

    emit(result, as_json, render)


@app.command("export")
def export(
    name: Annotated[str, typer.Argument(help="Project name.")],
    out_path: Annotated[
        Path, typer.Argument(metavar="OUT", help="File (or folder for hf) to write.")
    ],
    format: Annotated[
        str, typer.Option("--format", help="jsonl, csv, parquet, hf or labelstudio.")
    ] = "jsonl",
    only: Annotated[
        str,
        typer.Option("--only", help="human (typed labels), accepted (typed or confirmed) or all."),
    ] = "all",
    as_json: JsonOpt = False,
) -> None:
    """Export items with their labels, provenance and suggestions."""
    result = ws().export(name, out_path, format=format, only=only)
    emit(result, as_json, lambda: err.print(f"wrote {result.rows} rows to {result.out}"))


# -- the model -----------------------------------------------------------------------------------
@app.command("train")
def train(
    name: Annotated[str, typer.Argument(help="Project name.")], as_json: JsonOpt = False
) -> None:
    """Train a model version on the current labels (zero-shot with none) and maybe promote it."""
    with progress_bar("embedding") as (advance, _):
        result = ws().train(name, progress=advance)
    payload = {
        "model_version": result.model_version,
        "promoted": result.promoted,
        "metrics": result.metrics,
        "n_labels": result.n_labels,
        "kind": result.kind,
        "reason": result.reason,
        "train_seconds": result.train_seconds,
    }

    def render() -> None:
        verdict = "promoted to champion" if result.promoted else "kept as challenger"
        err.print(
            f"model version {result.model_version} ({result.kind}, {result.n_labels} labels): "
            f"{verdict}: {result.reason}"
        )
        shown = {k: v for k, v in result.metrics.items() if v is not None}
        if shown:
            err.print("cross-validated: " + ", ".join(f"{k} {v:.3f}" for k, v in shown.items()))

    emit(payload, as_json, render)


@app.command("predict")
def predict(
    name: Annotated[str, typer.Argument(help="Project name.")], as_json: JsonOpt = False
) -> None:
    """Refresh every unlabelled item's suggestion from the champion model."""
    with progress_bar("embedding") as (advance, _):
        result = ws().predict(name, progress=advance)
    emit(
        result,
        as_json,
        lambda: err.print(
            f"{result.items} suggestions from model version {result.model_version} "
            f"({result.kind}); "
            f"{result.embedded} items newly embedded; queue ordered by {result.strategy}"
        ),
    )


@app.command("models")
def models(
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
    if action == "promote":
        if len(rest) != 2 or not rest[1].isdigit():
            raise InvalidInput("usage: labelloop models promote NAME VERSION", field="VERSION")
        info = ws().promote(rest[0], int(rest[1]))
        emit(info, as_json, lambda: err.print(f"model version {info.version} is now the champion"))
        return
    if len(rest) != 1:
        raise InvalidInput(f"usage: labelloop models {action} NAME", field="NAME")
    if action == "rollback":
        info = ws().rollback(rest[0])
        emit(
            info, as_json, lambda: err.print(f"rolled back: version {info.version} is the champion")
        )
        return
    versions = ws().models(rest[0])

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


@app.command("evaluate")
def evaluate(
    name: Annotated[str, typer.Argument(help="Project name.")],
    file: Annotated[Path, typer.Argument(help="Labelled file to score the champion on.")],
    text_field: Annotated[str, typer.Option("--text-field")] = "text",
    label_field: Annotated[str, typer.Option("--label-field")] = "label",
    as_json: JsonOpt = False,
) -> None:
    """Score the champion model on an outside labelled file."""
    result = ws().evaluate(name, file, text_field=text_field, label_field=label_field)
    payload = result.model_dump(mode="json")
    emit(
        payload,
        as_json,
        lambda: err.print(
            f"model version {result.model_version} on {result.n} items: "
            f"accuracy {result.accuracy:.4f}, "
            f"macro-F1 {result.macro_f1:.4f}"
        ),
    )


backbones_app = typer.Typer(
    help="Pre-trained backbones: list them, rank them on a project.", no_args_is_help=True
)
app.add_typer(backbones_app, name="backbones")


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
    name: Annotated[str, typer.Argument(help="Project name.")], as_json: JsonOpt = False
) -> None:
    """Score every installed backbone on the project's labels and recommend one."""
    result = ws().rank_backbones(name)

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


# -- annotation ------------------------------------------------------------------------------------
@app.command("next")
def next_(
    name: Annotated[str, typer.Argument(help="Project name.")],
    n: Annotated[int, typer.Option("--n", help="How many items.")] = 10,
    annotator: Annotated[
        str | None, typer.Option("--annotator", help="Lease the items to this annotator.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The next items to label, in queue order, with the model's suggestion and confidence."""
    items = ws().next_items(name, n=n, annotator=annotator)

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


@app.command("label")
def label(
    name: Annotated[str, typer.Argument(help="Project name.")],
    item_id: Annotated[int, typer.Argument(help="Item id (from next).")],
    value: Annotated[
        str, typer.Argument(help="Label name; several comma-separated for multi-label.")
    ],
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
    result = ws().submit(name, item_id, [v.strip() for v in value.split(",")], annotator=annotator)
    trained = ws().train(name) if retrain and result.retrain_due else None
    payload = result.model_dump(mode="json")
    payload["trained"] = trained.model_dump(mode="json") if trained else None

    def render() -> None:
        err.print(f"item {item_id}: {', '.join(result.value or [])} ({result.source})")
        if trained:
            err.print(
                f"retrained: model version {trained.model_version}, "
                f"{'promoted' if trained.promoted else 'kept as challenger'}"
            )

    emit(payload, as_json, render)


def _register_server_commands() -> None:
    """The web app's, the loop's and QA's commands live in their own modules; importing them
    registers them on ``app``."""
    from labelloop import _cli_loop, _cli_qa, _cli_server  # noqa: F401


def main() -> None:
    """Entry point: run the app, turning labelloop errors into one line on stderr."""
    _register_server_commands()
    try:
        code = app(standalone_mode=False)
    except LabelloopError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        err.print("aborted")
        sys.exit(130)
    finally:
        if state.ws is not None:
            state.ws.close()
            state.ws = None
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    # Run the importable module's main, not this __main__ copy: the command modules register on
    # ``labelloop.cli.app``, which is a different object from this copy's ``app``.
    from labelloop.cli import main as _main

    _main()
