"""Validating and writing an import's records, one batch at a time, inside the import's
transaction (:func:`labelloop.services.data.importing.import_file` drives it)."""

from __future__ import annotations

import dataclasses
import json
import math
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.orm import Session

from labelloop.backbones.images import open_upright
from labelloop.errors import InvalidInput
from labelloop.schema import LabelSchema, Modality
from labelloop.services.data.formats import ImportedPrediction, ImportRecord
from labelloop.services.data.formats._folder import IMAGE_EXTENSIONS, UNSUPPORTED
from labelloop.store import (
    Annotation,
    Item,
    ModelKind,
    ModelStatus,
    ModelVersion,
    Project,
    Source,
    Suggestion,
    analyze,
    repo,
)
from labelloop.store.queries import importing as queries
from labelloop.store.queries import models as model_queries
from labelloop.store.suggestions import set_queued, suggestion_of
from labelloop.tasks import AnswerShape, Where, task_for

if TYPE_CHECKING:
    from labelloop.services.data.importing import ImportOptions

__all__ = ["MAX_PROBLEMS", "SELF_CONTAINED_FORMATS", "BadFile", "BatchImporter", "Counts"]

SOURCES = tuple(Source)
MAX_PROBLEMS = 20
"""Bad rows one failed import reports at most (the first, and up to this many in all)."""
#: Folder formats whose media files lie in the folder itself (``media_dir`` does not apply).
SELF_CONTAINED_FORMATS = ("folder", "yolo", "voc")


class BadFile(InvalidInput):
    """A media file that cannot be imported (missing, corrupt, truncated, unsupported, over
    the size limit, outside the allowed folders): refused, or skipped when the user asks."""

    def __init__(self, message: str, *, media: str, file: str, line: int) -> None:
        super().__init__(message, file=file, line=line, field="path")
        self.media = media


# what the database stores of an item's id and an annotator's name (both databases: a longer
# string or a NUL is refused by PostgreSQL alone)
_STORED_LENGTH: dict[str, int] = {
    "id": Item.__table__.c.external_id.type.length,  # type: ignore[attr-defined]
    "annotator": Annotation.__table__.c.annotator.type.length,  # type: ignore[attr-defined]
}


@dataclass
class Counts:
    rows: int = 0
    items: int = 0
    duplicates: int = 0
    annotations: int = 0
    suggestions: int = 0
    imported_models: dict[str, int] = field(default_factory=dict)


def _span_key(span: Any) -> tuple[int, int, str]:
    return int(span["start"]), int(span["end"]), str(span["label"])


