"""The root ``labelloop`` app: its global options and every command, registered explicitly.

Every reporting command takes ``--json`` and then prints exactly one JSON document on stdout.
Errors print one line on stderr and exit non-zero (see :class:`labelloop.errors.LabelloopError`).
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

from labelloop.cli import annotate, data, demo, loop, models, projects, qa, server
from labelloop.cli._common import CliState, run_app

__all__ = ["app", "main"]

app = typer.Typer(
    name="labelloop",
    help="Annotate data with a pre-trained model doing the first pass.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    ctx: typer.Context,
    workspace: Annotated[
        str | None,
        typer.Option(
            "--workspace",
            "-w",
            envvar="LABELLOOP_WORKSPACE",
            help="Workspace folder (database and artifacts). Default: ./labelloop-data",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            envvar="LABELLOOP_DATABASE_URL",
            help="Database URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in the "
            "workspace.",
        ),
    ] = None,
) -> None:
    state = CliState(workspace=workspace, database_url=db)
    ctx.obj = state
    ctx.call_on_close(state.close)


# Commands, in the order ``labelloop --help`` lists them; the groups follow.
app.command("import")(data.import_)
app.command("status")(data.status)
app.command("export")(data.export)
app.command("train")(models.train)
app.command("predict")(models.predict)
app.command("models")(models.models)
app.command("evaluate")(models.evaluate)
app.command("next")(annotate.next_)
app.command("label")(annotate.label)
app.command("auto-accept")(loop.auto_accept)
app.command("audit")(loop.audit)
app.command("simulate")(loop.simulate)
app.command("serve")(server.serve)
app.command("demo")(demo.demo)
app.add_typer(projects.project_app, name="project")
app.add_typer(models.backbones_app, name="backbones")
app.add_typer(qa.qa_app, name="qa")
app.add_typer(server.user_app, name="user")
app.add_typer(server.token_app, name="token")


def main() -> None:
    """Entry point of the ``labelloop`` script and ``python -m labelloop``."""
    # the CLI reports progress itself; Hugging Face's tqdm bars (loading weights) would
    # interleave with its lines
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    run_app(app)
