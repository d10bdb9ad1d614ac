"""The Python API does everything the CLI does, typed, on the same services (issue 18)."""

from __future__ import annotations

import importlib.util
import inspect
import json
import typing
from pathlib import Path

import pandas as pd
import pytest
from pydantic import BaseModel

import labelloop
from factories import topic_texts, write_csv, write_jsonl
from labelloop.errors import Conflict, InvalidInput, NotFound
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality.autoaccept import AutoAcceptRefused

LABELS = ["sports", "tech", "politics"]

# Every CLI command and the Python API that does the same. ``None`` only where the command is
# an edge of its own (a server, an interactive demo), with the reason.
CLI_TO_API: dict[str, str | None] = {
    "import": "Workspace.import_file",
    "status": "Workspace.status",
    "export": "Workspace.export",
    "train": "Workspace.train",
    "predict": "Workspace.predict",
    "models": "Workspace.models",  # and promote / rollback, below
    "evaluate": "Workspace.evaluate",
    "next": "Workspace.next_items",
    "label": "Workspace.submit",
    "auto-accept": "Workspace.auto_accept",
    "audit": "Workspace.audit",
    "simulate": "labelloop.simulate",
    "serve": None,  # runs the web server: labelloop.server.create_app(ws) is its Python form
    "demo": None,  # builds a demo workspace and serves it: a tour, not a use-case
    "project create": "Workspace.create_project",
    "project list": "Workspace.list_projects",
    "project set": "Workspace.update_project",
    "project delete": "Workspace.delete_project",
    "project delete-items": "Workspace.delete_items",
    "backbones list": "Workspace.backbones",
    "backbones rank": "Workspace.rank_backbones",
    "qa report": "Workspace.qa_report",
    "qa gold": "Workspace.import_gold",
    "qa flag": "Workspace.flag",
    "qa review": "Workspace.review_candidates",
    "qa resolve": "Workspace.resolve",
    "qa issues": "Workspace.label_issues",
    "user add": "Workspace.add_user",
    "token create": "Workspace.create_token",
    "token list": "Workspace.tokens",
    "token revoke": "Workspace.revoke_token",
}
EXTRA_API = [
    "Workspace.submit_many",
    "Workspace.clusters",
    "Workspace.cluster_members",
    "Workspace.pregenerate_thumbnails",
    "Workspace.promote",
    "Workspace.rollback",
    "Workspace.revoke_tokens",
    "Workspace.evaluate_gold",
    "Workspace.gold",
    "Workspace.set_gold",
    "Workspace.flags",
    "Workspace.dismiss_flag",
    "Workspace.set_role",
    "Workspace.members",
    "Workspace.open_project",
    "Workspace.to_pandas",
    "Workspace.to_datasets",
]


def _cli_commands() -> set[str]:
    import typer.main

    from labelloop.cli._app import app

    root = typer.main.get_command(app)
    names = set()
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        if subcommands:
            names.update(f"{name} {sub}" for sub in subcommands)
        else:
            names.add(name)
    return names


def _resolve(path: str) -> typing.Any:
    owner, _, attr = path.partition(".")
    base = labelloop if owner == "labelloop" else getattr(labelloop, owner)
    return getattr(base, attr)


def test_every_cli_command_has_a_python_api():
    commands = _cli_commands()
    assert commands == set(CLI_TO_API), (
        f"CLI commands without an API entry here: {sorted(commands - set(CLI_TO_API))}; "
        f"entries for commands that are gone: {sorted(set(CLI_TO_API) - commands)}"
    )
    for path in [p for p in CLI_TO_API.values() if p] + EXTRA_API:
        assert callable(_resolve(path)), path


@pytest.mark.parametrize("path", sorted({p for p in CLI_TO_API.values() if p} | set(EXTRA_API)))
def test_each_api_method_is_typed_and_documented(path):
    function = _resolve(path)
    assert inspect.getdoc(function), f"{path} has no docstring"
    # pandas is imported for type checking only (the API loads it on first use)
    hints = typing.get_type_hints(function, {**function.__globals__, "pd": pd})
    assert "return" in hints, f"{path} has no return type"
    params = [p for p in inspect.signature(function).parameters if p not in ("self",)]
    missing = [p for p in params if p not in hints]
    assert not missing, f"{path}: parameters without a type: {missing}"


def _project(ws, tmp_path: Path, *, n: int = 60, labelled: int = 30, name: str = "news"):
    """A fake-backbone project with ``labelled`` human labels among ``n`` items, trained."""
    rows = [
        {"id": f"i{i}", "text": text, "label": label if i < labelled else "", "src": "feed"}
        for i, (text, label) in enumerate(topic_texts(n, seed=3))
    ]
    ws.create_project(name, labels=LABELS, backbone="fake")
    path = write_jsonl(
        tmp_path / f"{name}.jsonl",
        [
            {
                "id": r["id"],
                "text": r["text"],
                "meta": {"src": r["src"]},
                "label": r["label"] or None,
            }
            for r in rows
        ],
    )
    ws.import_file(name, path, ImportOptions(id_field="id", label_field="label", annotator="al"))
    ws.train(name)
    return ws.open_project(name)


