"""Score an image-boxes project's champion on an outside file of images with boxes.

The champion (the mapped pre-trained detector, or a trained box model) predicts every image of
the file; its candidate boxes (score >= :data:`~labelloop.services.models.boxes.CANDIDATE_SCORE`)
give mAP@0.5 overall and per label (pycocotools, as training scores its versions), and its
suggestion (the candidates scoring at least :data:`~labelloop.services.models.boxes.SUGGEST_SCORE`,
what an annotator is shown) gives box F1 at IoU 0.5, the mean IoU of the matched boxes, and the
share of images it gets exactly right (every box matched one to one with the same label, nothing
extra: the auto-accept criterion). Nothing is stored but image features in the feature cache.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labelloop.errors import InvalidInput, NotFound
from labelloop.schema import LabelSchema
from labelloop.services.data.formats import read_records
from labelloop.services.data.formats._zip import extract_zip, is_zip, zip_root
from labelloop.services.data.media import find_media
from labelloop.services.models import boxes
from labelloop.services.progress import Progress, stage
from labelloop.services.projects import label_schema
from labelloop.services.results import EvaluateResult
from labelloop.store import repo
from labelloop.tasks import task_for
from labelloop.tasks._base import Where

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["evaluate"]

#: Bounds on an evaluated zip file, as for an imported one.
_MAX_ZIP_BYTES = 8 << 30
_MAX_ZIP_FILES = 1_000_000


@dataclass(frozen=True)
class _GoldImages:
    """The file's images: their files, content hashes (feature-cache keys) and gold boxes."""

    paths: list[Path]
    keys: list[str]
    gold: list[list[dict[str, Any]]]


def evaluate(
    ws: WorkspaceContext,
    name: str,
    path: Path,
    *,
    label_field: str = "label",
    format: str | None = None,
    progress: Progress | None = None,
    media_roots: Sequence[Path] | None = None,
) -> EvaluateResult:
    """mAP@0.5 (overall and per label), box F1 at IoU 0.5, mean IoU and the share of images
    exactly right, of the champion on a labelled file of images that is not in the project.

    Args:
        path: Any box format the project imports (COCO JSON, a YOLO or VOC folder or zip, Label
            Studio JSON, JSONL); a relative image path is read from the file's folder (a
            folder's own root, a zip's content), else from the workspace's media root.
        label_field: Where JSONL rows hold their boxes.
        format: The file's format; None detects it.
        progress: Hears the prediction of the file's images.
        media_roots: When given (the server), images may be read only from the file's own
            folder, the workspace's media root and these folders; ``None``: any file a local
            caller names.

    Raises:
        InvalidInput: No such file; a row without an answer, an image file missing, a bad box
            (each naming the file and line); no image, or no box in the whole file.
        NotFound: The project has no champion.
    """
    if not path.exists():
        raise InvalidInput("no such file", file=str(path))
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        schema = label_schema(project)
        champion = repo.champion(session, project.id)
        if champion is None or champion.artifact is None:
            raise NotFound(f"project {name!r} has no trained model yet: run train first")
        version, artifact = champion.version, champion.artifact
    with _readable(path, format) as (target, fmt, named):
        roots = [target if target.is_dir() else target.parent, ws.media_root]
        allowed = None if media_roots is None else [*roots, *media_roots]
        images = _read(target, fmt, schema, label_field, named, roots, allowed)
        candidates = _predict(
            ws, boxes.load_predictor(ws.path / artifact, schema), images, progress
        )
    return _scored(schema, images.gold, candidates, version)


@contextlib.contextmanager
def _readable(path: Path, format: str | None) -> Iterator[tuple[Path, str | None, Any]]:
    """``(what to read, its format, how an error names a file)``: a zip is extracted into a
    temporary folder for the time of the evaluation, and errors name the zip, not the copy."""
    if not is_zip(path):
        yield path, format, str
        return
    from labelloop.services.data.importing import _zip_target  # the import's own rule

    with tempfile.TemporaryDirectory(prefix="labelloop-evaluate-") as tmp:
        dest = Path(tmp) / "zip"
        extract_zip(path, dest, max_bytes=_MAX_ZIP_BYTES, max_files=_MAX_ZIP_FILES)

        def named(file: str) -> str:
            if not file.startswith(str(dest)):
                return file
            inside = Path(file).relative_to(dest).as_posix()
            return str(path) if inside == "." else f"{path} ({inside})"

        try:
            target, fmt = _zip_target(zip_root(dest), format, path)
            yield target, fmt, named
        except InvalidInput as exc:
            if exc.file is None or not exc.file.startswith(str(dest)):
                raise
            raise InvalidInput(
                exc.reason, file=named(exc.file), line=exc.line, field=exc.field
            ) from None


