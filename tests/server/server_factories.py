"""Factories for the server tests: a workspace with two projects, users of every role, tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factories import topic_texts, write_csv
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions

LABELS = ["sports", "tech", "politics"]
ROLES = ("annotator", "reviewer", "admin")


@dataclass
class Env:
    """Everything a server test needs: the workspace, users' tokens, item ids per project."""

    ws: Any
    tokens: dict[str, str] = field(default_factory=dict)
    items: dict[str, list[int]] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)

    def auth(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"}


def make_project(ws: Any, name: str, folder: Path, *, n: int = 30, **settings: Any) -> list[int]:
    """A text project with ``n`` items, a zero-shot model and suggestions; returns item ids."""
    ws.create_project(name, labels=LABELS, backbone="fake", settings=settings or None)
    rows = [{"id": f"{name}-{i}", "text": t} for i, (t, _) in enumerate(topic_texts(n, seed=7))]
    path = write_csv(folder / f"{name}.csv", rows)
    ws.import_file(name, path, ImportOptions(id_field="id"))
    ws.train(name)
    ws.predict(name)
    return [s.item_id for s in _all_suggestions(ws, name)]


def _all_suggestions(ws: Any, name: str) -> list[Any]:
    from labelloop.services.quality.review import list_suggestions

    return list_suggestions(ws, name, limit=500)


def make_env(ws: Any, folder: Path, *, n: int = 30, **settings: Any) -> Env:
    """Projects ``alpha`` and ``beta``; a superuser ``root``; ``alpha-<role>`` for each role;
    ``beta-admin`` (admin of beta only). Every user has a token and the password ``pw-<name>!``."""
    env = Env(ws=ws)
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    env.passwords["root"] = "pw-root!!"
    for project in ("alpha", "beta"):
        env.items[project] = make_project(ws, project, folder, n=n, **settings)
    for role in ROLES:
        name = f"alpha-{role}"
        users.add_user(ws, name, password=f"pw-{name}!", role=role, project="alpha")
        env.passwords[name] = f"pw-{name}!"
    users.add_user(ws, "beta-admin", password="pw-beta-admin!", role="admin", project="beta")
    env.passwords["beta-admin"] = "pw-beta-admin!"
    for name in ["root", *(f"alpha-{r}" for r in ROLES), "beta-admin"]:
        env.tokens[name] = users.create_token(ws, name)
    return env
