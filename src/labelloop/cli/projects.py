"""``labelloop project create|list|set|delete|delete-items``: projects, their label schema,
and deleting them or some of their items."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from labelloop.cli._common import JsonOpt, emit, err, out, workspace
from labelloop.errors import InvalidInput

__all__ = ["project_app"]

project_app = typer.Typer(help="Create, list and configure projects.", no_args_is_help=True)


def _pairs(pairs: list[str] | None, option: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"expected KEY=VALUE, got {pair!r}", field=option)
        parsed[key.strip()] = value.strip()
    return parsed


@project_app.command("create")
def project_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    labels: Annotated[str, typer.Option("--labels", help="Comma-separated label names.")],
    task: Annotated[str, typer.Option("--task", help="Task type.")] = "text-classification",
    multi_label: Annotated[
        bool, typer.Option("--multi-label", help="Items may have several labels.")
    ] = False,
    backbone: Annotated[
        str | None, typer.Option("--backbone", help="Pre-trained backbone.")
    ] = None,
    allow_overlap: Annotated[
        bool, typer.Option("--allow-overlap", help="Spans: answers may hold overlapping spans.")
    ] = False,
    type_map: Annotated[
        list[str] | None,
        typer.Option(
            "--type-map",
            help="Spans: TYPE=LABEL, a pre-trained entity type's label (TYPE= drops it); "
            "image-boxes: CLASS=LABEL, a detector class's label (Footwear=shoe). Repeatable.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a project with its label schema."""
    info = workspace(ctx).create_project(
        name, labels=labels, task=task, multi_label=multi_label, backbone=backbone,
        allow_overlap=allow_overlap, type_map=_pairs(type_map, "--type-map") or None,
    )  # fmt: skip
    emit(
        info,
        as_json,
        lambda: err.print(
            f"created project [bold]{info.name}[/] ({info.task}, "
            f"{len(info.labels)} labels, backbone {info.backbone})"
        ),
    )


@project_app.command("list")
def project_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the projects of the workspace."""
    projects = workspace(ctx).list_projects()

    def render() -> None:
        table = Table("name", "task", "labels", "backbone")
        for p in projects:
            table.add_row(p.name, p.task, ", ".join(p.labels), p.backbone)
        out.print(table)

    emit(projects, as_json, render)


@project_app.command("set")
def project_set(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    backbone: Annotated[str | None, typer.Option("--backbone", help="Switch the backbone.")] = None,
    setting: Annotated[
        list[str] | None, typer.Option("--set", help="KEY=VALUE project setting (repeatable).")
    ] = None,
    describe: Annotated[
        list[str] | None,
        typer.Option("--describe", help="LABEL=words describing it (repeatable)."),
    ] = None,
    allow_overlap: Annotated[
        bool | None,
        typer.Option("--allow-overlap/--no-allow-overlap", help="Spans: may spans overlap?"),
    ] = None,
    type_map: Annotated[
        list[str] | None,
        typer.Option(
            "--type-map",
            help="Spans: TYPE=LABEL into the type map (TYPE= drops it); image-boxes: "
            "CLASS=LABEL for a detector class.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a project's backbone, settings, label descriptions, or a span project's overlap
    rule and type map."""
    info = workspace(ctx).update_project(
        name,
        backbone=backbone,
        settings=_pairs(setting, "--set") or None,
        descriptions=_pairs(describe, "--describe") or None,
        allow_overlap=allow_overlap,
        type_map=_pairs(type_map, "--type-map") or None,
    )
    emit(info, as_json, lambda: err.print(f"updated project [bold]{info.name}[/]"))


def _confirm(what: str, name: str, yes: bool) -> None:
    """Go ahead when ``--yes`` was given, or when the user types the project's name at the
    prompt; refuse otherwise (a script without ``--yes`` deletes nothing)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InvalidInput(f"{what} cannot be undone: add --yes to confirm", field="--yes")
    typed = typer.prompt(f"{what} cannot be undone. Type the project's name ({name}) to confirm")
    if typed.strip() != name:
        raise InvalidInput("the name typed does not match; nothing was deleted", field="--yes")


YesOpt = Annotated[bool, typer.Option("--yes", help="Delete without asking to confirm.")]


@project_app.command("delete")
def project_delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete a project with its items, answers, suggestions, model versions and their files,
    flags, comments and memberships (the shared embedding cache stays)."""
    ws = workspace(ctx)
    ws.project(name)  # NotFound before asking
    _confirm(f"Deleting project {name!r}", name, yes)
    result = ws.delete_project(name)
    emit(
        result,
        as_json,
        lambda: err.print(f"deleted project [bold]{name}[/] ({result.items} items)"),
    )


@project_app.command("delete-items")
def project_delete_items(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    item_ids: Annotated[list[int], typer.Argument(help="Ids of the items to delete.")],
    yes: YesOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Delete items (by id) with their answers, suggestions, flags and comments: all of them
    or, when one id is not the project's, none."""
    ws = workspace(ctx)
    ws.project(name)
    _confirm(f"Deleting {len(item_ids)} items of {name!r}", name, yes)
    result = ws.delete_items(name, item_ids)
    emit(
        result,
        as_json,
        lambda: err.print(f"deleted {result.items} items of [bold]{name}[/]"),
    )
