"""Import a file or folder into a project: one transaction, streamed in batches."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from labelloop.errors import InvalidInput
from labelloop.services.data._batches import MAX_PROBLEMS, BatchImporter, Counts
from labelloop.services.data.formats import (
    ImportRecord,
    count_rows_hint,
    detect_format,
    read_records,
)
from labelloop.services.data.formats._zip import extract_zip, is_zip, zip_root
from labelloop.services.data.formats.readers import FOLDER_IMPORT_FORMATS
from labelloop.services.projects import label_schema
from labelloop.services.results import ImportResult, SkippedFile
from labelloop.store import Annotation, ImportRun, Item, Suggestion, analyze, repo
from labelloop.store.queries import importing as queries
from labelloop.tasks import file_digest

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["BAD_FILE_CHOICES", "MAX_PROBLEMS", "ImportOptions", "import_file"]

BATCH = 2000
BAD_FILE_CHOICES = ("refuse", "skip")
"""What an import does with a bad media file (:attr:`ImportOptions.on_bad_file`)."""
#: The data files a zip may hold at its top (imported with the media files beside them).
DATA_FILE_SUFFIXES = frozenset({".csv", ".tsv", ".jsonl", ".ndjson", ".json", ".parquet"})


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file for import; shared by the CLI, the REST API and :class:`Workspace`.

    Attributes:
        format: One of :data:`~labelloop.services.data.formats.IMPORT_FORMATS` (``csv``,
            ``tsv``, ``jsonl``, ``parquet``, ``labelstudio``, ``folder``, ``hf``, ``conll``,
            ``spacy``, ``coco``, ``yolo``, ``voc``); ``None`` detects it from the name. For a
            zip, the format of what it holds.
        text_field: Column or key holding the text.
        id_field: Column with the caller's own item id (kept as ``external_id``).
        label_field: Column with existing labels, imported as human answers.
        annotator: Who gave those labels.
        label_separator: Splits a multi-label cell (``"a|b"``).
        labels_from_subfolders: Folder import: ``class_name/file`` gives the label.
        max_field_bytes: Longest accepted field.
        max_media_bytes: Largest media file an item may name.
        max_meta_bytes: Largest ``meta`` of one item, as JSON (it is served with the item).
        max_decompressed_bytes: Largest uncompressed size of a Parquet file, read from its
            metadata before any data is (a small compressed file can expand a thousandfold).
        media_roots: Folders media files may be read from besides the workspace's media root.
            ``None`` (a local caller naming a file on disk): the imported file's own folder
            too. The server passes its configured media roots, so an uploaded file can only
            name media under them.
        path_field: Image and audio projects: the CSV/TSV/JSONL/Parquet column naming each
            row's file.
        media_dir: The folder that relative media paths in the file are relative to (CLI
            ``--media-root``); None: the imported file's own folder. It must be one the
            import may read (``media_roots``).
        on_bad_file: What a corrupt, truncated, unsupported, oversize or missing media file
            does: ``refuse`` (the default) imports nothing and names every bad file (up to
            :data:`MAX_PROBLEMS`); ``skip`` imports the good files and lists the bad ones in
            :attr:`ImportResult.skipped`. Either way nothing is half-written.
        max_zip_bytes: Largest uncompressed size of a zip file's members, checked before any
            is extracted.
        max_zip_files: Most files a zip file may hold.
    """

    format: str | None = None
    text_field: str = "text"
    id_field: str | None = None
    label_field: str | None = None
    annotator: str | None = None
    label_separator: str | None = None
    labels_from_subfolders: bool = False
    max_field_bytes: int = 1_000_000
    max_media_bytes: int = 100 << 20
    max_meta_bytes: int = 64 << 10
    max_decompressed_bytes: int = 1 << 30
    media_roots: tuple[str, ...] | None = None
    path_field: str = "path"
    media_dir: str | None = None
    on_bad_file: str = "refuse"
    max_zip_bytes: int = 8 << 30
    max_zip_files: int = 500_000

    def _fingerprint(self, fmt: str) -> dict[str, Any]:
        # what makes two imports of the same bytes the same import (max_field_bytes does not)
        fingerprint: dict[str, Any] = {
            "format": fmt,
            "text_field": self.text_field,
            "id_field": self.id_field,
            "label_field": self.label_field,
            "annotator": self.annotator,
            "label_separator": self.label_separator,
            "labels_from_subfolders": self.labels_from_subfolders,
        }
        # newer options only when set, so the files imported before keep their fingerprint
        if self.path_field != "path":
            fingerprint["path_field"] = self.path_field
        if self.media_dir is not None:
            fingerprint["media_dir"] = str(Path(self.media_dir).resolve())
        return fingerprint


