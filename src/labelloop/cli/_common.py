"""What every command module shares: per-invocation state, output, progress and error handling.

The state of one invocation (which workspace, which database) is a :class:`CliState` on the root
click context (``ctx.obj``); a command reaches its workspace with :func:`workspace`. Nothing here
holds state between invocations, so ``CliRunner`` can invoke the app many times in one process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from labelloop.errors import LabelloopError
from labelloop.services.workspace import Workspace, open_workspace

__all__ = [
    "CliState",
    "JsonOpt",
    "emit",
    "err",
    "out",
    "progress_bar",
    "run_app",
    "workspace",
]

# The two terminals: results and tables on stdout, messages and progress on stderr.
err = Console(stderr=True)
out = Console()

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@dataclass
class CliState:
    """Per-invocation state, set by the root callback as ``ctx.obj``.

    The workspace opens on first use and closes when the root context closes.
    """

    workspace: str | None = None
    database_url: str | None = None
    _opened: Workspace | None = field(default=None, repr=False)

    def open(self) -> Workspace:
        if self._opened is None:
            self._opened = open_workspace(self.workspace, database_url=self.database_url)
        return self._opened

    def close(self) -> None:
        if self._opened is not None:
            self._opened.close()
            self._opened = None


def workspace(ctx: typer.Context) -> Workspace:
    """The workspace of this invocation (``--workspace``/``--db`` of the root command)."""
    state = ctx.find_object(CliState)
    if state is None:
        raise RuntimeError("labelloop commands run under the root app, labelloop.cli.app")
    return state.open()


def emit(
    result: BaseModel | Sequence[BaseModel] | dict[str, Any],
    as_json: bool,
    render: Callable[[], None],
) -> None:
    """Print ``result`` as one JSON document with ``as_json``, else call ``render``.

    A ``dict`` is only for :func:`labelloop.services.catalog.backbone_catalog`, which returns
    plain rows.
    """
    if not as_json:
        render()
        return
    if isinstance(result, BaseModel):
        payload: Any = result.model_dump(mode="json")
    elif isinstance(result, dict):
        payload = result
    else:
        payload = [r.model_dump(mode="json") for r in result]
    sys.stdout.write(json.dumps(payload) + "\n")


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


def run_app(app: typer.Typer) -> None:
    """Run ``app`` on ``sys.argv``, turning labelloop errors into one line on stderr.

    Typer's standalone mode handles its own errors (usage errors: usage and message, exit 2;
    Ctrl-C: "Aborted!", exit 1) and exits; only a :class:`LabelloopError` comes out of it.
    """
    try:
        app()
    except LabelloopError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
