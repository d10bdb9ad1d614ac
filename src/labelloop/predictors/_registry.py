"""The registry of predictors: built-in ones, and the plug-ins of the ``labelloop.predictors``
entry point group, read on first use.

Every predictor is used through :class:`CheckedPredictor`, which checks what it returns against
the project's labels, so a plug-in's mistake fails with its name instead of writing nonsense
suggestions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from labelloop.errors import Conflict, InvalidInput, LabelloopError, PluginError
from labelloop.plugins import PREDICTOR_GROUP, entry_points_of
from labelloop.predictors._base import (
    PredictorContext,
    PredictorInfo,
    PredictorItem,
    PredictorPlugin,
)

__all__ = [
    "CheckedPredictor",
    "list_predictors",
    "load_predictor",
    "predictor_info",
    "predictor_plugin_errors",
    "refresh_predictor_plugins",
    "register_predictor",
    "unregister_predictor",
]

logger = logging.getLogger(__name__)

_SUM_TOLERANCE = 1e-3


class CheckedPredictor:
    """A predictor built for one project, its outputs checked against the project's labels."""

    def __init__(self, inner: Any, info: PredictorInfo, context: PredictorContext) -> None:
        self.inner = inner
        self.info = info
        self.context = context
        self._where = f"predictor {info.name!r}"

    @property
    def trainable(self) -> bool:
        """Whether the predictor learns from labels (it has a ``fit`` method)."""
        return callable(getattr(self.inner, "fit", None))

    def predict(self, items: Sequence[PredictorItem]) -> np.ndarray:
        """``pred_probs`` ``(len(items), k)`` float64, checked; single-label rows sum to 1."""
        schema = self.context.label_schema
        if not items:
            return np.zeros((0, schema.n_labels))
        out = self._call("predict", items)
        try:
            probs = np.asarray(out, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PluginError(
                f"{self._where} returned something that is not an array: {exc}"
            ) from None
        expected = (len(items), schema.n_labels)
        if probs.shape != expected:
            raise PluginError(
                f"{self._where} returned pred_probs of shape {probs.shape} for {len(items)} "
                f"items; the project has {schema.n_labels} labels, so expected {expected}"
            )
        if not np.isfinite(probs).all() or probs.min() < 0.0 or probs.max() > 1.0:
            raise PluginError(f"{self._where} returned pred_probs outside [0, 1] or not finite")
        if not schema.multi_label:
            sums = probs.sum(axis=1)
            bad = np.flatnonzero(np.abs(sums - 1.0) > _SUM_TOLERANCE)
            if len(bad):
                raise PluginError(
                    f"{self._where} returned a single-label row summing to {sums[bad[0]]:.4f} "
                    f"(item {items[int(bad[0])].id}); each row must sum to 1"
                )
            probs = probs / sums[:, None]
        return probs

    def fit(self, items: Sequence[PredictorItem], labels: Sequence[Sequence[str]]) -> bool:
        """Train the predictor on ``labels`` (one answer per item); whether it learnt (``False``
        for a predictor without ``fit``, or whose ``fit`` returned ``False``)."""
        if not self.trainable or not items:
            return False
        return self._call("fit", items, [list(v) for v in labels]) is not False

    def _call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.inner, method)(*args)
        except LabelloopError:
            raise  # the plug-in's own domain errors already say what is wrong
        except Exception as exc:  # third-party code: name the plug-in whatever it raised
            raise PluginError(
                f"{self._where}.{method} failed: {type(exc).__name__}: {exc}"
            ) from exc


