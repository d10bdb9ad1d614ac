"""REST routes of predict, evaluate, auto-accept, audit, gold, flags and label issues, with
their roles, on SQLite and PostgreSQL; the spec's security schemes (issue 18)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from server_factories import LABELS, Env, make_env

from factories import topic_texts, write_csv
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions

API = "/api/v1/projects"


class Api:
    """A client over ``env``'s workspace that speaks as one user at a time."""

    def __init__(self, client: TestClient, env: Env) -> None:
        self.client, self.env = client, env

    def get(self, path: str, user: str, **kw: Any) -> Any:
        return self.client.get(f"{API}/{path}", headers=self.env.auth(user), **kw)

    def post(self, path: str, user: str, **kw: Any) -> Any:
        return self.client.post(f"{API}/{path}", headers=self.env.auth(user), **kw)

    def put(self, path: str, user: str, **kw: Any) -> Any:
        return self.client.put(f"{API}/{path}", headers=self.env.auth(user), **kw)

    def delete(self, path: str, user: str) -> Any:
        return self.client.delete(f"{API}/{path}", headers=self.env.auth(user))


@pytest.fixture
def api(workspace, tmp_path: Path) -> Iterator[Api]:
    env = make_env(workspace, tmp_path, n=12)
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield Api(client, env)


def _labelled_project(api: Api, tmp_path: Path, name: str, *, n: int, labelled: int,
                      wrong: int = 0) -> list[str]:  # fmt: skip
    """Project ``name`` (each alpha-<role> user has that role in it) with ``labelled`` human
    labels among ``n`` items, the first ``wrong`` of them mislabelled on purpose, trained.
    Returns the mislabelled items' ids."""
    ws = api.env.ws
    rows = topic_texts(n, seed=3)
    ws.create_project(name, labels=LABELS, backbone="fake")
    data = []
    for i, (text, label) in enumerate(rows[:labelled]):
        given = LABELS[(LABELS.index(label) + 1) % 3] if i < wrong else label
        data.append({"id": f"{name}{i}", "text": text, "label": given})
    ws.import_file(name, write_csv(tmp_path / f"{name}-l.csv", data),
                   ImportOptions(id_field="id", label_field="label", annotator="al"))  # fmt: skip
    pool = [{"id": f"{name}{i}", "text": t} for i, (t, _) in enumerate(rows) if i >= labelled]
    if pool:
        ws.import_file(name, write_csv(tmp_path / f"{name}-u.csv", pool),
                       ImportOptions(id_field="id"))  # fmt: skip
    ws.train(name)
    for role in ("admin", "reviewer", "annotator"):
        users.set_member(ws, name, f"alpha-{role}", role)
    return [d["id"] for d in data[:wrong]]


