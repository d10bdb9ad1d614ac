"""Plug-ins through entry points: a real package installed into a temp dir, discovered and used.

``tests/plugin_fixture/labelloop_acme`` is copied into a temp folder beside a ``dist-info``
folder whose ``entry_points.txt`` declares it (what ``pip install --target`` writes), and the
folder goes on ``sys.path``: labelloop then finds ``acme-words`` (an encoder) and
``acme-keywords`` (a trainable predictor) as it finds any installed plug-in, and a project uses
both end to end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from factories import suggestions_by_text, topic_project, topic_texts
from labelloop.backbones import (
    backbone_plugin_errors,
    get_encoder,
    list_backbones,
    refresh_backbone_plugins,
)
from labelloop.errors import InvalidInput, PluginError
from labelloop.predictors import (
    list_predictors,
    predictor_plugin_errors,
    refresh_predictor_plugins,
)

FIXTURE = Path(__file__).parent / "plugin_fixture" / "labelloop_acme"
ACME = """\
[labelloop.backbones]
acme-words = labelloop_acme:words

[labelloop.predictors]
acme-keywords = labelloop_acme:keywords
"""


def _install(target: Path, entry_points: str, *, name: str, package: bool = True) -> None:
    """What ``pip install --target`` leaves: the package and its ``dist-info`` metadata."""
    if package:
        shutil.copytree(FIXTURE, target / "labelloop_acme")
    info = target / f"{name.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(entry_points)


def _refresh() -> None:
    refresh_backbone_plugins()
    refresh_predictor_plugins()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    """A temp folder on ``sys.path`` to install plug-ins into; removed (and the plug-ins with
    it) afterwards."""
    target = tmp_path / "site"
    target.mkdir()
    sys.path.insert(0, str(target))
    yield target
    sys.path.remove(str(target))
    for module in [m for m in sys.modules if m.startswith("labelloop_acme")]:
        del sys.modules[module]
    from labelloop.backbones._registry import unregister_backbone
    from labelloop.predictors import unregister_predictor

    unregister_backbone("acme-words")
    unregister_predictor("acme-keywords")
    _refresh()


@pytest.fixture
def acme(site: Path) -> Path:
    _install(site, ACME, name="labelloop-acme")
    _refresh()
    return site


def _project(ws, tmp_path: Path, *, n: int, labelled: int, settings: dict) -> None:
    topic_project(ws, tmp_path, backbone="acme-words", settings=settings, n=n, labelled=labelled)


def _suggestion_accuracy(ws, n: int) -> float:
    truth = dict(topic_texts(n))
    found = suggestions_by_text(ws)
    assert found
    return sum(label == truth[text] for text, (label, _) in found.items()) / len(found)


def test_importing_labelloop_loads_no_plugin_until_one_is_listed(site):
    _install(site, ACME, name="labelloop-acme")
    script = (
        "import sys, labelloop, labelloop.backbones, labelloop.predictors\n"
        "assert 'labelloop_acme' not in sys.modules, 'imported at import time'\n"
        "names = [b.name for b in labelloop.backbones.list_backbones()]\n"
        "assert 'acme-words' in names and 'labelloop_acme' in sys.modules, names\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_installed_plugins_are_discovered_and_work(acme):
    assert "acme-words" in [b.name for b in list_backbones()]
    assert "acme-keywords" in [p.name for p in list_predictors()]
    assert backbone_plugin_errors() == [] and predictor_plugin_errors() == []
    embeddings = get_encoder("acme-words").encode(["the match and the goal", "a chip"])
    assert embeddings.shape == (2, 32) and embeddings.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-5)


def test_a_project_trains_and_predicts_with_a_plugin_predictor_end_to_end(
    acme, workspace, tmp_path
):
    ws = workspace
    _project(ws, tmp_path, n=90, labelled=0, settings={"predictor": "acme-keywords"})
    first = ws.predict("p")
    assert first.kind == "predictor" and first.items == 90
    # before any label the naive Bayes predictor knows nothing: every label at 1/3
    untrained = suggestions_by_text(ws)
    assert len(untrained) == 90
    assert all(abs(confidence - 1 / 3) < 1e-6 for _, confidence in untrained.values())

    truth = topic_texts(90)
    by_text = {t: i for i, (t, _) in enumerate(truth)}
    given = []
    for item in ws.next_items("p", n=30, annotator="alice"):
        given.append(truth[by_text[item.data["text"]]][1])
        ws.submit("p", item.item_id, [given[-1]], annotator="alice")
    trained = ws.train("p")
    assert trained.kind == "predictor" and trained.promoted and trained.n_labels == 30
    # the 30 labels were asked about before the predictor learnt them (held out): untrained, it
    # answered the first label (a tie) for every one
    assert trained.metrics["accuracy"] == pytest.approx(given.count("sports") / 30)
    assert "trained on 30 labels" in trained.reason
    assert _suggestion_accuracy(ws, 90) > 0.8

    for item in ws.next_items("p", n=30, annotator="carol"):
        ws.submit("p", item.item_id, [truth[by_text[item.data["text"]]][1]], annotator="carol")
    again = ws.train("p")
    # 30 old held-out answers (untrained) and 30 new ones from the trained predictor
    assert again.metrics["accuracy"] > 0.6
    models = ws.models("p")
    assert [m.kind for m in models] == ["predictor"] * 3
    newest = max(models, key=lambda m: m.version)
    assert newest.status == "champion" and newest.version == again.model_version
    assert newest.params["evidence"] == 60 and newest.params["learnt"] is True
    assert newest.params["temperature"] is not None

    decision = ws.auto_accept("p", dry_run=True, min_evidence=20, target_precision=0.5)
    assert decision.dry_run and decision.model_version == again.model_version
    assert decision.n_evidence == 60 and decision.n_accepted > 0


def test_the_predictor_remembers_what_it_learnt_in_its_state_folder(acme, workspace, tmp_path):
    _project(workspace, tmp_path, n=60, labelled=30, settings={"predictor": "acme-keywords"})
    workspace.train("p")
    state = list((workspace.path / "artifacts" / "predictors").glob("*/acme-counts.json"))
    assert len(state) == 1 and "sports" in state[0].read_text()


def test_a_plugin_backbone_trains_a_head_like_a_builtin_one(acme, sqlite_workspace, tmp_path):
    _project(sqlite_workspace, tmp_path, n=90, labelled=45, settings={})
    result = sqlite_workspace.train("p")
    assert result.kind == "head" and result.promoted
    assert result.metrics["accuracy"] > 0.6
    assert sqlite_workspace.models("p")[0].backbone == "acme-words"


def test_a_project_refuses_an_unknown_or_incomplete_predictor(acme, sqlite_workspace):
    ws = sqlite_workspace
    with pytest.raises(InvalidInput, match=r"unknown predictor 'nope'.*acme-keywords") as exc:
        ws.create_project("a", labels="x,y", backbone="fake", settings={"predictor": "nope"})
    assert exc.value.field == "predictor"
    with pytest.raises(InvalidInput, match="needs predictor_url") as exc:
        ws.create_project("b", labels="x,y", settings={"predictor": "label-studio-ml"})
    assert exc.value.field == "predictor_url"
    with pytest.raises(InvalidInput, match="http"):
        ws.create_project("c", labels="x,y", settings={"predictor_url": "ftp://host"})
    assert [p.name for p in ws.list_projects()] == []


def test_a_broken_plugin_is_named_with_its_entry_point(site, sqlite_workspace):
    _install(
        site,
        "[labelloop.backbones]\nacme-broken = labelloop_acme:not_a_plugin\n"
        "acme-missing = labelloop_acme_missing:words\n"
        "[labelloop.predictors]\nacme-misnamed = labelloop_acme:keywords\n",
        name="labelloop-acme-broken",
    )
    _refresh()
    errors = {str(e) for e in backbone_plugin_errors()}
    assert any(
        "plug-in 'acme-broken' (entry point acme-broken = labelloop_acme:not_a_plugin" in e
        and "labelloop-acme-broken 0.1.0" in e
        and "must name a BackbonePlugin, got str" in e
        for e in errors
    ), errors
    assert any("acme-missing" in e and "ModuleNotFoundError" in e for e in errors), errors
    assert "acme-broken" not in [b.name for b in list_backbones()]
    with pytest.raises(PluginError, match=r"acme-missing.*failed to load"):
        get_encoder("acme-missing")
    (misnamed,) = [str(e) for e in predictor_plugin_errors()]
    assert "describes a predictor named 'acme-keywords'" in misnamed
    with pytest.raises(PluginError, match="acme-misnamed"):
        sqlite_workspace.create_project("p", labels="a,b", settings={"predictor": "acme-misnamed"})


def test_a_plugin_that_takes_a_builtin_name_is_refused(site):
    _install(
        site, "[labelloop.backbones]\nfake = labelloop_acme:fake_clash\n", name="labelloop-fake"
    )
    _refresh()
    (error,) = [str(e) for e in backbone_plugin_errors()]
    assert "another backbone is already named 'fake'" in error
    assert get_encoder("fake").dim == 64  # the built-in one is untouched


def test_a_predictor_returning_the_wrong_shape_fails_naming_it(acme, sqlite_workspace, tmp_path):
    import labelloop_acme

    _project(sqlite_workspace, tmp_path, n=12, labelled=0, settings={"predictor": "acme-keywords"})
    original = labelloop_acme.KeywordsPredictor.predict
    labelloop_acme.KeywordsPredictor.predict = lambda self, items: np.ones((len(items), 2)) / 2
    try:
        with pytest.raises(PluginError, match=r"predictor 'acme-keywords' returned pred_probs of "
                           r"shape \(12, 2\).*expected \(12, 3\)"):  # fmt: skip
            sqlite_workspace.predict("p")
    finally:
        labelloop_acme.KeywordsPredictor.predict = original
    assert sqlite_workspace.status("p").suggestions == 0


def test_clearing_the_predictor_setting_goes_back_to_the_builtin_models(
    acme, sqlite_workspace, tmp_path
):
    ws = sqlite_workspace
    _project(ws, tmp_path, n=90, labelled=45, settings={"predictor": "acme-keywords"})
    assert ws.train("p").kind == "predictor"
    ws.update_project("p", settings={"predictor": ""})
    back = ws.train("p")
    assert back.kind == "head" and back.promoted
    assert "no longer names a predictor" in back.reason
    assert ws.predict("p").kind == "head"
