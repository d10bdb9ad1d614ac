"""Uploading a zip of images over REST: extracted into the workspace's media root, labelled from
its class folders, bad files skipped and listed (or the upload refused), hostile zips refused."""

from __future__ import annotations

import io
import zipfile

import pytest
from fastapi.testclient import TestClient
from server_factories import Env, make_env

from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from test_image_import_export import image_bytes


@pytest.fixture
def env(sqlite_workspace, tmp_path) -> Env:
    from labelloop.backbones import BackboneInfo, register_backbone
    from labelloop.backbones._registry import unregister_backbone
    from labelloop.schema import Modality
    from test_image_classification import BACKBONE, ByteHistogramEncoder

    info = BackboneInfo(BACKBONE, Modality.IMAGE, 16, description="byte histogram, tests only")
    register_backbone(info, ByteHistogramEncoder, replace=True)
    env = make_env(sqlite_workspace, tmp_path, n=2)
    sqlite_workspace.create_project(
        "pics", labels="cat,dog", task="image-classification", backbone=BACKBONE
    )
    users.set_member(sqlite_workspace, "pics", "alpha-admin", "admin")
    yield env
    unregister_backbone(BACKBONE)


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _upload(env: Env, content: bytes, **form: str):
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        return c.post(
            "/api/v1/projects/pics/import",
            files={"file": ("pics.zip", content, "application/zip")},
            data=form,
            headers=env.auth("alpha-admin"),
        )


def test_a_zip_upload_imports_its_class_folders_and_lists_skipped_files(env):
    content = _zip(
        {"cat/a.png": image_bytes(1), "dog/b.png": image_bytes(2), "dog/bad.png": b"\x89PNG no"}
    )
    r = _upload(env, content, labels_from_subfolders="true", on_bad_file="skip")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["items_added"], body["annotations_added"]) == (2, 2)
    assert [s["file"].rsplit("/", 1)[-1] for s in body["skipped"]] == ["bad.png"]
    refused = _upload(env, _zip({"cat/c.png": image_bytes(3), "cat/x.png": b"broken"}))
    assert refused.status_code == 422 and "x.png" in refused.json()["error"]["message"]
    assert env.ws.status("pics").items == 2


def test_a_zip_upload_that_would_write_outside_is_refused(env):
    r = _upload(env, _zip({"../../escape.png": image_bytes(1)}))
    assert r.status_code == 422
    assert "points outside the folder" in r.json()["error"]["message"]
    assert env.ws.status("pics").items == 0


def test_a_box_project_downloads_as_coco_and_as_a_yolo_zip(env, tmp_path):
    from pycocotools.coco import COCO

    ws = env.ws
    ws.create_project("det", labels="cat,dog", task="image-boxes")
    users.set_member(ws, "det", "alpha-admin", "admin")
    yolo = {
        "images/a.png": image_bytes(1),
        "labels/a.txt": b"1 0.5 0.5 0.5 0.5\n",
        "classes.txt": b"cat\ndog\n",
    }
    app = create_app(ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        r = c.post(
            "/api/v1/projects/det/import",
            files={"file": ("boxes.zip", _zip(yolo), "application/zip")},
            headers=env.auth("alpha-admin"),
        )
        assert r.status_code == 201, r.text
        coco = c.get("/api/v1/projects/det/export?format=coco", headers=env.auth("alpha-admin"))
        folder = c.get("/api/v1/projects/det/export?format=yolo", headers=env.auth("alpha-admin"))
    assert coco.status_code == 200 and folder.status_code == 200
    path = tmp_path / "det.json"
    path.write_bytes(coco.content)
    gold = COCO(str(path))
    assert [a["bbox"] for a in gold.dataset["annotations"]] == [[6.0, 4.0, 12.0, 8.0]]
    with zipfile.ZipFile(io.BytesIO(folder.content)) as zf:
        assert zf.read("labels/a.txt").split()[0] == b"1"