def test_the_spec_lists_both_security_schemes_and_each_operations_role(api):
    spec = api.client.get("/api/v1/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["session"]["in"] == "cookie" and schemes["session"]["name"]
    roles = {}
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            assert op["security"] == [{"bearer": []}, {"session": []}], (method, path)
            roles[method.upper(), path] = op["x-labelloop-role"]
    assert roles["POST", "/api/v1/projects/{project}/auto-accept"] == "admin"
    assert roles["POST", "/api/v1/projects/{project}/predict"] == "admin"
    assert roles["GET", "/api/v1/projects/{project}/flags"] == "reviewer"
    assert roles["POST", "/api/v1/projects/{project}/flags"] == "annotator"
    assert roles["POST", "/api/v1/projects"] == "superuser"
    assert roles["GET", "/api/v1/me"] == "any"


def test_predict_refreshes_the_suggestions_for_admins_only(api):
    r = api.post("alpha/predict", "alpha-admin")
    assert r.status_code == 200, r.text
    status = api.get("alpha/status", "alpha-admin").json()
    assert r.json()["items"] == status["suggestions"] == 12
    assert r.json()["model_version"] == status["champion"]
    assert api.post("alpha/predict", "alpha-reviewer").status_code == 403
    assert api.post("alpha/predict", "beta-admin").status_code == 404


def test_evaluate_scores_the_champion_on_an_uploaded_file(api, tmp_path):
    rows = [{"text": t, "label": y} for t, y in topic_texts(18, seed=11)]
    path = write_csv(tmp_path / "eval.csv", rows)
    r = api.post("alpha/evaluate", "alpha-admin", files={"file": ("eval.csv", path.read_bytes())})
    assert r.status_code == 200, r.text
    expected = api.env.ws.evaluate("alpha", path)
    assert r.json() == expected.model_dump(mode="json")
    assert r.json()["n"] == 18 and set(r.json()["per_class"]) == set(LABELS)
    bad = write_csv(tmp_path / "bad.csv", [*rows[:2], {"text": "x", "label": "weather"}])
    r = api.post("alpha/evaluate", "alpha-admin", files={"file": ("bad.csv", bad.read_bytes())})
    assert r.status_code == 422 and "weather" in r.json()["error"]["message"]
    assert r.json()["error"]["line"] == 4
    r = api.post("alpha/evaluate", "alpha-admin", files={"file": ("noext", b"text,label\n")})
    assert r.status_code == 422 and r.json()["error"]["field"] == "format"
    # refused before the body is read, like an import
    upload = {"file": ("eval.csv", path.read_bytes())}
    assert api.post("alpha/evaluate", "alpha-reviewer", files=upload).status_code == 403
    assert api.post("alpha/evaluate", "beta-admin", files=upload).status_code == 404


def test_auto_accept_dry_run_then_apply_with_its_learn_then_test_result(api, tmp_path):
    _labelled_project(api, tmp_path, "auto", n=240, labelled=150)
    before = api.get("auto/status", "alpha-admin").json()
    body = {"target_precision": 0.95, "confidence": 0.95, "dry_run": True}
    dry = api.post("auto/auto-accept", "alpha-admin", json=body)
    assert dry.status_code == 200, dry.text
    decided = dry.json()
    assert decided["dry_run"] and decided["n_accepted"] > 0 and decided["n_evidence"] == 150
    assert decided["precision_lower_bound"] >= 0.95 and 0 < decided["threshold"] <= 1
    assert api.get("auto/status", "alpha-admin").json()["by_source"] == before["by_source"]
    applied = api.post("auto/auto-accept", "alpha-admin", json={**body, "dry_run": False}).json()
    assert applied["n_accepted"] == decided["n_accepted"]
    assert applied["threshold"] == decided["threshold"]
    status = api.get("auto/status", "alpha-admin").json()
    assert status["by_source"]["auto"] == applied["n_accepted"]
    audit = api.get("auto/audit", "alpha-reviewer")
    assert audit.status_code == 200, audit.text
    assert audit.json()["n_auto"] == applied["n_accepted"] and not audit.json()["paused"]
    assert api.post("auto/auto-accept", "alpha-reviewer", json=body).status_code == 403
    assert api.get("auto/audit", "alpha-annotator").status_code == 403


def test_auto_accept_refusals_and_bad_settings(api):
    r = api.post("alpha/auto-accept", "alpha-admin", json={"dry_run": True})
    assert r.status_code == 409 and r.json()["error"]["type"] == "AutoAcceptRefused"
    assert "refused" in r.json()["error"]["message"]
    for bad in ({"target_precision": 1.0}, {"confidence": 0}, {"min_evidence": 0}):
        r = api.post("alpha/auto-accept", "alpha-admin", json={"dry_run": True, **bad})
        assert r.status_code == 422, bad
        assert r.json()["error"]["field"] == next(iter(bad))


def test_gold_items_are_added_listed_and_removed(api):
    first, second = api.env.items["alpha"][:2]
    r = api.put(f"alpha/gold/{first}", "alpha-admin", json={"value": "tech"})
    assert r.status_code == 200 and r.json() == {"item_id": first, "gold": ["tech"]}
    api.put(f"alpha/gold/{second}", "alpha-admin", json={"value": "sports"})
    listed = api.get("alpha/gold", "alpha-reviewer").json()
    assert [(g["item_id"], g["gold"]) for g in listed] == sorted(
        [(first, ["tech"]), (second, ["sports"])]
    )
    assert listed[0]["data"]["text"]
    assert api.get("alpha/qa", "alpha-reviewer").json()["gold"]["n_gold_items"] == 2
    assert api.get("alpha/gold?limit=1&offset=1", "alpha-reviewer").json()[0]["item_id"] == max(
        first, second
    )
    assert api.delete(f"alpha/gold/{first}", "alpha-admin").status_code == 204
    assert [g["item_id"] for g in api.get("alpha/gold", "alpha-reviewer").json()] == [second]
    r = api.put(f"alpha/gold/{first}", "alpha-admin", json={"value": "weather"})
    assert r.status_code == 422 and "weather" in r.json()["error"]["message"]
    beta_item = api.env.items["beta"][0]
    assert (
        api.put(f"alpha/gold/{beta_item}", "alpha-admin", json={"value": "tech"}).status_code == 404
    )
    assert api.get("alpha/gold", "alpha-annotator").status_code == 403
    assert (
        api.put(f"alpha/gold/{first}", "alpha-reviewer", json={"value": "tech"}).status_code == 403
    )
    assert api.delete(f"alpha/gold/{second}", "alpha-reviewer").status_code == 403


def test_flags_are_raised_listed_dismissed_and_resolved(api):
    handed = api.get("alpha/next?n=2", "alpha-annotator").json()["items"]
    one, two = (item["item_id"] for item in handed)
    r = api.post("alpha/flags", "alpha-annotator", json={"item_id": one, "reason": "not sports"})
    assert r.status_code == 201, r.text
    flag_one = r.json()
    assert flag_one["status"] == "open" and flag_one["kind"] == "flag"
    flag_two = api.post("alpha/flags", "alpha-annotator",
                        json={"item_id": two, "reason": "wrong"}).json()  # fmt: skip
    not_handed = next(i for i in api.env.items["alpha"] if i not in (one, two))
    r = api.post("alpha/flags", "alpha-annotator", json={"item_id": not_handed, "reason": "x"})
    assert r.status_code == 403
    assert api.get("alpha/flags", "alpha-annotator").status_code == 403
    listed = api.get("alpha/flags", "alpha-reviewer").json()
    assert [f["id"] for f in listed] == [flag_two["id"], flag_one["id"]]

    r = api.post(f"alpha/flags/{flag_one['id']}/dismiss", "alpha-reviewer")
    assert r.status_code == 200 and r.json()["status"] == "dismissed"
    assert r.json()["resolved_by"] == "alpha-reviewer"
    assert api.post(f"alpha/flags/{flag_one['id']}/dismiss", "alpha-reviewer").status_code == 409

    other = next(lbl for lbl in LABELS if [lbl] != flag_two["suggestion"])
    r = api.post(f"alpha/flags/{flag_two['id']}/resolve", "alpha-reviewer", json={"value": other})
    assert r.status_code == 200, r.text
    assert r.json()["value"] == [other] and r.json()["item_id"] == two
    closed = {
        f["id"]: f["status"] for f in api.get("alpha/flags?status=all", "alpha-reviewer").json()
    }
    assert closed == {flag_one["id"]: "dismissed", flag_two["id"]: "confirmed"}
    assert api.get("alpha/flags", "alpha-reviewer").json() == []
    again = api.post(
        f"alpha/flags/{flag_two['id']}/resolve", "alpha-reviewer", json={"value": other}
    )
    assert again.status_code == 409
    # a flag of another project is not found through this one
    beta_flag = api.env.ws.flag("beta", api.env.items["beta"][0], "bad", annotator="beta-admin")
    assert api.post(f"alpha/flags/{beta_flag.id}/dismiss", "alpha-reviewer").status_code == 404
    r = api.get("alpha/flags?status=closed", "alpha-reviewer")
    assert r.status_code == 422


def test_label_issues_find_the_mislabelled_items(api, tmp_path):
    wrong = _labelled_project(api, tmp_path, "noisy", n=60, labelled=60, wrong=4)
    r = api.get("noisy/issues", "alpha-reviewer")
    assert r.status_code == 200, r.text
    issues = r.json()
    assert issues["n_labels"] == 60 and issues["model_version"] == 1
    found = {i["external_id"] for i in issues["issues"]}
    assert found and len(found & set(wrong)) >= 3, (found, wrong)
    refreshed = api.get("noisy/issues?refresh=true", "alpha-reviewer").json()
    assert {i["external_id"] for i in refreshed["issues"]} == found
    assert api.get("noisy/issues?method=nope", "alpha-reviewer").status_code == 422
    assert api.get("noisy/issues", "alpha-annotator").status_code == 403


def test_evaluate_on_the_gold_items_scores_the_champions_suggestions(api):
    r = api.get("alpha/evaluate", "alpha-admin")
    assert r.status_code == 422 and r.json()["error"]["field"] == "gold"
    suggested = {
        s["item_id"]: s["value"] for s in api.get("alpha/suggestions", "alpha-reviewer").json()
    }
    gold = dict(zip(api.env.items["alpha"][:6], ["sports", "tech", "politics"] * 2, strict=True))
    for item_id, label in gold.items():
        api.put(f"alpha/gold/{item_id}", "alpha-admin", json={"value": label})
    r = api.get("alpha/evaluate", "alpha-admin")
    assert r.status_code == 200, r.text
    result = r.json()
    right = sum(suggested[i] == [label] for i, label in gold.items())
    assert result["n"] == 6 and result["accuracy"] == pytest.approx(right / 6)
    assert result["model_version"] == api.get("alpha/status", "alpha-admin").json()["champion"]
    assert sum(c["support"] for c in result["per_class"].values()) == 6
    assert api.get("alpha/evaluate", "alpha-reviewer").status_code == 403
