"""The labelloop error tree.

Every failure a user can cause or meet is one of these. The CLI maps them to a one-line message and
an exit code; the server maps them to an HTTP status and one JSON error body. Nothing else in the
package raises bare ``ValueError`` for user-facing problems.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "Conflict",
    "InvalidInput",
    "LabelloopError",
    "MissingDependency",
    "NotFitted",
    "NotFound",
    "PermissionDenied",
    "PluginError",
    "PoolExhausted",
]


class LabelloopError(Exception):
    """Base class of every error labelloop raises on purpose."""

    exit_code: int = 1
    http_status: int = 400


class InvalidInput(LabelloopError):
    """Input that labelloop cannot accept.

    ``file``, ``line`` and ``field`` say where the problem is, when it comes from a file; the
    message then starts with ``file:line: field ...`` so a user can jump straight to it.
    ``also`` holds further problems found in the same input (an import reports several bad
    rows at once); the message counts them and names their lines.

    Example:
        >>> str(InvalidInput("text is empty", file="pool.csv", line=12, field="text"))
        "pool.csv:12: field 'text': text is empty"
    """

    exit_code = 2
    http_status = 422

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        field: str | None = None,
        also: Sequence[InvalidInput] = (),
    ) -> None:
        self.reason = message
        self.file = file
        self.line = line
        self.field = field
        self.also = tuple(also)
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.file is not None:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        if self.field is not None:
            where += f"field {self.field!r}: "
        more = ""
        if self.also:
            lines = [str(p.line) for p in self.also if p.line is not None][:10]
            more = f" (and {len(self.also)} more problem{'s' if len(self.also) > 1 else ''}"
            on = f", on line{'s' if len(lines) > 1 else ''} {', '.join(lines)}" if lines else ""
            more += on + ")"
        return where + self.reason + more


class NotFound(LabelloopError):
    """A project, item, user or model version that does not exist."""

    exit_code = 3
    http_status = 404


class Conflict(LabelloopError):
    """The request clashes with the current state (a name taken, a stale lease, a duplicate)."""

    exit_code = 4
    http_status = 409


class NotFitted(LabelloopError):
    """A model was asked to predict before it was trained."""

    exit_code = 5
    http_status = 409


class PoolExhausted(LabelloopError):
    """No unlabelled items are left to choose from."""

    exit_code = 6
    http_status = 409


class PermissionDenied(LabelloopError):
    """The caller is known but may not do this."""

    exit_code = 7
    http_status = 403


class MissingDependency(LabelloopError):
    """An optional part is not installed; the message names the extra to install."""

    exit_code = 8
    http_status = 501

    def __init__(self, what: str, *, extra: str | None = None, package: str | None = None) -> None:
        hint = ""
        if extra is not None:
            hint = f"; install it with: pip install 'labelloop[{extra}]'"
        elif package is not None:
            hint = f"; install it with: pip install {package}"
        super().__init__(f"{what} is not installed{hint}")


class PluginError(LabelloopError):
    """A plug-in (an installed entry point) or the model service it talks to failed: it did not
    load, answered with the wrong shape, or could not be reached. The message names the plug-in,
    its entry point or URL, and what went wrong."""

    exit_code = 10
    http_status = 502
