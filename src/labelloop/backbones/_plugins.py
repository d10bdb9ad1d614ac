"""Encoder plug-ins: backbones other packages declare in the ``labelloop.backbones`` group.

An entry point names a :class:`BackbonePlugin` (what the backbone is, and a zero-argument loader).
Importing the entry point's module must be cheap: the model loads in ``load``, on the first
:func:`labelloop.backbones.get_encoder` call for the name. Every encoder a plug-in returns is
wrapped so that a wrong shape, dtype or width fails with the plug-in's name instead of
corrupting the embedding cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelloop.backbones._base import Encoder, ProgressCallback
from labelloop.backbones._registry import BackboneInfo, EncoderFactory
from labelloop.errors import LabelloopError, PluginError
from labelloop.plugins import BACKBONE_GROUP, PluginEntryPoint, entry_points_of

__all__ = ["BackbonePlugin", "CheckedEncoder", "discover_backbone_plugins"]


@dataclass(frozen=True)
class BackbonePlugin:
    """What an entry point in the ``labelloop.backbones`` group names.

    Attributes:
        info: The backbone's name (must equal the entry point's name), modality, width ``dim``,
            the pip packages it needs and one line for humans.
        load: Zero-argument callable returning an :class:`~labelloop.backbones.Encoder`; import
            heavy packages inside it.

    Example:
        >>> from labelloop.schema import Modality
        >>> from labelloop.backbones import FakeEncoder
        >>> plugin = BackbonePlugin(BackboneInfo("fake", Modality.TEXT, 64), FakeEncoder)
        >>> plugin.info.dim
        64
    """

    info: BackboneInfo
    load: EncoderFactory


class CheckedEncoder:
    """A plug-in's encoder, with every ``encode`` result checked against its :class:`BackboneInfo`.

    Other attributes (``model_path`` for fine-tuning, ...) are the wrapped encoder's.
    """

    def __init__(self, inner: Encoder, info: BackboneInfo, where: str) -> None:
        self.inner = inner
        self.name = info.name
        self.modality = info.modality
        self.dim = info.dim
        self._where = where

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.inner, attribute)

    def encode(
        self,
        inputs: Sequence[Any],
        *,
        batch_size: int = 64,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """The wrapped encoder's ``(len(inputs), dim)`` float32 rows, checked."""
        try:
            out = self.inner.encode(inputs, batch_size=batch_size, progress=progress)
        except LabelloopError:
            raise  # the plug-in's own InvalidInput for a bad input stays what it is
        except Exception as exc:  # third-party code: name the plug-in whatever it raised
            raise PluginError(
                f"{self._where} failed to encode: {type(exc).__name__}: {exc}"
            ) from exc
        array = np.asarray(out)
        if array.shape != (len(inputs), self.dim):
            raise PluginError(
                f"{self._where} returned embeddings of shape {array.shape} for {len(inputs)} "
                f"inputs; its BackboneInfo promises ({len(inputs)}, {self.dim})"
            )
        if not np.issubdtype(array.dtype, np.floating) or not np.isfinite(array).all():
            raise PluginError(f"{self._where} returned non-finite or non-float embeddings")
        return np.ascontiguousarray(array, dtype=np.float32)


def _checked_factory(plugin: BackbonePlugin, where: str) -> EncoderFactory:
    def load() -> Encoder:
        try:
            encoder = plugin.load()
        except (ImportError, LabelloopError):
            raise  # the registry turns an ImportError into MissingDependency naming the packages
        except Exception as exc:  # third-party code: name the plug-in whatever it raised
            raise PluginError(
                f"{where} failed to load its model: {type(exc).__name__}: {exc}"
            ) from exc
        return CheckedEncoder(encoder, plugin.info, where)

    return load


def discover_backbone_plugins() -> list[tuple[PluginEntryPoint, BackbonePlugin | PluginError]]:
    """Every entry point of the ``labelloop.backbones`` group, loaded into a plug-in or the error
    that says why it cannot be one (import failure, wrong object, a name that is not its own)."""
    found: list[tuple[PluginEntryPoint, BackbonePlugin | PluginError]] = []
    for entry in entry_points_of(BACKBONE_GROUP):
        try:
            plugin = entry.load(BackbonePlugin)
            assert isinstance(plugin, BackbonePlugin)
            if plugin.info.name != entry.name:
                raise PluginError(
                    f"{entry.describe()} describes a backbone named {plugin.info.name!r}; the "
                    "entry point's name and BackboneInfo.name must be the same"
                )
        except PluginError as exc:
            found.append((entry, exc))
            continue
        wrapped = BackbonePlugin(plugin.info, _checked_factory(plugin, entry.describe()))
        found.append((entry, wrapped))
    return found
