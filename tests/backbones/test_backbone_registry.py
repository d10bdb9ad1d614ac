"""Registry: names, install checks, actionable errors, one lazily loaded instance per name."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from labelloop.backbones import (
    DEFAULT_BACKBONE,
    BackboneInfo,
    FakeEncoder,
    get_encoder,
    installed_backbones,
    list_backbones,
    register_backbone,
)
from labelloop.backbones._registry import unregister_backbone
from labelloop.errors import Conflict, InvalidInput, MissingDependency
from labelloop.schema import Modality


@pytest.fixture
def temp_names() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        unregister_backbone(name)


def test_builtins_are_listed_with_their_extras() -> None:
    infos = {b.name: b for b in list_backbones()}
    assert DEFAULT_BACKBONE == "minilm-l6"
    assert infos["minilm-l6"].extra is None and infos["minilm-l6"].dim == 384
    assert infos["mpnet-base"].dim == 768
    extras = {infos[n].extra for n in ("minilm-l6-int8", "minilm-l3", "mpnet-base")}
    assert extras == {"int8", "l3", "mpnet"}
    assert infos["e5-small-multilingual"].extra == "e5"
    images = {"efficientnet-lite0", "efficientnet-lite2"}
    assert all(infos[n].modality == Modality.IMAGE and infos[n].extra == "images" for n in images)
    assert all(b.modality == Modality.TEXT for n, b in infos.items() if n not in images)


def test_fake_is_always_installed() -> None:
    assert "fake" in [b.name for b in installed_backbones()]


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as err:
        get_encoder("no-such-backbone")
    assert "no-such-backbone" in str(err.value)
    assert "minilm-l6" in str(err.value) and "fake" in str(err.value)


def test_missing_package_names_the_extra(temp_names: list[str]) -> None:
    info = BackboneInfo(
        "needs-extra", Modality.TEXT, 8, ("labelloop-surely-not-installed==1.0",), "bigmodel"
    )
    register_backbone(info, FakeEncoder)
    temp_names.append(info.name)
    assert not info.installed
    assert "needs-extra" not in [b.name for b in installed_backbones()]
    with pytest.raises(MissingDependency, match=r"pip install 'labelloop\[bigmodel\]'"):
        get_encoder("needs-extra")


def test_import_error_in_factory_becomes_missing_dependency(temp_names: list[str]) -> None:
    def factory() -> FakeEncoder:
        raise ImportError("No module named 'onnxruntime'")

    register_backbone(BackboneInfo("broken-import", Modality.TEXT, 8, extra="int8"), factory)
    temp_names.append("broken-import")
    with pytest.raises(MissingDependency, match=r"onnxruntime.*labelloop\[int8\]"):
        get_encoder("broken-import")


def test_loaded_once_per_process_even_from_many_threads(temp_names: list[str]) -> None:
    calls: list[int] = []
    gate = threading.Event()

    def slow_factory() -> FakeEncoder:
        calls.append(1)
        gate.wait(0.2)
        return FakeEncoder(name="slow-one")

    register_backbone(BackboneInfo("slow-one", Modality.TEXT, 64), slow_factory)
    temp_names.append("slow-one")
    got: list[object] = []
    threads = [
        threading.Thread(target=lambda: got.append(get_encoder("slow-one"))) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(e) for e in got}) == 1 and len(got) == 8


def test_duplicate_registration_is_a_conflict(temp_names: list[str]) -> None:
    register_backbone(BackboneInfo("dup", Modality.TEXT, 8), FakeEncoder)
    temp_names.append("dup")
    with pytest.raises(Conflict):
        register_backbone(BackboneInfo("dup", Modality.TEXT, 8), FakeEncoder)
    register_backbone(BackboneInfo("dup", Modality.IMAGE, 8), FakeEncoder, replace=True)
    assert next(b for b in list_backbones() if b.name == "dup").modality == Modality.IMAGE


def test_importing_the_package_loads_no_model_library() -> None:
    code = (
        "import sys, labelloop.backbones as b; b.list_backbones(); b.installed_backbones();"
        "print([m for m in ('torch', 'sentence_transformers', 'onnxruntime') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