def import_file(
    ws: WorkspaceContext,
    name: str,
    path: Path,
    options: ImportOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
    on_total: Callable[[int | None], None] | None = None,
) -> ImportResult:
    """Import ``path`` into project ``name``.

    Items whose content is already in the project are counted as duplicates and skipped (their
    labels still apply); importing the same file with the same options again changes nothing.
    Any bad row aborts the whole import with :class:`InvalidInput` naming file, line and field;
    the rest of the file is still checked, so the error's ``also`` holds the next bad rows (up
    to :data:`MAX_PROBLEMS` in all, and a reader's error ends the check). A bad media file
    (missing, corrupt, truncated, unsupported, over ``max_media_bytes``) is such a row, unless
    ``on_bad_file="skip"``: it is then left out and listed in the result's ``skipped``.

    A zip file is extracted into ``<media root>/imports/`` and its content imported (see
    :func:`_import_zip`); what it extracted is removed again when the import fails.

    Example:
        >>> import_file(ws, "pets", Path("photos.zip"),
        ...             ImportOptions(labels_from_subfolders=True, on_bad_file="skip"))
        ... # doctest: +SKIP
        ImportResult(project='pets', ..., items_added=1998, skipped=[SkippedFile(...), ...])
    """
    if not path.exists():
        raise InvalidInput("no such file or folder", file=str(path))
    opts = options or ImportOptions()
    _check_options(opts)
    if is_zip(path):
        return _import_zip(ws, name, path, opts, progress=progress, on_total=on_total)
    fmt = opts.format or detect_format(path)
    fingerprint = file_digest(path, extra=opts._fingerprint(fmt)) if path.is_file() else None
    return _import(ws, name, path, opts, fmt, fingerprint, progress=progress, on_total=on_total)


def _check_options(opts: ImportOptions) -> None:
    if opts.on_bad_file not in BAD_FILE_CHOICES:
        raise InvalidInput(
            f"unknown on_bad_file {opts.on_bad_file!r}; choose one of "
            f"{', '.join(BAD_FILE_CHOICES)}",
            field="on_bad_file",
        )
    if opts.media_dir is not None and not Path(opts.media_dir).is_dir():
        raise InvalidInput("the media folder does not exist", file=opts.media_dir)


def _import(
    ws: WorkspaceContext,
    name: str,
    path: Path,
    opts: ImportOptions,
    fmt: str,
    fingerprint: str | None,
    *,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int | None], None] | None,
) -> ImportResult:
    """:func:`import_file` of a file or folder (not a zip) in format ``fmt``."""
    if fmt == "parquet":
        _check_parquet_size(path, opts.max_decompressed_bytes)
    if on_total is not None:
        on_total(count_rows_hint(path))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        if fingerprint is not None and queries.already_imported(session, project.id, fingerprint):
            return ImportResult(
                project=name, file=str(path), format=fmt, rows=0, items_added=0,
                duplicates=0, annotations_added=0, already_imported=True,
            )  # fmt: skip
        problems: list[InvalidInput] = []  # the reader's and the importer's, in one list
        records = read_records(
            path,
            format=fmt,
            text_field=opts.text_field,
            id_field=opts.id_field,
            label_field=opts.label_field,
            annotator=opts.annotator,
            label_separator=opts.label_separator,
            labels_from_subfolders=opts.labels_from_subfolders,
            max_field_bytes=opts.max_field_bytes,
            schema=schema,
            problems=problems,
            path_field=opts.path_field,
        )
        counts = Counts()
        importer = BatchImporter(
            session, project, schema, path, dataclasses.replace(opts, format=fmt),
            ws.media_root, problems,
        )  # fmt: skip
        try:
            for batch in _batched(records, BATCH):
                importer.add(batch, counts)
                if progress is not None:
                    progress(len(batch))
        except InvalidInput as exc:  # a reader's error: it cannot read on
            if not importer.problems:
                raise
            importer.problems.append(exc)
        importer.raise_problems()
        if counts.rows == 0:
            raise InvalidInput("the file has no rows to import", file=str(path))
        _refresh_statistics(session, counts)
        # an import that skipped files is not done: once they are fixed it may run again
        if fingerprint is not None and not importer.skipped:
            session.add(
                ImportRun(
                    project_id=project.id,
                    fingerprint=fingerprint,
                    filename=str(path),
                    n_items=counts.items,
                    n_duplicates=counts.duplicates,
                    n_annotations=counts.annotations,
                )
            )
        return ImportResult(
            project=name,
            file=str(path),
            format=fmt,
            rows=counts.rows,
            items_added=counts.items,
            duplicates=counts.duplicates,
            annotations_added=counts.annotations,
            suggestions_added=counts.suggestions,
            skipped=[
                SkippedFile(file=bad.media, line=bad.line, reason=bad.reason)
                for bad in importer.skipped
            ],
        )


