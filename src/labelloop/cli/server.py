"""``labelloop serve``, ``labelloop user add`` and ``labelloop token create``: the web app."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from labelloop.cli._common import JsonOpt, emit, err, out, workspace
from labelloop.errors import InvalidInput
from labelloop.services.workspace import Workspace

__all__ = ["HostOpt", "PortOpt", "serve", "serve_workspace", "token_app", "user_app"]

user_app = typer.Typer(help="Manage users and their project roles.", no_args_is_help=True)
token_app = typer.Typer(help="Create API tokens for scripts.", no_args_is_help=True)


def serve_workspace(
    ws: Workspace, host: str, port: int, *, retrain: bool, max_body: int, log_level: str
) -> None:
    """Serve the web app over ``ws`` with uvicorn until interrupted."""
    import uvicorn

    from labelloop.server import ServerSettings, create_app
    from labelloop.services.users import count_users

    if count_users(ws) == 0:
        err.print(
            "No user exists yet. Create the first admin (a superuser) with:\n"
            "  labelloop user add NAME --role admin --password-stdin",
            markup=False,
        )
    settings = ServerSettings(background_retrain=retrain, max_body_bytes=max_body, freeze_gc=True)
    err.print(f"labelloop is serving {ws.path} at http://{host}:{port}/", markup=False)
    uvicorn.run(create_app(ws, settings), host=host, port=port, log_level=log_level)


HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on.")]


def serve(
    ctx: typer.Context,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    retrain: Annotated[
        bool, typer.Option("--retrain/--no-retrain", help="Retrain in the background.")
    ] = True,
    max_body: Annotated[
        int, typer.Option("--max-body", help="Largest JSON/form request body, in bytes.")
    ] = 1 << 20,
    log_level: Annotated[str, typer.Option("--log-level")] = "info",
) -> None:
    """Serve the REST API (/api/v1) and the web UI."""
    serve_workspace(
        workspace(ctx), host, port, retrain=retrain, max_body=max_body, log_level=log_level
    )


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="User name (login).")],
    role: Annotated[str | None, typer.Option("--role", help="admin | reviewer | annotator")] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Project the role applies to.")
    ] = None,
    password: Annotated[str | None, typer.Option("--password", help="The password.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from stdin.")
    ] = False,
    superuser: Annotated[
        bool | None,
        typer.Option("--superuser/--no-superuser", help="Admin of every project."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a user or change their password/role. The first user becomes a superuser;
    ``--role admin`` without ``--project`` makes a superuser too."""
    from labelloop.services.users import add_user

    if password is not None and password_stdin:
        raise InvalidInput("give --password or --password-stdin, not both", field="password")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    info = add_user(
        workspace(ctx), name, password=password, role=role, project=project, superuser=superuser
    )
    roles = ", ".join(f"{p}: {r}" for p, r in info.roles.items()) or "no project roles"
    emit(
        info,
        as_json,
        lambda: out.print(
            f"user {info.name}{' (superuser)' if info.is_superuser else ''}: {roles}"
            + ("" if password else "; no password set (API tokens only)"),
            markup=False,
        ),
    )


@token_app.command("create")
def token_create(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The user the token acts as.")]
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from labelloop.services.users import create_token

    token = create_token(workspace(ctx), name)
    err.print(f"API token for {name} (shown once; send it as 'Authorization: Bearer ...'):")
    sys.stdout.write(token + "\n")