class BatchImporter:
    """Validates and writes one batch of records at a time.

    Nothing is kept from one batch to the next but ``analyzed``: whether the planner statistics
    of the items were refreshed yet.
    """

    def __init__(
        self,
        session: Session,
        project: Project,
        schema: LabelSchema,
        path: Path,
        opts: ImportOptions,
        media_root: Path,
        problems: list[InvalidInput],
    ) -> None:
        self.session = session
        self.project = project
        self.schema = schema
        self.task = task_for(schema)
        self.spans = self.task.tags.answer is AnswerShape.SPANS
        self.boxes = self.task.tags.answer is AnswerShape.BOXES
        self.path = path
        root = (path if path.is_dir() else path.parent).resolve()
        self.media_root = media_root.resolve()
        extra = (
            [root] if opts.media_roots is None else [Path(r).resolve() for r in opts.media_roots]
        )
        self.allowed = [self.media_root, *extra]
        # relative media paths resolve against the imported file's folder when media may be
        # read there, else (an upload in a temporary folder) against the media root
        inside = any(root.is_relative_to(a) for a in self.allowed)
        self.root = root if inside else self.media_root
        if opts.media_dir is not None and opts.format not in SELF_CONTAINED_FORMATS:
            self.root = self._media_dir(Path(opts.media_dir).resolve(), opts)
        self.skip = opts.on_bad_file == "skip"
        self.skipped: list[BadFile] = []
        self.max_media_bytes = opts.max_media_bytes
        self.max_meta_bytes = opts.max_meta_bytes
        self.label_field = opts.label_field or "annotations"
        self.analyzed = False
        # bad rows found so far (the reader adds its own): once there is one, the rest are
        # only checked, never written
        self.problems = problems

    def _media_dir(self, media_dir: Path, opts: ImportOptions) -> Path:
        """The folder relative media paths are read from, checked against the allowed ones (a
        local caller may name any folder; the server only folders under its media roots)."""
        if opts.media_roots is None:
            self.allowed.append(media_dir)
        elif not any(media_dir.is_relative_to(a) for a in self.allowed):
            raise InvalidInput(
                f"the media folder {opts.media_dir} is outside the media roots this import may"
                " read",
                field="media_dir",
            )
        return media_dir

    def _problem(self, exc: InvalidInput) -> None:
        self.problems.append(exc)
        if len(self.problems) >= MAX_PROBLEMS:
            self.raise_problems()

    def raise_problems(self) -> None:
        """Raise the first bad row's error, with the others as its ``also``, if there was one."""
        if self.problems:
            by_line = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
            first, *rest = by_line[:MAX_PROBLEMS]
            raise InvalidInput(
                first.reason, file=first.file, line=first.line, field=first.field, also=rest
            ) from None

    def add(self, batch: list[ImportRecord], counts: Counts) -> None:
        if counts.items and not self.analyzed:
            # Each batch looks its hashes up among the items written so far; with no statistics
            # on them PostgreSQL scans every item per lookup (seconds a batch at 100,000 items).
            analyze(self.session, Item.__tablename__)
            self.analyzed = True
        if len(self.problems) >= MAX_PROBLEMS:
            self.raise_problems()
        counts.rows += len(batch)
        checked: list[ImportRecord] = []
        hashes: list[str] = []
        for record in batch:
            try:
                digest = self._check(record)
                checked.append(self._located(self._answers(record)))
                hashes.append(digest)
            except BadFile as exc:
                if self.skip:
                    self.skipped.append(exc)
                else:
                    self._problem(exc)
            except InvalidInput as exc:
                self._problem(exc)
        batch = checked
        if self.problems:
            return  # nothing more is written: the import will be refused
        existing = repo.items_by_hash(self.session, self.project.id, hashes)
        try:
            self._check_external_ids(batch, hashes)
        except InvalidInput as exc:
            self._problem(exc)
            return

        new_rows: list[dict[str, Any]] = []
        first_line: dict[str, int] = {}
        for record, digest in zip(batch, hashes, strict=True):
            if digest in existing or digest in first_line:
                counts.duplicates += 1
                continue
            first_line[digest] = record.line
            new_rows.append(
                {
                    "project_id": self.project.id,
                    "external_id": record.external_id,
                    "data": record.data,
                    "content_hash": digest,
                    "media_path": record.data.get("path"),
                }
            )
        if new_rows:
            # A plain executemany, then one lookup of the new ids by hash: INSERT ... RETURNING
            # in parameter order runs one statement per row on SQLite.
            queries.insert_items(self.session, new_rows)
            existing.update(
                repo.items_by_hash(
                    self.session, self.project.id, [r["content_hash"] for r in new_rows]
                )
            )
            counts.items += len(new_rows)
        self._add_annotations(batch, hashes, existing, counts)
        self._add_predictions(batch, hashes, existing, counts)
        # labelled items wait in no queue, whatever their imported or earlier suggestion
        labelled = [existing[h] for r, h in zip(batch, hashes, strict=True) if r.annotations]
        set_queued(self.session, labelled, False)

    def _check(self, record: ImportRecord) -> str:
        """Validate one record against the project and return its content hash (its answers:
        :meth:`_answers`)."""
        file = str(self.path)
        modality = self.task.tags.modality
        if modality is Modality.TEXT and "text" not in record.data:
            raise InvalidInput(
                "this text project needs a text field", file=file, line=record.line, field="text"
            )
        if modality is not Modality.TEXT and record.data.get("media") != modality.value:
            if record.data.get("media") == UNSUPPORTED and "path" in record.data:
                given = str(record.data["path"])
                raise BadFile(
                    f"{given}: unsupported file type {Path(given).suffix or '(none)'}; an image"
                    f" project reads {' '.join(sorted(IMAGE_EXTENSIONS))}",
                    media=given,
                    file=file,
                    line=record.line,
                )
            raise InvalidInput(
                f"this {modality.value} project needs {modality.value} files",
                file=file,
                line=record.line,
                field="path",
            )
        if record.external_id is not None:
            self._check_stored(record.external_id, "id", record.line)
        for annotation in record.annotations:
            if annotation.annotator is not None:
                self._check_stored(annotation.annotator, "annotator", record.line)
            if annotation.source not in SOURCES:
                raise InvalidInput(
                    f"unknown source {annotation.source!r}; expected one of {', '.join(SOURCES)}",
                    file=file,
                    line=record.line,
                    field="source",
                )
        meta = record.data.get("meta")
        if meta is not None:
            size = len(json.dumps(meta, default=str))
            if size > self.max_meta_bytes:
                raise InvalidInput(
                    f"meta is {size} bytes as JSON, over the limit of {self.max_meta_bytes}",
                    file=file,
                    line=record.line,
                    field="meta",
                )
        data = record.data
        if "path" in data:
            full = self._media_file(record)
            data = {**data, "path": str(full)}
            if modality is Modality.IMAGE:
                self._check_image(full, record)
        try:
            return self.task.content_hash(data, media_root=None)
        except OSError as exc:
            given = str(record.data.get("path"))
            raise BadFile(
                f"{given}: cannot read the file: {exc.strerror}",
                media=given,
                file=file,
                line=record.line,
            ) from None

    def _check_image(self, full: Path, record: ImportRecord) -> None:
        """Decode the image (JPEGs at 1/8 scale): a corrupt or truncated file is a bad file."""
        try:
            open_upright(full, draft=1)
        except InvalidInput as exc:
            given = str(record.data["path"])
            raise BadFile(
                f"{given}: {exc.reason}", media=given, file=str(self.path), line=record.line
            ) from None

    def _check_stored(self, value: str, what: str, line: int) -> None:
        """Refuse a string the database cannot store: too long for its column, or with a NUL."""
        limit = _STORED_LENGTH[what]
        name = "the annotator's name (Label Studio: completed_by)" if what == "annotator" else what
        if len(value) > limit or "\x00" in value:
            why = (
                f"{len(value)} characters, over {limit}" if len(value) > limit else "a NUL (\\x00)"
            )
            raise InvalidInput(
                f"{name} {value[:40]!r}... holds {why}, which the database cannot store",
                file=str(self.path),
                line=line,
                field=what,
            )

    def _media_file(self, record: ImportRecord) -> Path:
        """The media file ``record`` names, resolved (symlinks followed): refused unless it is a
        regular file of at most ``max_media_bytes`` under one of the allowed folders."""

        def refuse(why: str) -> InvalidInput:
            media = str(record.data["path"])
            return BadFile(why, media=media, file=str(self.path), line=record.line)

        given = Path(str(record.data["path"]))
        try:
            full = (self.root / given).resolve(strict=True)  # an absolute ``given`` stays itself
        except (OSError, RuntimeError):
            raise refuse(f"no such media file: {given}") from None
        if not any(full.is_relative_to(root) for root in self.allowed):
            raise refuse(
                f"media file {given} is outside the media root {self.media_root} "
                "(paths may not leave it, by '..', an absolute path or a symlink)"
            )
        info = full.stat()
        if not stat.S_ISREG(info.st_mode):
            raise refuse(f"media file {given} is not a regular file")
        if info.st_size > self.max_media_bytes:
            raise refuse(
                f"media file {given} is {info.st_size} bytes, over the limit of "
                f"{self.max_media_bytes}"
            )
        return full

    def _check_value(self, value: tuple[Any, ...], line: int, data: dict[str, Any]) -> list[Any]:
        """The answer checked by the task against the item's ``data`` (spans against its
        text), normalised as it will be stored."""
        where = Where(file=str(self.path), line=line, field=self.label_field)
        try:
            return self.task.check_answer(
                self.schema, value, where=where, data=data, media_root=self.root
            )
        except InvalidInput as exc:
            if exc.file is not None:
                raise
            raise InvalidInput(exc.reason, file=where.file, line=line, field=exc.field) from None

    def _answers(self, record: ImportRecord) -> ImportRecord:
        """The record with its annotations and predictions checked and normalised (labels in
        schema order; spans snapped to the item's tokens and sorted, their scores with them)."""
        if not record.annotations and not record.predictions:
            return record
        data = record.data
        annotations = tuple(
            dataclasses.replace(a, value=tuple(self._check_value(a.value, record.line, data)))
            for a in record.annotations
        )
        predictions = tuple(self._checked_prediction(p, record) for p in record.predictions)
        return dataclasses.replace(record, annotations=annotations, predictions=predictions)

    def _checked_prediction(
        self, prediction: ImportedPrediction, record: ImportRecord
    ) -> ImportedPrediction:
        value = tuple(self._check_value(prediction.value, record.line, record.data))
        scores = prediction.scores
        if scores and len(scores) == len(prediction.value):
            # each span's score follows it to its snapped place in the sorted answer
            snapped = {}
            for raw, score in zip(prediction.value, scores, strict=True):
                (span,) = self._check_value((raw,), record.line, record.data)
                snapped[_span_key(span)] = score
            scores = tuple(snapped[_span_key(span)] for span in value)
        else:
            scores = ()
        probs = prediction.pred_probs
        if probs is not None:
            unknown = [label for label in probs if label not in self.schema.labels]
            if unknown:
                raise InvalidInput(
                    f"pred_probs names {unknown[0]!r}, which is not a label of the project",
                    file=str(self.path),
                    line=record.line,
                    field="suggestion.pred_probs",
                )
        return dataclasses.replace(prediction, value=value, scores=scores)

    def _located(self, record: ImportRecord) -> ImportRecord:
        """The record with its media path as the workspace will read it: relative to the
        workspace's media root when the file lies inside it (the workspace stays movable with its
        media folder), absolute otherwise; a path relative to the import folder would dangle."""
        if record.data.get("path") is None:
            return record
        full = self._media_file(record)
        media_root = self.media_root
        located = full.relative_to(media_root) if full.is_relative_to(media_root) else full
        return dataclasses.replace(record, data={**record.data, "path": located.as_posix()})

    def _check_external_ids(self, batch: list[ImportRecord], hashes: list[str]) -> None:
        ids = [r.external_id for r in batch if r.external_id is not None]
        if not ids:
            return
        known = repo.items_by_external_id(self.session, self.project.id, ids)
        for record, digest in zip(batch, hashes, strict=True):
            if record.external_id is None:
                continue
            hit = known.get(record.external_id)
            if hit is not None and hit[1] != digest:
                raise InvalidInput(
                    f"id {record.external_id!r} is already in the project with different content",
                    file=str(self.path),
                    line=record.line,
                    field="id",
                )
            known[record.external_id] = (hit[0] if hit else -1, digest)

    def _add_annotations(
        self,
        batch: list[ImportRecord],
        hashes: list[str],
        item_ids: dict[str, int],
        counts: Counts,
    ) -> None:
        labelled = [
            (record, item_ids[digest])
            for record, digest in zip(batch, hashes, strict=True)
            if record.annotations
        ]
        if not labelled:
            return
        current = {
            item_id: (tuple(a.value or ()), a.annotator, a.source)
            for item_id, a in repo.current_annotations(
                self.session, self.project.id, [item_id for _, item_id in labelled]
            ).items()
        }
        stored = set(current)  # items whose current label was in the database before this batch
        fresh: list[dict[str, Any]] = []
        for record, item_id in labelled:
            for annotation in record.annotations:
                key = (tuple(annotation.value), annotation.annotator, annotation.source)
                if current.get(item_id) == key:
                    continue
                row = {
                    "project_id": self.project.id,
                    "item_id": item_id,
                    "value": list(annotation.value),
                    "source": annotation.source,
                    "annotator": annotation.annotator,
                    "seconds": annotation.seconds,
                    "confidence": annotation.confidence,
                    "threshold": annotation.threshold,
                    "is_current": True,
                }
                if annotation.created_at is not None:
                    row["created_at"] = annotation.created_at
                if item_id in stored:
                    # A changed label: append it, keeping the earlier one as history.
                    repo.add_annotation(
                        self.session,
                        project_id=self.project.id,
                        item_id=item_id,
                        value=list(annotation.value),
                        source=annotation.source,
                        annotator=annotation.annotator,
                        seconds=annotation.seconds,
                        created_at=annotation.created_at,
                        confidence=annotation.confidence,
                        threshold=annotation.threshold,
                    )
                else:
                    fresh.append(row)
                current[item_id] = key
                counts.annotations += 1
        if fresh:
            self._insert_fresh(fresh)

    def _insert_fresh(self, rows: list[dict[str, Any]]) -> None:
        # Items seen for the first time in this batch may carry several annotations (a Label
        # Studio task with two annotators): only the last one per item is current.
        last: dict[int, int] = {}
        for index, row in enumerate(rows):
            last[row["item_id"]] = index
        for index, row in enumerate(rows):
            row["is_current"] = last[row["item_id"]] == index
        with_time = [r for r in rows if "created_at" in r]
        without = [r for r in rows if "created_at" not in r]
        for group in (with_time, without):
            if group:
                queries.insert_annotations(self.session, group)

    def _add_predictions(
        self,
        batch: list[ImportRecord],
        hashes: list[str],
        item_ids: dict[str, int],
        counts: Counts,
    ) -> None:
        for record, digest in zip(batch, hashes, strict=True):
            if not record.predictions:
                continue
            prediction = record.predictions[-1]
            version_id = self._imported_model(prediction.model_version or "imported")
            k = self.schema.n_labels
            score = 1.0 if prediction.score is None else float(prediction.score)
            if self.boxes:
                # each box's own score (as a box model's suggestions hold them); the whole
                # suggestion's confidence as the file gives it, else the least sure box's
                probs = [float(b.get("score", score)) for b in prediction.value]
                if prediction.score is None:
                    score = min(probs, default=1.0)
            elif self.spans:
                # one marginal per span; without a score of the whole set, the chance that
                # every span is right (the spans' own scores taken as independent)
                probs = list(prediction.scores) or [score] * len(prediction.value)
                if prediction.score is None and prediction.scores:
                    score = math.prod(prediction.scores)
            elif prediction.pred_probs is not None:
                # the file's own probabilities (a labelloop export): kept whole, a label it
                # leaves out at 0; the confidence as the model's decoding defines it, unless
                # the file gives it
                given = prediction.pred_probs
                probs = [given.get(label, 0.0) for label in self.schema.labels]
                if prediction.score is None:
                    decoded = self.task.decode(self.schema, np.asarray([probs], dtype=np.float64))
                    score = float(decoded.confidence[0])
            elif self.schema.multi_label:
                probs = [
                    score if label in prediction.value else 0.0 for label in self.schema.labels
                ]
            else:
                rest = (1.0 - score) / (k - 1) if k > 1 else 0.0
                probs = [
                    score if label in prediction.value else rest for label in self.schema.labels
                ]
            item_id = item_ids[digest]
            old = suggestion_of(self.session, item_id)
            if old is not None:
                self.session.delete(old)
                self.session.flush()
            self.session.add(
                Suggestion(
                    project_id=self.project.id,
                    item_id=item_id,
                    model_version_id=version_id,
                    value=list(prediction.value),
                    pred_probs=probs,
                    confidence=score,
                )
            )
            counts.suggestions += 1

    def _imported_model(self, tag: str) -> int:
        """A model version row standing for predictions that came from outside labelloop."""
        head = f"imported:{tag}"[:50]
        found = queries.imported_model_id(self.session, self.project.id, head)
        if found is not None:
            return found
        latest = model_queries.latest_number(self.session, self.project.id)
        version = ModelVersion(
            project_id=self.project.id,
            version=(latest or 0) + 1,
            status=ModelStatus.RETIRED,
            kind=ModelKind.IMPORTED,
            backbone="external",
            head=head,
            reason="predictions imported from a file",
        )
        self.session.add(version)
        self.session.flush()
        return version.id