def _read(
    target: Path,
    fmt: str | None,
    schema: LabelSchema,
    label_field: str,
    named: Any,
    roots: Sequence[Path],
    allowed: Sequence[Path] | None,
) -> _GoldImages:
    """The file's images and gold boxes, each row checked as an import checks it; images are
    found under ``roots`` and, when ``allowed`` is given, only inside it."""
    task = task_for(schema)
    file = named(str(target))
    images = _GoldImages([], [], [])
    for record in read_records(target, format=fmt, label_field=label_field, schema=schema):
        if not record.annotations:
            raise InvalidInput(
                "the image has no boxes (an image with none needs the answer [])",
                file=file,
                line=record.line,
                field=label_field,
            )
        given = record.data.get("path")
        if record.data.get("media") != "image" or not given:
            raise InvalidInput("the row names no image file", file=file, line=record.line)
        full = (
            find_media(Path(str(given)), roots, confined=False)
            if allowed is None
            else find_media(Path(str(given)), allowed)
        )
        if full is None:
            where_from = "" if allowed is None else " in the folders this server may read"
            raise InvalidInput(
                f"image file not found{where_from}: {given}",
                file=file,
                line=record.line,
                field="path",
            )
        data = {**record.data, "path": str(full)}
        where = Where(file=file, line=record.line, field=label_field)
        value = task.check_answer(schema, list(record.annotations[0].value), where=where, data=data)
        images.paths.append(full)
        images.keys.append(task.content_hash(data, media_root=None))
        images.gold.append([{k: b[k] for k in ("x", "y", "w", "h", "label")} for b in value])
    if not images.paths:
        raise InvalidInput("the file has no images", file=file)
    if not any(images.gold):
        raise InvalidInput(
            "the file holds no boxes: every image is answered 'no objects', which gives no "
            "average precision to measure",
            file=file,
        )
    return images


def _predict(
    ws: WorkspaceContext,
    predictor: boxes.BoxPredictor,
    images: _GoldImages,
    progress: Progress | None,
) -> list[list[dict[str, Any]]]:
    """The champion's candidate boxes per image, in batches."""
    advance = stage(progress, "predicting", len(images.paths), unit="images")
    candidates: list[list[dict[str, Any]]] = []
    batch = boxes._BATCH
    for start in range(0, len(images.paths), batch):
        paths = images.paths[start : start + batch]
        candidates.extend(
            predictor.predict(
                boxes._images(paths),
                keys=images.keys[start : start + batch],
                cache_dir=boxes._feature_cache(ws),
            )
        )
        if advance is not None:
            advance(len(paths))
    return candidates


def _scored(
    schema: LabelSchema,
    gold: Sequence[list[dict[str, Any]]],
    candidates: Sequence[list[dict[str, Any]]],
    version: int,
) -> EvaluateResult:
    """The result: mAP@0.5 of the candidates, box F1 of the suggestions, per label both."""
    from labelloop.quality.box_agreement import box_f1

    average = boxes.box_learning().mean_average_precision(
        gold, candidates, list(schema.labels), iou=0.5
    )
    matched = box_f1([boxes.suggested(c) for c in candidates], gold)
    per_class: dict[str, dict[str, float]] = {}
    for label in (lab for lab in schema.labels if lab in matched.per_label):
        counts = matched.per_label[label]  # the labels either side used
        row = {
            "precision": counts.precision,
            "recall": counts.recall,
            "f1": counts.f1,
            "support": float(counts.n_b),
        }
        ap = average["per_label"].get(label)
        if ap is not None:  # a label without a gold box has no average precision
            row["ap50"] = float(ap)
        per_class[label] = row
    return EvaluateResult(
        n=len(gold),
        model_version=version,
        per_class=per_class,
        map50=float(average["map"]),
        box_f1=matched.f1,
        mean_iou=matched.mean_iou,
        images_exact=matched.image_agreement,
    )
