"""Pre-trained backbones: the :class:`Encoder` protocol, their registry, and the embedding cache.

Example:
    >>> from labelloop.backbones import get_encoder, list_backbones
    >>> [b.name for b in list_backbones()][:2]
    ['minilm-l6', 'minilm-l6-int8']
    >>> get_encoder("fake").encode(["hello"]).shape
    (1, 64)

Nothing heavy is imported here: models load on the first :func:`get_encoder` call for their name.
Installed packages add backbones through the ``labelloop.backbones`` entry point group (a
:class:`BackbonePlugin` each; see docs/plugins.md), read on the first listing or lookup.
"""

from labelloop.backbones._base import Encoder, ProgressCallback
from labelloop.backbones._catalog import register_builtin_backbones
from labelloop.backbones._fake import FakeEncoder
from labelloop.backbones._plugins import BackbonePlugin
from labelloop.backbones._registry import (
    DEFAULT_BACKBONE,
    DEFAULT_IMAGE_BACKBONE,
    BackboneInfo,
    backbone_plugin_errors,
    get_encoder,
    installed_backbones,
    list_backbones,
    refresh_backbone_plugins,
    register_backbone,
)
from labelloop.backbones._sentence_transformer import SentenceTransformerEncoder
from labelloop.backbones._text import configure_runtime
from labelloop.backbones.cache import EmbeddingCache

__all__ = [
    "DEFAULT_BACKBONE",
    "DEFAULT_IMAGE_BACKBONE",
    "BackboneInfo",
    "BackbonePlugin",
    "EmbeddingCache",
    "Encoder",
    "FakeEncoder",
    "ProgressCallback",
    "SentenceTransformerEncoder",
    "backbone_plugin_errors",
    "configure_runtime",
    "get_encoder",
    "installed_backbones",
    "list_backbones",
    "refresh_backbone_plugins",
    "register_backbone",
]

register_builtin_backbones()
