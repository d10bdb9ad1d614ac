"""``labelloop serve``, ``labelloop user add`` and ``labelloop token create``: the web app."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from labelloop.cli._common import JsonOpt, emit, err, out, workspace
from labelloop.errors import InvalidInput
from labelloop.services.results import iso8601
from labelloop.services.workspace import Workspace

__all__ = [
    "HostOpt",
    "PortOpt",
    "serve",
    "serve_workspace",
    "token_app",
    "user_app",
    "uvicorn_options",
]

user_app = typer.Typer(help="Manage users and their project roles.", no_args_is_help=True)
token_app = typer.Typer(
    help="Create, list and revoke API tokens (and browser sessions).", no_args_is_help=True
)


def uvicorn_options() -> dict[str, Any]:
    """uvicorn's proxy settings: its own X-Forwarded-For handling stays off (by default it
    believes loopback peers); the app reads the header itself, and only from the configured
    ``--trusted-proxy`` peers (:func:`labelloop.server.deps.client_address`)."""
    return {"proxy_headers": False}


def serve_workspace(
    ws: Workspace,
    host: str,
    port: int,
    *,
    retrain: bool,
    max_body: int,
    log_level: str,
    trusted_proxies: list[str] | None = None,
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
    proxies = list(trusted_proxies or [])
    settings = ServerSettings(
        background_retrain=retrain, max_body_bytes=max_body, freeze_gc=True,
        trusted_proxies=proxies,
    )  # fmt: skip
    err.print(f"labelloop is serving {ws.path} at http://{host}:{port}/", markup=False)
    uvicorn.run(
        create_app(ws, settings), host=host, port=port, log_level=log_level,
        **uvicorn_options(),
    )  # fmt: skip


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
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address or network (CIDR) of a reverse proxy whose X-Forwarded-For is "
            "believed; repeat for more. None by default.",
        ),
    ] = None,
) -> None:
    """Serve the REST API (/api/v1) and the web UI."""
    serve_workspace(
        workspace(ctx), host, port, retrain=retrain, max_body=max_body, log_level=log_level,
        trusted_proxies=trusted_proxy,
    )  # fmt: skip


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
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The user the token acts as.")],
    label: Annotated[
        str | None, typer.Option("--label", help="What the token is for (shown by list).")
    ] = None,
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from labelloop.services.users import create_token

    token = create_token(workspace(ctx), name, label=label)
    err.print(f"API token for {name} (shown once; send it as 'Authorization: Bearer ...'):")
    sys.stdout.write(token + "\n")


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List API tokens and browser sessions (id, user, kind, label, created)."""
    from labelloop.services.users import list_tokens

    found = list_tokens(workspace(ctx), user)

    def show() -> None:
        for t in found:
            created = iso8601(t.created_at)
            out.print(f"{t.id}\t{t.user}\t{t.kind}\t{created}\t{t.label or ''}", markup=False)

    emit(found, as_json, show)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[int | None, typer.Argument(help="The id (from token list).")] = None,
    user: Annotated[
        str | None, typer.Option("--user", help="Revoke all of this user's (with --all).")
    ] = None,
    all_: Annotated[bool, typer.Option("--all", help="Every token and session of --user.")] = False,
    kind: Annotated[
        str | None, typer.Option("--kind", help="With --all: only 'token' or 'session'.")
    ] = None,
) -> None:
    """Revoke one API token or session by id, or all of a user's (--user NAME --all); a
    running server refuses them from its next request."""
    from labelloop.services.users import revoke_token, revoke_tokens

    ws = workspace(ctx)
    if all_:
        if user is None or token_id is not None:
            raise InvalidInput("give --user NAME with --all, and no id", field="user")
        n = revoke_tokens(ws, user, kind=kind)
        out.print(f"revoked {n} of {user}'s tokens and sessions", markup=False)
        return
    if token_id is None:
        raise InvalidInput("give a token id, or --user NAME --all", field="token_id")
    info = revoke_token(ws, token_id, owner=user)
    out.print(f"revoked {info.kind} {info.id} of {info.user}", markup=False)
