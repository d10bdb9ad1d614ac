"""Delete a project, or some of its items, leaving nothing that pointed at them.

Each deletion is one transaction: the rows go (found from the tables' foreign keys,
:mod:`labelloop.store.queries.deleting`), and a project's files (its model versions and
label-issue reports) are moved aside before the commit and removed after it, so a failed
deletion leaves the project whole and a finished one leaves no folder a new project could
inherit. The embedding cache is keyed by content and shared by every project: it stays (an item
imported again, here or elsewhere, is not embedded twice).
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from labelloop.errors import InvalidInput, NotFound
from labelloop.services.results import MAX_ID, DeleteResult
from labelloop.store import repo
from labelloop.store.queries import deleting as queries

if TYPE_CHECKING:
    from labelloop.services.context import WorkspaceContext

__all__ = ["MAX_DELETE_ITEMS", "delete_items", "delete_project"]

log = logging.getLogger(__name__)

#: Most item ids one :func:`delete_items` call takes (the REST body's limit too).
MAX_DELETE_ITEMS = 100_000
_ASIDE = ".deleted-"
_STALE_SECONDS = 3600


def delete_project(ws: WorkspaceContext, name: str) -> DeleteResult:
    """Delete project ``name`` with everything it holds: items, answers, suggestions, model
    versions and their files, flags, leases, comments, imports and memberships.

    Raises:
        NotFound: There is no project ``name``.
    """
    moved: list[tuple[Path, Path]] = []
    try:
        with ws.transaction() as session:
            project = repo.get_project(session, name)
            project_id = project.id
            recorded = [ws.path / p for p in queries.artifact_paths(session, project_id)]
            rows = queries.delete_project_rows(session, project_id)
            moved = _move_aside(ws, [*ws.artifacts.project_dirs(project_id), *recorded])
    except BaseException:
        for original, aside in reversed(moved):
            os.replace(aside, original)
        raise
    _remove([aside for _, aside in moved])
    items = rows.get("items", 0)
    log.info("deleted project %r (%d items)", name, items)
    return DeleteResult(project=name, project_deleted=True, items=items, rows=rows)


def delete_items(ws: WorkspaceContext, name: str, item_ids: Iterable[int]) -> DeleteResult:
    """Delete items ``item_ids`` of project ``name`` with their answers, suggestions, flags,
    leases and comments. The project's import records go too, so a file whose items were
    deleted can be imported again. Model versions stay (they are the project's history).

    Raises:
        InvalidInput: No ids, more than :data:`MAX_DELETE_ITEMS`, or an id out of range.
        NotFound: The project does not exist, or an id is not one of its items (then nothing
            is deleted; the message names the ids).
    """
    ids = _checked_ids(item_ids)
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        found = queries.item_ids_in(session, project.id, ids)
        missing = [i for i in ids if i not in found]
        if missing:
            shown = ", ".join(map(str, missing[:10])) + (" ..." if len(missing) > 10 else "")
            raise NotFound(
                f"{len(missing)} of the ids are not items of project {name!r}: {shown}; "
                "nothing was deleted"
            )
        rows = queries.delete_item_rows(session, ids)
        rows["imports"] = queries.forget_imports(session, project.id)
    log.info("deleted %d items of project %r", len(ids), name)
    return DeleteResult(project=name, project_deleted=False, items=len(ids), rows=rows)


def _checked_ids(item_ids: Iterable[int]) -> list[int]:
    ids: list[int] = []
    for value in item_ids:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            raise InvalidInput(
                f"item ids are whole numbers from 1 to {MAX_ID}, got {value!r:.40}",
                field="item_ids",
            )
        ids.append(value)
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise InvalidInput("give at least one item id to delete", field="item_ids")
    if len(ids) > MAX_DELETE_ITEMS:
        raise InvalidInput(
            f"{len(ids)} item ids; delete at most {MAX_DELETE_ITEMS} at a time", field="item_ids"
        )
    return ids


def _move_aside(ws: WorkspaceContext, folders: Sequence[Path]) -> list[tuple[Path, Path]]:
    """Rename each existing folder (inside the workspace's artifacts) to a hidden sibling;
    ``(original, aside)`` pairs. Leftovers of a deletion a crash interrupted are removed."""
    root = ws.artifacts.root.resolve()
    moved: list[tuple[Path, Path]] = []
    for folder in dict.fromkeys(folders):
        if not folder.is_dir() or not folder.resolve().is_relative_to(root):
            continue
        _remove(p for p in folder.parent.glob(_ASIDE + "*") if _stale(p))
        aside = folder.with_name(f"{_ASIDE}{folder.name}-{uuid.uuid4().hex[:8]}")
        os.replace(folder, aside)
        moved.append((folder, aside))
    return moved


def _stale(path: Path) -> bool:
    # left by a deletion that crashed after its commit (a recent one may be another
    # process's deletion in flight, which could still move it back)
    try:
        return time.time() - path.stat().st_ctime > _STALE_SECONDS
    except OSError:
        return False


def _remove(folders: Iterable[Path]) -> None:
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        if folder.exists():
            log.warning("could not remove %s; delete it by hand", folder)
