"""Box pre-annotation with the real pre-trained detector (MediaPipe's SSD from its npm tflite):
a project of real photos (scikit-image's) gets boxes of its mapped classes before any label,
including one mapped by the project's type map."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.real_model


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    folder = tmp_path / "photos"
    folder.mkdir()
    Image.fromarray(skimage_data.chelsea()).save(folder / "chelsea.png")
    Image.fromarray(skimage_data.astronaut()).save(folder / "astronaut.png")
    return folder


def test_the_detector_pre_annotates_real_photos_in_project_labels(sqlite_workspace, photos):
    from labelloop.errors import MissingDependency
    from labelloop.learn.boxes import load_detector

    try:
        load_detector("mediapipe-ssd")
    except MissingDependency as exc:
        pytest.skip(str(exc))
    ws = sqlite_workspace
    ws.create_project(
        "photos", labels=["kitty", "person"], task="image-boxes", type_map={"Cat": "kitty"}
    )
    ws.import_file("photos", photos)
    result = ws.train("photos")
    assert result.kind == "pretrained" and result.promoted
    ws.predict("photos")
    items = {Path(i.data["path"]).name: i for i in ws.next_items("photos", n=2, annotator=None)}
    cat = items["chelsea.png"].suggestion.value
    person = items["astronaut.png"].suggestion.value
    assert "kitty" in [b["label"] for b in cat]
    assert "person" in [b["label"] for b in person]
    best = max(person, key=lambda b: b["score"])
    # the astronaut photo is 512 x 512; she fills most of its height
    assert best["x"] >= 0 and best["x"] + best["w"] <= 512 and best["h"] > 200
    assert 0.5 <= best["score"] <= 1.0
