"""Issue 17, item 2: an import may read media only under the workspace's media root, only regular
files under a size cap, and a hostile import never stops the server answering."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer

from labelloop.errors import InvalidInput
from labelloop.schema import Modality
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions
from test_image_classification import BACKBONE, ByteHistogramEncoder, png_bytes


@pytest.fixture
def images(workspace):
    from labelloop.backbones import BackboneInfo, register_backbone
    from labelloop.backbones._registry import unregister_backbone

    info = BackboneInfo(BACKBONE, Modality.IMAGE, 16, description="byte histogram, tests only")
    register_backbone(info, ByteHistogramEncoder, replace=True)
    workspace.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=BACKBONE
    )
    yield workspace
    unregister_backbone(BACKBONE)


def _ls_file(folder: Path, *images: str) -> Path:
    tasks = [{"id": i + 1, "data": {"image": image}} for i, image in enumerate(images)]
    path = folder / "tasks.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return path


def _count(ws) -> int:
    return ws.status("pets").items


@pytest.mark.parametrize(
    "name, why",
    [
        ("/dev/zero", "outside the media root"),
        ("../../../secret.png", "outside the media root"),
        ("link.png", "outside the media root"),
        ("fifo.png", "not a regular file"),
        ("big.png", "over the limit"),
    ],
)
def test_an_import_refuses_media_it_may_not_read(images, tmp_path, name, why):
    ws = images
    media = ws.media_root
    (media / "ok").mkdir(parents=True)
    (media / "ok" / "a.png").write_bytes(png_bytes(1))
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes(2))
    os.symlink(secret, media / "ok" / "link.png")
    os.mkfifo(media / "ok" / "fifo.png")
    (media / "ok" / "big.png").write_bytes(b"\x89PNG" + b"0" * 2000)
    upload = _ls_file(media / "ok", "a.png", name)
    with pytest.raises(InvalidInput, match=why) as caught:
        ws.import_file("pets", upload, ImportOptions(max_media_bytes=1000, media_roots=()))
    assert "tasks.json:" in str(caught.value)  # names the file and line
    assert _count(ws) == 0  # nothing half-written


def test_an_uploaded_file_may_only_name_media_under_the_media_root(images, tmp_path):
    ws = images
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "b.png").write_bytes(png_bytes(3))
    upload = _ls_file(outside, str(outside / "b.png"))
    # as the server imports an upload: no folder but the media root
    with pytest.raises(InvalidInput, match="outside the media root"):
        ws.import_file("pets", upload, ImportOptions(media_roots=()))
    # a local caller naming the file on disk may still import media beside it
    assert ws.import_file("pets", upload).items_added == 1


def test_health_keeps_answering_while_a_hostile_import_runs(images, tmp_path):
    ws = images
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    token = users.create_token(ws, "root")
    # a FIFO no one writes to: an import that opens it waits forever, and a device like
    # /dev/zero never ends; before the fix the importer read both
    fifo = tmp_path / "stuck.png"
    os.mkfifo(fifo)
    upload = json.dumps([{"id": 1, "data": {"image": "/dev/zero"}}] * 2).encode()
    settings = ServerSettings(background_retrain=False, media_roots=[str(tmp_path)])
    done: list[int] = []
    with LiveServer(create_app(ws, settings)) as url:

        def hostile() -> None:
            body = json.dumps([{"id": 1, "data": {"image": str(fifo)}}]).encode()
            with httpx.Client(base_url=url, timeout=120) as c:
                for content in (upload, body):
                    r = c.post(
                        "/api/v1/projects/pets/import",
                        headers={"Authorization": f"Bearer {token}"},
                        files={"file": ("tasks.json", content, "application/json")},
                    )
                    done.append(r.status_code)

        thread = threading.Thread(target=hostile, daemon=True)
        thread.start()
        with httpx.Client(base_url=url, timeout=10) as c:
            for _ in range(20):
                assert c.get("/api/v1/health").json() == {"status": "ok"}
                assert c.get("/static/app.css").status_code == 200
        thread.join(60)
        assert done == [422, 422]
