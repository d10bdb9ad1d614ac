"""Comments on items, and the keys that pick each label on the annotate page.

A comment is a note a project member leaves on an item (why it is hard, a question for the
reviewer); its author may delete it, and so may a project admin. Hotkeys map labels to single
keys; a project that never set them uses 1-9, 0 for its first ten labels (:func:`hotkeys`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from labelloop.errors import InvalidInput, NotFound, PermissionDenied
from labelloop.services.projects import label_schema
from labelloop.store import Comment, repo
from labelloop.store.queries import items as queries

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from labelloop.services.context import WorkspaceContext

__all__ = [
    "HOTKEY_CHARACTERS",
    "MAX_COMMENT_LENGTH",
    "CommentView",
    "Hotkeys",
    "add_comment",
    "default_hotkeys",
    "delete_comment",
    "hotkeys",
    "list_comments",
    "reset_hotkeys",
    "set_hotkeys",
]

MAX_COMMENT_LENGTH = 5000
HOTKEY_CHARACTERS = "0123456789abcdefghijklmnopqrtuvwxy"
"""Keys a label may take: digits and lower-case letters but ``s`` and ``z`` (skip and undo on
the annotate page). Letters match with or without Shift."""
_DEFAULT_KEYS = "1234567890"


class CommentView(BaseModel):
    id: int
    item_id: int
    author: str
    body: str
    created_at: datetime


class Hotkeys(BaseModel):
    hotkeys: dict[str, str] = Field(description="label -> the key that picks it")
    default: bool = Field(description="the project uses the defaults (1-9, 0: first ten labels)")
    descriptions: dict[str, str] = Field(
        default_factory=dict,
        description="each described label's description (the label search matches it too)",
    )


def _view(c: Comment) -> CommentView:
    return CommentView(
        id=c.id, item_id=c.item_id, author=c.author, body=c.body, created_at=c.created_at
    )


def _item(session: Session, name: str, item_id: int) -> int:
    """The project id of ``name``, checking that ``item_id`` is one of its items."""
    project = repo.get_project(session, name)
    if queries.item_row(session, project.id, item_id) is None:
        raise NotFound(f"no item {item_id} in project {name!r}")
    return project.id


def list_comments(ws: WorkspaceContext, name: str, item_id: int) -> list[CommentView]:
    """The item's comments, oldest first."""
    with ws.transaction() as session:
        _item(session, name, item_id)
        return [_view(c) for c in queries.item_comments(session, item_id)]


def add_comment(
    ws: WorkspaceContext, name: str, item_id: int, body: str, *, author: str
) -> CommentView:
    """Leave a comment on the item; :class:`InvalidInput` for an empty or too long text."""
    text = body.strip()
    if not text:
        raise InvalidInput("a comment needs some text", field="body")
    if len(text) > MAX_COMMENT_LENGTH:
        raise InvalidInput(
            f"a comment holds at most {MAX_COMMENT_LENGTH} characters, not {len(text)}",
            field="body",
        )
    with ws.transaction() as session:
        project_id = _item(session, name, item_id)
        comment = queries.add_comment(
            session, project_id=project_id, item_id=item_id, author=author, body=text
        )
        return _view(comment)


def delete_comment(
    ws: WorkspaceContext, name: str, item_id: int, comment_id: int, *, by: str, admin: bool
) -> None:
    """Delete a comment: its author may, and so may a project admin (``admin``)."""
    with ws.transaction() as session:
        _item(session, name, item_id)
        comment = queries.comment_by_id(session, item_id, comment_id)
        if comment is None:
            raise NotFound(f"no comment {comment_id} on item {item_id}")
        if comment.author != by and not admin:
            raise PermissionDenied(f"comment {comment_id} is {comment.author!r}'s to delete")
        queries.delete_comment(session, comment)


def default_hotkeys(labels: tuple[str, ...] | list[str]) -> dict[str, str]:
    """1-9, then 0, for the first ten labels."""
    return dict(zip(labels, _DEFAULT_KEYS, strict=False))


def hotkeys(ws: WorkspaceContext, name: str) -> Hotkeys:
    """The project's label -> key map: the one its admin set, or the defaults."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        stored = queries.project_hotkeys(session, project.id)
        schema = label_schema(project)
    labels, descriptions = schema.labels, dict(schema.descriptions)
    if not stored:
        return Hotkeys(hotkeys=default_hotkeys(labels), default=True, descriptions=descriptions)
    order = {label: i for i, label in enumerate(labels)}
    known = sorted(((k, v) for k, v in stored.items() if k in order), key=lambda kv: order[kv[0]])
    return Hotkeys(hotkeys=dict(known), default=False, descriptions=descriptions)


def set_hotkeys(ws: WorkspaceContext, name: str, keys: dict[str, str]) -> Hotkeys:
    """Replace the project's hotkeys with ``keys`` (label -> key; a label left out gets none).

    :class:`InvalidInput` names the label at fault: one the project does not have, a key that is
    not one of :data:`HOTKEY_CHARACTERS`, or a key given to two labels. Nothing is stored then.
    """
    clean: dict[str, str] = {}
    taken: dict[str, str] = {}
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        labels = label_schema(project).labels
        for label, key in keys.items():
            if label not in labels:
                raise InvalidInput(
                    f"project {name!r} has no label {label!r}; labels: {', '.join(labels)}",
                    field="hotkeys",
                )
            k = key.lower() if isinstance(key, str) else key
            if not isinstance(k, str) or len(k) != 1 or k not in HOTKEY_CHARACTERS:
                raise InvalidInput(
                    f"label {label!r}: key {key!r} is not a digit or a letter other than s and "
                    "z (skip and undo)",
                    field="hotkeys",
                )
            if k in taken:
                raise InvalidInput(
                    f"key {k!r} is given to both {taken[k]!r} and {label!r}", field="hotkeys"
                )
            taken[k] = label
            clean[label] = k
        if not clean:
            raise InvalidInput(
                "give at least one label a key (reset the project to the defaults instead)",
                field="hotkeys",
            )
        queries.replace_hotkeys(session, project.id, clean)
    return hotkeys(ws, name)


def reset_hotkeys(ws: WorkspaceContext, name: str) -> Hotkeys:
    """Forget the project's own hotkeys: it uses the defaults again."""
    with ws.transaction() as session:
        project = repo.get_project(session, name)
        queries.replace_hotkeys(session, project.id, {})
    return hotkeys(ws, name)
