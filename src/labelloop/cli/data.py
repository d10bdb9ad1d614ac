"""``labelloop import|status|export``: items and labels in and out of a project."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from labelloop.cli._common import JsonOpt, emit, err, out, progress, workspace
from labelloop.errors import InvalidInput
from labelloop.services.data.formats import EXPORT_FORMATS, IMPORT_FORMATS
from labelloop.services.data.importing import ImportOptions

__all__ = ["export", "import_", "status"]


def _one_of(names: tuple[str, ...]) -> str:
    """``a, b or c``: a format list for help text, from the services' own list."""
    return f"{', '.join(names[:-1])} or {names[-1]}"


def import_(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV, TSV, JSONL, Parquet, Label Studio or COCO JSON, a folder or a zip."
        ),
    ],
    format: Annotated[
        str | None,
        typer.Option("--format", help=f"Override format detection: {_one_of(IMPORT_FORMATS)}."),
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
    media_root: Annotated[
        Path | None,
        typer.Option(
            "--media-root",
            help="Folder the file's relative image/audio paths are relative to "
            "(default: the file's own folder).",
        ),
    ] = None,
    path_field: Annotated[
        str, typer.Option("--path-field", help="Image/audio projects: column naming each file.")
    ] = "path",
    on_bad_file: Annotated[
        str,
        typer.Option(
            "--on-bad-file",
            help="A corrupt, truncated, unsupported, oversize or missing media file: "
            "refuse (import nothing, name every bad file) or skip (import the rest, list them).",
        ),
    ] = "refuse",
    max_media_bytes: Annotated[
        int, typer.Option("--max-media-bytes", help="Largest media file accepted.")
    ] = 100 << 20,
    as_json: JsonOpt = False,
) -> None:
    """Import items (and optionally their labels) into a project: a data file, a folder (of
    images or audio, YOLO or Pascal VOC), a COCO JSON file, or a zip of any of these."""
    with progress() as shown:
        result = workspace(ctx).import_file(
            name,
            file,
            ImportOptions(
                format=format,
                text_field=text_field,
                id_field=id_field,
                label_field=label_field,
                annotator=annotator,
                label_separator=label_separator,
                labels_from_subfolders=labels_from_subfolders,
                max_field_bytes=max_field_bytes,
                media_dir=None if media_root is None else str(media_root),
                path_field=path_field,
                on_bad_file=on_bad_file,
                max_media_bytes=max_media_bytes,
            ),
            progress=shown.stage("importing", None, unit="rows"),
            on_total=shown.set_total,
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
        if result.skipped:
            err.print(f"skipped {len(result.skipped)} bad files:")
            for bad in result.skipped:
                err.print(f"  {bad.file} (line {bad.line}): {bad.reason}", markup=False)

    emit(result, as_json, render)


def status(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    as_json: JsonOpt = False,
) -> None:
    """Items, labels by source and label counts of a project."""
    result = workspace(ctx).status(name)

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


def export(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Project name.")],
    out_path: Annotated[
        Path, typer.Argument(metavar="OUT", help="File (or folder for hf) to write.")
    ],
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help=f"{_one_of(EXPORT_FORMATS)}. Default: the one OUT's extension names "
            "(jsonl, csv, parquet; json means labelstudio)",
        ),
    ] = None,
    only: Annotated[
        str,
        typer.Option("--only", help="human (typed labels), accepted (typed or confirmed) or all."),
    ] = "all",
    label_studio_users: Annotated[
        Path | None,
        typer.Option(
            "--label-studio-users",
            metavar="FILE",
            help="labelstudio only: a JSON object mapping each annotator's name to the Label "
            "Studio user its annotations are completed_by (an e-mail or an integer id), e.g. "
            '{"alice": "alice@example.com", "bob": 7}.',
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Export items with their labels, provenance and suggestions."""
    users = None if label_studio_users is None else _read_user_map(label_studio_users)
    result = workspace(ctx).export(
        name, out_path, format=format, only=only, label_studio_users=users
    )
    emit(result, as_json, lambda: err.print(f"wrote {result.rows} rows to {result.out}"))


def _read_user_map(path: Path) -> dict[str, Any]:
    """``--label-studio-users``' file: a JSON object (checked further by the exporter)."""
    try:
        users = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise InvalidInput(f"cannot read it: {e.strerror or e}", file=str(path)) from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InvalidInput(f"not a JSON object of annotator -> user: {e}", file=str(path)) from e
    if not isinstance(users, dict):
        raise InvalidInput(
            f"not a JSON object of annotator -> user: found {type(users).__name__}",
            file=str(path),
        )
    return users