def test_to_pandas_has_a_row_per_item_with_labels_provenance_and_suggestions(workspace, tmp_path):
    project = _project(workspace, tmp_path)
    frame = project.to_pandas()
    status = project.status()
    assert len(frame) == status.items == 60
    assert list(frame.columns[:4]) == ["id", "item_id", "text", "meta"]
    labelled = frame[frame["label"].notna()]
    assert labelled["label"].value_counts().to_dict() == status.label_counts
    assert set(labelled["source"]) == {"human"} and set(labelled["annotator"]) == {"al"}
    assert str(frame["annotated_at"].dt.tz) == "UTC"
    assert frame.loc[0, "meta"] == {"src": "feed"}
    unlabelled = frame[frame["label"].isna()]
    assert len(unlabelled) == status.suggestions == 30
    for _, row in unlabelled.iterrows():
        probs = row["suggestion_pred_probs"]
        assert set(probs) == set(LABELS) and sum(probs.values()) == pytest.approx(1, abs=1e-4)
        assert row["suggestion"] == max(probs, key=probs.get)
        assert row["suggestion_model_version"] == status.champion
    human = project.to_pandas(only="human")
    assert len(human) == 30 and human["label"].notna().all()


def test_to_datasets_types_labels_and_suggestions_as_class_labels(workspace, tmp_path):
    datasets = pytest.importorskip("datasets")
    project = _project(workspace, tmp_path)
    ds = project.to_datasets()
    assert isinstance(ds, datasets.Dataset) and len(ds) == 60
    assert ds.features["label"].names == LABELS
    assert ds.features["suggestion"].names == LABELS
    frame = project.to_pandas()
    for row, (_, expected) in zip(ds, frame.iterrows(), strict=True):
        assert row["item_id"] == expected["item_id"]
        if pd.isna(expected["label"]):
            assert row["label"] == -1
            assert LABELS[row["suggestion"]] == expected["suggestion"]
            probs = expected["suggestion_pred_probs"]
            assert row["pred_probs"] == pytest.approx([probs[lbl] for lbl in LABELS], abs=1e-6)
        else:
            assert LABELS[row["label"]] == expected["label"]
        assert json.loads(row["meta"]) == {"src": "feed"}


def test_to_datasets_of_a_multi_label_project_holds_lists_of_class_labels(workspace, tmp_path):
    pytest.importorskip("datasets")
    workspace.create_project("tags", labels=LABELS, multi_label=True, backbone="fake")
    rows = [{"id": "a", "text": "goal and chip", "label": ["sports", "tech"]},
            {"id": "b", "text": "a vote", "label": ["politics"]},
            {"id": "c", "text": "nothing", "label": None}]  # fmt: skip
    path = write_jsonl(tmp_path / "tags.jsonl", rows)
    workspace.import_file("tags", path, ImportOptions(id_field="id", label_field="label"))
    ds = workspace.to_datasets("tags")
    by_id = {r["id"]: r["label"] for r in ds}
    assert by_id == {"a": [0, 1], "b": [2], "c": []}
    assert ds.features["label"].feature.names == LABELS


def test_users_roles_and_tokens(workspace, tmp_path):
    _project(workspace, tmp_path, n=12, labelled=0)
    admin = workspace.add_user("ada", password="a long password")
    assert admin.is_superuser  # the first user
    bob = workspace.add_user("bob")
    assert bob.roles == {}
    assert workspace.set_role("news", "bob", "reviewer").roles == {"news": "reviewer"}
    assert workspace.members("news") == {"bob": "reviewer"}
    with pytest.raises(InvalidInput, match="unknown role"):
        workspace.set_role("news", "bob", "owner")
    token = workspace.create_token("bob", label="ci")
    principal = users.principal_for_token(workspace, token)
    assert principal is not None and principal.has_role("news", "reviewer")
    listed = workspace.tokens("bob")
    assert [(t.user, t.kind, t.label) for t in listed] == [("bob", "token", "ci")]
    assert token not in json.dumps([t.model_dump(mode="json") for t in listed])
    with pytest.raises(NotFound):
        workspace.revoke_token(listed[0].id, owner="ada")
    assert workspace.revoke_token(listed[0].id).id == listed[0].id
    assert users.principal_for_token(workspace, token) is None
    workspace.create_token("bob")
    workspace.create_token("bob")
    assert workspace.revoke_tokens("bob") == 2 and workspace.tokens("bob") == []
    workspace.remove_member("news", "bob")
    assert workspace.members("news") == {}


