"""Finding plug-ins: the entry points installed packages declare for labelloop.

A package adds a backbone or a predictor by declaring an entry point in its own metadata
(``[project.entry-points."labelloop.backbones"]`` in its ``pyproject.toml``); labelloop reads the
installed distributions' ``entry_points.txt`` on first use and imports a plug-in's module only
then. See docs/plugins.md.

Example:
    >>> [p.name for p in entry_points_of("labelloop.no-such-group")]
    []
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass

from labelloop.errors import PluginError

__all__ = [
    "BACKBONE_GROUP",
    "PREDICTOR_GROUP",
    "PluginEntryPoint",
    "entry_points_of",
]

BACKBONE_GROUP = "labelloop.backbones"
"""Entry point group of encoder plug-ins: each names a
:class:`labelloop.backbones.BackbonePlugin`."""
PREDICTOR_GROUP = "labelloop.predictors"
"""Entry point group of predictor plug-ins: each names a
:class:`labelloop.predictors.PredictorPlugin`."""


@dataclass(frozen=True)
class PluginEntryPoint:
    """One declared entry point, not loaded yet.

    Attributes:
        group: The entry point group (:data:`BACKBONE_GROUP` or :data:`PREDICTOR_GROUP`).
        name: The entry point's name: the backbone's or predictor's name.
        value: What it points at, ``"module:attribute"``.
        distribution: The installed distribution that declares it (``"name version"``).
    """

    group: str
    name: str
    value: str
    distribution: str

    def describe(self) -> str:
        """How error messages name the plug-in."""
        return (
            f"plug-in {self.name!r} (entry point {self.name} = {self.value} in group "
            f"{self.group!r} of {self.distribution})"
        )

    def load(self, expected: type) -> object:
        """Import the entry point's object and check it is an ``expected`` instance.

        Raises:
            PluginError: The import failed (any exception the plug-in's module raised), or the
                object is of another type; the message names the plug-in and its entry point.
        """
        entry = importlib.metadata.EntryPoint(name=self.name, value=self.value, group=self.group)
        try:
            obj = entry.load()
        except Exception as exc:  # third-party code: whatever it raises, name the plug-in
            raise PluginError(
                f"{self.describe()} failed to load: {type(exc).__name__}: {exc}"
            ) from exc
        if not isinstance(obj, expected):
            raise PluginError(
                f"{self.describe()} must name a {expected.__name__}, got {type(obj).__name__}"
            )
        return obj


def entry_points_of(group: str) -> list[PluginEntryPoint]:
    """The entry points every installed distribution declares in ``group``, by name.

    Reads metadata only (nothing is imported). Paths added to ``sys.path`` since the last call are
    seen: the import system's caches are invalidated first.
    """
    importlib.invalidate_caches()
    found: set[PluginEntryPoint] = set()
    for dist in importlib.metadata.distributions():
        for entry in dist.entry_points:
            if entry.group == group:
                label = f"{dist.metadata['Name']} {dist.version}"
                # a set: a distribution seen on two sys.path entries declares its entry once
                found.add(PluginEntryPoint(group, entry.name, entry.value, label))
    return sorted(found, key=lambda p: (p.name, p.distribution))
