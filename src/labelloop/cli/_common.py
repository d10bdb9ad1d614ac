"""What every command module shares: per-invocation state, output, progress and error handling.

The state of one invocation (which workspace, which database) is a :class:`CliState` on the root
click context (``ctx.obj``); a command reaches its workspace with :func:`workspace`. Nothing here
holds state between invocations, so ``CliRunner`` can invoke the app many times in one process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

import typer
import typer.main
from pydantic import BaseModel
from rich.console import Console
from typer._click import exceptions as click_exceptions

from labelloop.cli._progress import Reporter, reporter
from labelloop.errors import LabelloopError
from labelloop.services.workspace import Workspace, open_workspace

__all__ = [
    "CliState",
    "JsonOpt",
    "emit",
    "err",
    "out",
    "progress",
    "run_app",
    "workspace",
]

# The two terminals: results and tables on stdout, messages and progress on stderr.
err = Console(stderr=True, soft_wrap=True)  # a message stays one line, whatever the width
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


def progress() -> Reporter:
    """The progress reporter of a long command, on stderr (see :mod:`labelloop.cli._progress`)."""
    return reporter(err)


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


def run_app(app: typer.Typer, args: Sequence[str] | None = None) -> None:
    """Run ``app`` on ``args`` (default ``sys.argv[1:]``) and exit with the documented code.

    Errors become one line on stderr: a usage error (unknown command or option, missing
    argument, a value of the wrong type) prints ``error: ...`` and a ``Try '... --help'`` hint and
    exits 2; a :class:`LabelloopError` prints ``error: ...`` and exits with its ``exit_code``;
    Ctrl-C exits 130. Click runs outside its standalone mode, which would draw a multi-line
    panel for a usage error; Typer vendors its own click, so its exceptions are caught from
    ``typer._click`` (usage errors) and ``typer`` (their base, ``Abort``), not from the ``click``
    package.
    """
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="labelloop", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:  # ``labelloop`` alone: the help, exit 2
        exc.show()
        sys.exit(exc.exit_code)
    except click_exceptions.UsageError as exc:
        _error_line(exc.format_message())
        if exc.ctx is not None:
            err.print(
                f"Try '{exc.ctx.command_path} --help' for help.", markup=False, highlight=False
            )
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # click's other errors, e.g. a file it cannot open
        _error_line(exc.format_message())
        sys.exit(exc.exit_code)
    except typer.Abort:
        _error_line("aborted")
        sys.exit(130)
    except LabelloopError as exc:
        _error_line(str(exc))
        sys.exit(exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _error_line(message: str) -> None:
    """``error: message`` on stderr as one line (no wrapping, no markup)."""
    one_line = " ".join(message.split())
    err.print(f"error: {one_line}", markup=False, highlight=False, soft_wrap=True)