class _Registry:
    def __init__(self) -> None:
        self._plugins: dict[str, PredictorPlugin] = {}
        self._from_entry_points: set[str] = set()
        self._broken: dict[str, PluginError] = {}
        self._built: dict[tuple[str, str, str | None, str], CheckedPredictor] = {}
        self._lock = threading.RLock()
        self._read = False

    def register(self, plugin: PredictorPlugin, *, replace: bool) -> None:
        with self._lock:
            name = plugin.info.name
            if name in self._plugins and not replace:
                raise Conflict(f"predictor {name!r} is already registered")
            self._plugins[name] = plugin
            self._built = {k: v for k, v in self._built.items() if k[0] != name}

    def unregister(self, name: str) -> None:
        with self._lock:
            self._plugins.pop(name, None)
            self._from_entry_points.discard(name)
            self._built = {k: v for k, v in self._built.items() if k[0] != name}

    def discover(self, *, again: bool = False) -> None:
        with self._lock:
            if self._read and not again:
                return
            broken: dict[str, PluginError] = {}
            for entry in entry_points_of(PREDICTOR_GROUP):
                taken = entry.name in self._plugins and entry.name not in self._from_entry_points
                try:
                    plugin = entry.load(PredictorPlugin)
                    assert isinstance(plugin, PredictorPlugin)
                    if plugin.info.name != entry.name:
                        raise PluginError(
                            f"{entry.describe()} describes a predictor named "
                            f"{plugin.info.name!r}; the entry point's name and "
                            "PredictorInfo.name must be the same"
                        )
                    if taken or entry.name in broken:
                        raise PluginError(
                            f"{entry.describe()} is not registered: another predictor is "
                            f"already named {entry.name!r}"
                        )
                except PluginError as exc:
                    logger.warning("%s", exc)
                    broken[entry.name] = exc
                    continue
                self.register(plugin, replace=True)
                self._from_entry_points.add(entry.name)
            self._broken = broken
            self._read = True

    def plugin(self, name: str) -> PredictorPlugin:
        self.discover()
        with self._lock:
            if name in self._plugins:
                return self._plugins[name]
            if name in self._broken:
                raise self._broken[name]
            known = ", ".join(sorted(self._plugins)) or "none"
            raise InvalidInput(f"unknown predictor {name!r}; known predictors: {known}")

    def infos(self) -> list[PredictorInfo]:
        self.discover()
        with self._lock:
            return [p.info for p in self._plugins.values()]

    def broken(self) -> list[PluginError]:
        self.discover()
        with self._lock:
            return list(self._broken.values())

    def build(self, name: str, context: PredictorContext) -> CheckedPredictor:
        plugin = self.plugin(name)
        key = (name, context.project, context.url, str(context.state_dir))
        with self._lock:
            if key in self._built:
                return self._built[key]
            if plugin.info.needs_url and not context.url:
                raise InvalidInput(
                    f"predictor {name!r} needs the project's predictor_url setting (the model "
                    "server's base URL)",
                    field="predictor_url",
                )
            try:
                inner = plugin.build(context)
            except LabelloopError:
                raise
            except Exception as exc:  # third-party code: name the plug-in whatever it raised
                raise PluginError(
                    f"predictor {name!r} could not be built for project {context.project!r}: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if not callable(getattr(inner, "predict", None)):
                raise PluginError(
                    f"predictor {name!r} built a {type(inner).__name__}, which has no predict "
                    "method"
                )
            built = CheckedPredictor(inner, plugin.info, context)
            self._built[key] = built
            logger.info("built predictor %s for project %s", name, context.project)
            return built


_REGISTRY = _Registry()


def register_predictor(plugin: PredictorPlugin, *, replace: bool = False) -> None:
    """Make a predictor available under ``plugin.info.name`` (in-process, without an entry point).

    Raises:
        Conflict: The name is taken and ``replace`` is false.
    """
    _REGISTRY.register(plugin, replace=replace)


def unregister_predictor(name: str) -> None:
    """Remove a registration (and the predictors built from it); unknown names are ignored."""
    _REGISTRY.unregister(name)


def list_predictors() -> list[PredictorInfo]:
    """Every registered predictor (built-in and plug-ins), in registration order."""
    return _REGISTRY.infos()


def predictor_info(name: str) -> PredictorInfo:
    """What predictor ``name`` is.

    Raises:
        InvalidInput: No predictor has this name (the message lists the known ones).
        PluginError: A plug-in of this name is installed but broken (the message says why).
    """
    return _REGISTRY.plugin(name).info


def load_predictor(name: str, context: PredictorContext) -> CheckedPredictor:
    """The predictor ``name`` built for ``context``'s project: built once per project, URL and
    process, then shared.

    Raises:
        InvalidInput: Unknown name, or a predictor that needs a URL and got none.
        PluginError: The plug-in is broken or raised while being built.
    """
    return _REGISTRY.build(name, context)


def refresh_predictor_plugins() -> None:
    """Read the ``labelloop.predictors`` entry points again (after installing a plug-in into a
    running process)."""
    _REGISTRY.discover(again=True)


def predictor_plugin_errors() -> list[PluginError]:
    """Why each broken predictor plug-in is not registered; empty when all load."""
    return _REGISTRY.broken()
