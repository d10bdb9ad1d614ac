"""Image classification needs only a backbone of the image modality: with one registered, the
classification task imports a folder, trains on the files' content (never their paths), predicts
and exports. The backbone here is a test double that embeds a file's bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labelloop.backbones import BackboneInfo, register_backbone
from labelloop.backbones._registry import unregister_backbone
from labelloop.errors import InvalidInput
from labelloop.schema import Modality
from labelloop.services.data.importing import ImportOptions

BACKBONE = "test-image-bytes"


class ByteHistogramEncoder:
    """Embeds an image file as the histogram of its bytes (16 buckets); refuses a path that does
    not exist, so a test fails if the workspace hands the encoder a path it cannot resolve."""

    name = BACKBONE
    modality = Modality.IMAGE
    dim = 16

    def encode(self, inputs, *, batch_size=64, progress=None):
        out = np.zeros((len(inputs), self.dim), dtype=np.float32)
        for i, path in enumerate(inputs):
            data = np.frombuffer(Path(path).read_bytes(), dtype=np.uint8)
            out[i] = np.bincount(data // 16, minlength=16)
        if progress is not None:
            progress(len(inputs))
        out /= np.linalg.norm(out, axis=1, keepdims=True)
        return out


@pytest.fixture
def image_backbone():
    info = BackboneInfo(BACKBONE, Modality.IMAGE, 16, description="byte histogram, tests only")
    register_backbone(info, ByteHistogramEncoder, replace=True)
    yield BACKBONE
    unregister_backbone(BACKBONE)


def png_bytes(seed: int) -> bytes:
    """A real 8 x 8 PNG of random colours (distinct per ``seed``)."""
    import io

    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def _bmp_bytes(rng: np.random.Generator, low: int, high: int) -> bytes:
    """A real 16 x 32 grey BMP of random pixels in ``[low, high)``: BMP stores its pixels
    as they are, so its bytes are mostly those values (what the byte histogram sees)."""
    import io

    from PIL import Image

    pixels = rng.integers(low, high, size=(32, 16), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(out, format="BMP")
    return out.getvalue()


def _folder(root: Path, *, separable: bool, n: int = 24, seed: int = 0) -> Path:
    """``cat/`` and ``dog/`` with ``n`` BMP files each: random noise, or (``separable``) cats
    in low pixel values and dogs in high ones."""
    rng = np.random.default_rng(seed)
    for label, (lo, hi) in {"cat": (0, 128), "dog": (128, 256)}.items():
        (root / label).mkdir(parents=True)
        for i in range(n):
            low, high = (lo, hi) if separable else (0, 256)
            (root / label / f"{i}.bmp").write_bytes(_bmp_bytes(rng, low, high))
    return root


def test_a_text_project_refuses_the_image_backbone_and_vice_versa(sqlite_workspace, image_backbone):
    with pytest.raises(InvalidInput, match="needs a text backbone"):
        sqlite_workspace.create_project("t", labels="a,b", backbone=image_backbone)
    with pytest.raises(InvalidInput, match="needs an image backbone"):
        sqlite_workspace.create_project(
            "i", labels="a,b", task="image-classification", backbone="fake"
        )


def test_the_model_learns_from_the_files_not_their_folder_names(
    sqlite_workspace, image_backbone, tmp_path
):
    ws = sqlite_workspace
    ws.create_project(
        "noise", labels="cat,dog", task="image-classification", backbone=image_backbone
    )
    noise = _folder(tmp_path / "noise", separable=False)
    ws.import_file("noise", noise, ImportOptions(labels_from_subfolders=True))
    # random noise: nothing to learn (the text backbone on the paths scored 1.000 here)
    assert ws.train("noise").metrics["accuracy"] < 0.8

    ws.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=image_backbone
    )
    pets = _folder(ws.media_root / "pets", separable=True)  # inside the workspace's media root
    result = ws.import_file("pets", pets, ImportOptions(labels_from_subfolders=True))
    assert result.items_added == 48
    assert ws.train("pets").metrics["accuracy"] > 0.95


def test_media_paths_resolve_against_the_media_root(sqlite_workspace, image_backbone, tmp_path):
    ws = sqlite_workspace
    ws.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=image_backbone
    )
    inside = _folder(ws.media_root / "batch1", separable=True, n=3)
    outside = _folder(tmp_path / "elsewhere" / "extra", separable=True, n=3, seed=1)
    ws.import_file("pets", inside, ImportOptions(labels_from_subfolders=True))
    ws.import_file("pets", outside.parent, ImportOptions(labels_from_subfolders=False))
    out = tmp_path / "all.jsonl"
    ws.export("pets", out)
    paths = sorted(json.loads(line)["path"] for line in out.read_text().splitlines())
    # files under <workspace>/media are stored relative to it (the workspace stays movable)
    assert "batch1/cat/0.bmp" in paths
    # files elsewhere are stored absolute, so they still resolve after the import folder is gone
    assert str((outside / "dog" / "2.bmp").absolute()) in paths
    ws.predict("pets")  # the encoder opens every stored path: none dangles
    items = ws.next_items("pets", n=3, annotator="ann")
    assert all(it.suggestion is not None for it in items)


def test_label_studio_export_of_an_image_project(sqlite_workspace, image_backbone, tmp_path):
    from labelloop.schema import LabelSchema
    from labelloop.services.data.formats import label_studio_config

    ws = sqlite_workspace
    ws.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=image_backbone
    )
    ws.import_file(
        "pets",
        _folder(tmp_path / "f", separable=True, n=2),
        ImportOptions(labels_from_subfolders=True),
    )
    out = tmp_path / "ls.json"
    ws.export("pets", out, format="labelstudio")
    tasks = json.loads(out.read_text())
    assert {t["annotations"][0]["result"][0]["to_name"] for t in tasks} == {"image"}

    config = label_studio_config(
        LabelSchema(task="image-classification", labels=["cat", "dog"]), text_field="image"
    )
    assert config.startswith('<View><Image name="image" value="$image"/>')


def test_evaluate_over_rest_reads_no_image_outside_the_media_roots(
    sqlite_workspace, image_backbone, tmp_path
):
    from fastapi.testclient import TestClient

    from labelloop.server import ServerSettings, create_app
    from labelloop.services import users

    ws = sqlite_workspace
    ws.create_project(
        "pets", labels="cat,dog", task="image-classification", backbone=image_backbone
    )
    pets = _folder(ws.media_root / "pets", separable=True, n=6)
    ws.import_file("pets", pets, ImportOptions(labels_from_subfolders=True))
    ws.train("pets")
    held = _folder(tmp_path / "held", separable=True, n=2, seed=3)  # outside the media root
    rows = [{"path": str(p), "label": p.parent.name} for p in sorted(held.glob("*/*.bmp"))]
    body = "".join(json.dumps(r) + "\n" for r in rows)
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    auth = {"Authorization": f"Bearer {users.create_token(ws, 'root')}"}
    with TestClient(create_app(ws, ServerSettings(background_retrain=False))) as client:
        upload = {"file": ("eval.jsonl", body.encode())}
        r = client.post("/api/v1/projects/pets/evaluate", headers=auth, files=upload)
        assert r.status_code == 422, r.text
        assert "folders this server may read" in r.json()["error"]["message"]
        assert r.json()["error"]["line"] == 1
        # the same rows naming files under the media root are scored
        inside = [
            {"path": f"pets/{r['label']}/{k % 6}.bmp", "label": r["label"]}
            for k, r in enumerate(rows)
        ]
        upload = {"file": ("eval.jsonl", "".join(json.dumps(r) + "\n" for r in inside).encode())}
        r = client.post("/api/v1/projects/pets/evaluate", headers=auth, files=upload)
        assert r.status_code == 200, r.text
        assert r.json()["n"] == 4 and r.json()["accuracy"] > 0.7
    # a Label Studio export of the project's own images evaluates locally (paths it wrote)
    tasks = tmp_path / "tasks.json"
    ws.export("pets", tasks, format="labelstudio")
    assert ws.evaluate("pets", tasks).n == 12