def _import_zip(
    ws: WorkspaceContext,
    name: str,
    path: Path,
    opts: ImportOptions,
    *,
    progress: Callable[[int], None] | None,
    on_total: Callable[[int | None], None] | None,
) -> ImportResult:
    """Import a zip file: extracted safely into ``<media root>/imports/<its sha256>/`` (so its
    files stay with the workspace), then imported as the folder or the one data file it holds.

    The folder is kept only when the import commits: a refused import removes what it
    extracted. The same zip imported again reuses its folder (same bytes, same name).
    """
    fingerprint = file_digest(path, extra=opts._fingerprint("zip"))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        if queries.already_imported(session, project.id, fingerprint):
            return ImportResult(
                project=name, file=str(path), format="zip", rows=0, items_added=0,
                duplicates=0, annotations_added=0, already_imported=True,
            )  # fmt: skip
    dest = ws.media_root / "imports" / file_digest(path)[:32]
    created = not dest.exists() and extract_zip(
        path, dest, max_bytes=opts.max_zip_bytes, max_files=opts.max_zip_files
    )
    try:
        target, fmt = _zip_target(zip_root(dest), opts.format, path)
        inner = dataclasses.replace(opts, format=fmt, media_dir=None)
        result = _import(
            ws, name, target, inner, fmt, fingerprint, progress=progress, on_total=on_total
        )
    except BaseException as exc:
        if created:
            shutil.rmtree(dest, ignore_errors=True)
        if (
            isinstance(exc, InvalidInput)
            and exc.file is not None
            and exc.file.startswith(str(dest))
        ):
            raise _in_zip(exc, path, dest) from None
        raise
    return result.model_copy(update={"file": str(path), "format": f"zip/{fmt}"})


def _zip_target(root: Path, fmt: str | None, zip_path: Path) -> tuple[Path, str]:
    """What to import from an extracted zip: the folder (``fmt`` a folder format, or none
    given and no data file at its top), else its one data file."""
    if fmt in FOLDER_IMPORT_FORMATS:
        return root, fmt
    data_files = sorted(
        p for p in root.iterdir() if p.is_file() and p.suffix.lower() in DATA_FILE_SUFFIXES
    )
    if fmt is None and not data_files:
        return root, detect_format(root)
    if len(data_files) != 1:
        found = ", ".join(p.name for p in data_files) or "none"
        raise InvalidInput(
            f"a zip imported as {fmt or 'a data file'} needs exactly one data file at its top"
            f" (found: {found})",
            file=str(zip_path),
        )
    return data_files[0], fmt or detect_format(data_files[0])


def _in_zip(exc: InvalidInput, zip_path: Path, dest: Path) -> InvalidInput:
    """``exc`` naming the zip file (and the member inside it) instead of the extracted copy."""

    def where(e: InvalidInput) -> str | None:
        if e.file is None or not e.file.startswith(str(dest)):
            return e.file
        inside = Path(e.file).relative_to(dest).as_posix()
        return str(zip_path) if inside == "." else f"{zip_path} ({inside})"

    also = [InvalidInput(a.reason, file=where(a), line=a.line, field=a.field) for a in exc.also]
    return InvalidInput(exc.reason, file=where(exc), line=exc.line, field=exc.field, also=also)


def _check_parquet_size(path: Path, limit: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        metadata = pq.ParquetFile(path).metadata
    except (OSError, pa.ArrowException):
        return  # not Parquet: the reader reports it, naming the file
    size = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    if size > limit:
        raise InvalidInput(
            f"the Parquet file holds {size} bytes uncompressed, over the limit of {limit}",
            file=str(path),
        )


def _refresh_statistics(session: Session, counts: Counts) -> None:
    """Planner statistics for the tables a bulk import wrote (PostgreSQL; see ``store.analyze``).

    A small import changes no plan: it is left to autovacuum.
    """
    written = {
        Item.__tablename__: counts.items,
        Annotation.__tablename__: counts.annotations,
        Suggestion.__tablename__: counts.suggestions,
    }
    analyze(session, *[table for table, n in written.items() if n >= BATCH])


def _batched(records: Iterable[ImportRecord], size: int) -> Iterator[list[ImportRecord]]:
    iterator = iter(records)
    while batch := list(itertools.islice(iterator, size)):
        yield batch
