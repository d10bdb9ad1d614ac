"""An item's media file and its thumbnails: files found only inside the allowed folders, and
small upright previews made once per file content and size, cached in the artifacts folder.

Thumbnails are keyed by the item's content hash (the sha256 of the file's bytes) and the size,
so the same photo imported into two projects, or twice, is shrunk once. They are written to a
temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from labelloop.errors import InvalidInput, NotFound
from labelloop.store import Item, repo

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = [
    "THUMBNAIL_SIZES",
    "Thumbnail",
    "ThumbnailBatch",
    "find_media",
    "item_thumbnail",
    "pregenerate_thumbnails",
    "resolve_media",
]

# Longest side in pixels; a fixed set, so a client cannot fill the disk with one file per size.
THUMBNAIL_SIZES = (96, 160, 256, 512)
_QUALITY = 80
_MEDIA_TYPE = "image/webp"


@dataclass(frozen=True)
class Thumbnail:
    """A cached thumbnail: its file, the content hash it was made from (the HTTP ETag) and its
    media type."""

    path: Path
    content_hash: str
    media_type: str = _MEDIA_TYPE


@dataclass(frozen=True)
class ThumbnailBatch:
    """What :func:`pregenerate_thumbnails` did: thumbnails made, found made already, and the
    items whose file could not be read (id -> reason)."""

    made: int
    cached: int
    failed: dict[int, str]


def resolve_media(raw: str | None, item_id: int, *, roots: list[Path]) -> Path:
    """The existing file an item's ``media_path`` names, refusing any path outside ``roots``.

    A relative path is tried against each root in turn; symlinks and ``..`` are resolved before
    the check.

    Raises:
        NotFound: The item has no media, or its file is missing or outside ``roots``.
    """
    if not raw:
        raise NotFound(f"item {item_id} has no media file")
    found = find_media(Path(raw), roots)
    if found is None:
        raise NotFound(f"the media file of item {item_id} is not available")
    return found


def find_media(path: Path, roots: Sequence[Path], *, confined: bool = True) -> Path | None:
    """The existing file ``path`` names, or ``None``: ``path`` itself when absolute, else the
    first of ``root / path`` that is a file.

    ``confined`` (what the server may read): only a file inside one of ``roots``, with symlinks
    and ``..`` resolved before the check, so nothing outside them is ever named.

    Example:
        >>> find_media(Path("../../etc/passwd"), [Path("/srv/media")]) is None
        True
    """
    allowed = [r.resolve() for r in roots] if confined else list(roots)
    candidates = [path] if path.is_absolute() else [r / path for r in allowed]
    for candidate in candidates:
        resolved = candidate.resolve() if confined else candidate
        inside = not confined or any(resolved.is_relative_to(r) for r in allowed)
        if inside and resolved.is_file():
            return resolved
    return None


def check_size(size: int) -> int:
    """``size`` if it is one of :data:`THUMBNAIL_SIZES`, else :class:`InvalidInput`."""
    if size not in THUMBNAIL_SIZES:
        sizes = ", ".join(map(str, THUMBNAIL_SIZES))
        raise InvalidInput(f"thumbnail size must be one of {sizes}, got {size}", field="size")
    return size


def thumbnail_path(ws: WorkspaceContext, content_hash: str, size: int) -> Path:
    """Where the thumbnail of a file with ``content_hash`` at ``size`` is cached."""
    return ws.artifacts.thumbnails / str(size) / content_hash[:2] / f"{content_hash}.webp"


def item_thumbnail(
    ws: WorkspaceContext, name: str, item_id: int, *, size: int, roots: list[Path]
) -> Thumbnail:
    """The item's thumbnail at ``size`` (longest side, pixels), made on first request.

    The image is turned upright by its EXIF orientation (as browsers show it) and shrunk to fit
    ``size`` x ``size``, keeping its aspect ratio, never enlarged.

    Raises:
        NotFound: No such item in the project, or its file is not available.
        InvalidInput: ``size`` is not one of :data:`THUMBNAIL_SIZES`, or the file is not an
            image Pillow reads (the message names the file).
    """
    check_size(size)
    with ws.transaction() as session:
        project = repo.get_project_ref(session, name)
        item = session.get(Item, item_id)
        if item is None or item.project_id != project.id:
            raise NotFound(f"no item {item_id} in project {name!r}")
        raw, content_hash = item.media_path, item.content_hash
    target = thumbnail_path(ws, content_hash, size)
    if not target.is_file():
        _write_thumbnail(resolve_media(raw, item_id, roots=roots), target, size)
    return Thumbnail(target, content_hash)


def pregenerate_thumbnails(
    ws: WorkspaceContext,
    name: str,
    *,
    sizes: tuple[int, ...] = (160,),
    item_ids: list[int] | None = None,
    roots: list[Path] | None = None,
) -> ThumbnailBatch:
    """Make the thumbnails of a project's media items ahead of the first page that shows them.

    ``item_ids`` limits it to those items (default: every item with a media file); ``roots``
    are the folders media may come from (default: the workspace's media root, and absolute
    paths anywhere, as imports store them). Files that cannot be read are reported by item, not
    raised: one broken photo does not stop the batch.
    """
    for size in sizes:
        check_size(size)
    with ws.transaction() as session:
        project = repo.get_project_ref(session, name)
        query = session.query(Item.id, Item.media_path, Item.content_hash).filter(
            Item.project_id == project.id, Item.media_path.is_not(None)
        )
        if item_ids is not None:
            query = query.filter(Item.id.in_(item_ids))
        rows = query.order_by(Item.id).all()
    made, cached, failed = 0, 0, {}
    for row in rows:
        for size in sizes:
            target = thumbnail_path(ws, row.content_hash, size)
            if target.is_file():
                cached += 1
                continue
            try:
                source = _source(row.media_path, row.id, ws.media_root, roots)
                _write_thumbnail(source, target, size)
            except (NotFound, InvalidInput) as exc:
                failed[row.id] = str(exc)
                break
            made += 1
    return ThumbnailBatch(made=made, cached=cached, failed=failed)


def _source(raw: str, item_id: int, media_root: Path, roots: list[Path] | None) -> Path:
    if roots is not None:
        return resolve_media(raw, item_id, roots=roots)
    path = Path(raw) if Path(raw).is_absolute() else media_root / raw
    if not path.is_file():
        raise NotFound(f"the media file of item {item_id} is not available")
    return path


def _write_thumbnail(source: Path, target: Path, size: int) -> None:
    """Shrink the upright image at ``source`` into ``target`` (WebP), atomically."""
    from PIL import Image

    from labelloop.backbones.images import open_upright

    image = open_upright(source, draft=size)
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{target.stem}-", suffix=".webp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            image.save(out, format="WEBP", quality=_QUALITY, method=4)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