def test_gold_set_listed_imported_and_unset(workspace, tmp_path):
    project = _project(workspace, tmp_path, n=12, labelled=0)
    ids = [s.item_id for s in project.next_items(n=3, annotator="al")]
    assert workspace.set_gold("news", ids[0], "tech") == ["tech"]
    path = write_csv(tmp_path / "gold.csv", [{"id": "i1", "label": "sports"}])
    assert workspace.import_gold("news", path).gold_set == 1
    gold = {g.external_id: g.gold for g in workspace.gold("news")}
    first = workspace.gold("news")[0]
    assert first.data["text"]
    external = {g.item_id: g.external_id for g in workspace.gold("news")}
    assert gold[external[ids[0]]] == ["tech"] and gold["i1"] == ["sports"]
    assert workspace.qa_report("news").gold.n_gold_items == 2
    assert workspace.set_gold("news", ids[0], None) is None
    assert [g.external_id for g in workspace.gold("news")] == ["i1"]
    with pytest.raises(InvalidInput):
        workspace.set_gold("news", ids[1], "weather")
    with pytest.raises(NotFound):
        workspace.set_gold("news", 10**9, "tech")


def test_flags_listed_and_dismissed(workspace, tmp_path):
    project = _project(workspace, tmp_path, n=12, labelled=0)
    item = project.next_items(n=1, annotator="al")[0]
    flag = workspace.flag("news", item.item_id, "not sports at all", annotator="al")
    assert [f.id for f in workspace.flags("news")] == [flag.id]
    assert item.item_id in {c.item_id for c in workspace.review_candidates("news")}
    closed = workspace.dismiss_flag("news", flag.id, reviewer="rev")
    assert closed.status == "dismissed" and closed.resolved_by == "rev"
    assert workspace.flags("news") == []
    assert [f.id for f in workspace.flags("news", status=None)] == [flag.id]
    with pytest.raises(Conflict, match="dismissed already"):
        workspace.dismiss_flag("news", flag.id, reviewer="rev")
    with pytest.raises(NotFound):
        workspace.dismiss_flag("news", flag.id + 100, reviewer="rev")


def test_auto_accept_dry_run_then_apply_and_audit(workspace, tmp_path):
    project = _project(workspace, tmp_path, n=240, labelled=150)
    before = project.status()
    dry = project.auto_accept(target_precision=0.95, dry_run=True)
    assert dry.dry_run and dry.n_accepted > 0 and dry.precision_lower_bound >= 0.95
    assert project.status().by_source == before.by_source
    applied = project.auto_accept(target_precision=0.95)
    assert applied.n_accepted == dry.n_accepted and applied.threshold == dry.threshold
    assert project.status().by_source["auto"] == applied.n_accepted
    audit = workspace.audit("news")
    assert audit.n_auto == applied.n_accepted and audit.n_sampled > 0
    # the frame keeps what admitted each auto label
    frame = project.to_pandas()
    auto = frame[frame["source"] == "auto"]
    assert len(auto) == applied.n_accepted
    assert (auto["threshold"] == applied.threshold).all()
    assert (auto["confidence"] >= applied.threshold).all()
    if importlib.util.find_spec("datasets"):
        ds = project.to_datasets()
        assert ds.features["confidence"].dtype == "float64"
        kept = [r["confidence"] for r in ds if r["source"] == "auto"]
        assert kept == pytest.approx(auto["confidence"].tolist())


def test_auto_accept_refuses_without_evidence(workspace, tmp_path):
    project = _project(workspace, tmp_path, n=40, labelled=12)
    with pytest.raises(AutoAcceptRefused, match="evidence"):
        project.auto_accept(dry_run=True)


def test_backbones_are_typed_entries(workspace):
    entries = workspace.backbones()
    assert all(isinstance(e, BaseModel) for e in entries)
    default = next(e for e in entries if e.name == "minilm-l6")
    assert default.modality == "text" and default.dim == 384 and default.install == "core"


def test_open_project_names_a_missing_project(workspace):
    with pytest.raises(NotFound):
        workspace.open_project("nope")


def test_simulate_from_python(tmp_path):
    rows = topic_texts(90, seed=5)
    pool = write_csv(tmp_path / "pool.csv", [{"text": t, "topic": y} for t, y in rows[:60]])
    evals = write_csv(tmp_path / "eval.csv", [{"text": t, "topic": y} for t, y in rows[60:]])
    config = labelloop.SimulationConfig(
        pool=pool, eval=evals, out=tmp_path / "out", label_field="topic", strategies=("margin",),
        seeds=1, budget=20, batch_size=10, backbone="fake", end_to_end=False,
    )  # fmt: skip
    summary = labelloop.simulate(config)
    assert set(summary.strategies) == {"margin"} and summary.pool_items == 60
    assert Path(summary.results).is_file()
