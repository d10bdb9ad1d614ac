"""The REST routes of project administration: delete a project or items, export every format,
and bad input answered with the field and line it is in."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from conftest import login
from labelloop.services.data.formats import export_formats_for
from labelloop.tasks import get_task


def test_delete_items_and_the_project_need_the_admin_role(client, env):
    alpha = env.items["alpha"]
    for user, status in (("alpha-annotator", 403), ("alpha-reviewer", 403), ("beta-admin", 404)):
        r = client.delete(f"/api/v1/projects/alpha/items/{alpha[0]}", headers=env.auth(user))
        assert r.status_code == status, (user, r.text)
        r = client.delete("/api/v1/projects/alpha", headers=env.auth(user))
        assert r.status_code == status, (user, r.text)
    assert env.ws.status("alpha").items == 30

    r = client.delete(f"/api/v1/projects/alpha/items/{alpha[0]}", headers=env.auth("alpha-admin"))
    assert r.status_code == 200 and r.json()["items"] == 1
    # all or none: one id of another project (or one gone already) deletes nothing
    body = {"item_ids": [alpha[1], env.items["beta"][0]]}
    r = client.post("/api/v1/projects/alpha/items/delete", json=body, headers=env.auth("root"))
    assert r.status_code == 404 and "nothing was deleted" in r.json()["error"]["message"]
    assert env.ws.status("alpha").items == 29
    r = client.post(
        "/api/v1/projects/alpha/items/delete", json={"item_ids": []}, headers=env.auth("root")
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "item_ids"
    body = {"item_ids": alpha[1:4]}
    r = client.post("/api/v1/projects/alpha/items/delete", json=body, headers=env.auth("root"))
    assert r.status_code == 200 and r.json()["items"] == 3
    assert env.ws.status("alpha").items == 26

    r = client.delete("/api/v1/projects/alpha", headers=env.auth("alpha-admin"))
    assert r.status_code == 200 and r.json()["project_deleted"] is True
    assert r.json()["rows"]["items"] == 26
    # the admin's token no longer opens the project; beta is untouched
    r = client.get("/api/v1/projects/alpha", headers=env.auth("alpha-admin"))
    assert r.status_code == 404
    r = client.get("/api/v1/projects", headers=env.auth("root"))
    assert [p["name"] for p in r.json()] == ["beta"]
    assert env.ws.status("beta").items == 30


def test_a_browser_session_needs_the_csrf_token_to_delete(client, env):
    csrf = login(client, "alpha-admin", env.passwords["alpha-admin"])
    assert client.delete("/api/v1/projects/alpha").status_code == 403
    r = client.delete("/api/v1/projects/alpha", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200


@pytest.mark.parametrize("fmt", export_formats_for(get_task("text-classification")))
def test_export_downloads_every_format(client, env, fmt):
    r = client.get(f"/api/v1/projects/alpha/export?format={fmt}", headers=env.auth("alpha-admin"))
    assert r.status_code == 200, r.text
    # the Label Studio labelling config holds no items
    assert r.headers["x-labelloop-rows"] == ("0" if fmt == "label-studio-config" else "30")
    name = r.headers["content-disposition"]
    if fmt == "hf":  # a folder: sent as a zip of the saved dataset
        assert 'alpha.hf.zip"' in name
        names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
        assert "dataset_info.json" in names or any(n.endswith("dataset_info.json") for n in names)
    elif fmt == "jsonl":
        assert len(r.text.splitlines()) == 30
    elif fmt == "labelstudio":
        assert len(json.loads(r.content)) == 30
    elif fmt == "label-studio-config":
        assert 'alpha.xml"' in name and r.text.lstrip().startswith("<View")


def test_spans_only_formats_are_refused_for_classification(client, env):
    r = client.get("/api/v1/projects/alpha/export?format=conll", headers=env.auth("alpha-admin"))
    assert r.status_code == 422 and "conll" in r.json()["error"]["message"]


def test_bad_input_names_its_field_and_line(client, env, tmp_path):
    body = {"name": "news", "labels": ["a", "b"], "backbone": "fake",
            "settings": {"retrain_every": 0}}  # fmt: skip
    r = client.post("/api/v1/projects", json=body, headers=env.auth("root"))
    error = r.json()["error"]
    assert r.status_code == 422 and error["field"] == "settings.retrain_every"
    assert "greater than or equal to 1" in error["reason"]
    r = client.post(
        "/api/v1/projects",
        json={**body, "settings": {}, "backbone": "nope"},
        headers=env.auth("root"),
    )
    assert r.json()["error"]["field"] == "backbone"
    assert r.json()["error"]["reason"].startswith("unknown backbone 'nope'")
    upload = b"id,text\n1,fine\n2,\n3,fine too\n4,\n"
    r = client.post(
        "/api/v1/projects/alpha/import",
        files={"file": ("pool.csv", upload, "text/csv")},
        data={"id_field": "id"},
        headers=env.auth("alpha-admin"),
    )
    error = r.json()["error"]
    assert r.status_code == 422 and error["line"] == 3 and error["field"] == "text", error
    assert "labelloop-import" not in error["reason"]  # no server path in what a page shows
    # every bad row of the file, by line; nothing was imported
    assert [(e["line"], e["field"]) for e in error["errors"]] == [(3, "text"), (5, "text")]
    assert error["message"].endswith("(and 1 more problem, on line 5)")
    assert env.ws.status("alpha").items == 30
