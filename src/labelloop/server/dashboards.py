"""The dashboard's numbers and plots, computed once per change of a project and shared.

:func:`labelloop.services.stats.dashboard` reads every answer of a project (about 2 s on a large
one) and each plot takes another 0.4-0.8 s to draw. They only change when the project does, so
the web app keeps them per project, keyed by
:func:`~labelloop.services.stats.dashboard_version`: concurrent loads of an unchanged dashboard
compute nothing, and concurrent loads of a changed one wait for the one that computes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["DashboardCache"]

T = TypeVar("T")


@dataclass
class _Entry:
    version: tuple[Any, ...]
    values: dict[str, Any] = field(default_factory=dict)
    locks: dict[str, threading.Lock] = field(default_factory=dict)


class DashboardCache:
    """Values (the numbers, the QA summary, each SVG plot) of the latest version of the
    dashboards of the ``max_projects`` projects loaded most recently.

    Example:
        >>> cache = DashboardCache()
        >>> cache.get("p", (1, 2), "plot", lambda: b"<svg/>")
        b'<svg/>'
        >>> cache.get("p", (1, 2), "plot", lambda: b"recomputed")
        b'<svg/>'
    """

    def __init__(self, max_projects: int = 64) -> None:
        self.max_projects = max_projects
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def get(self, project: str, version: tuple[Any, ...], part: str, compute: Callable[[], T]) -> T:
        """``part`` of ``project``'s dashboard at ``version``: the stored one, else
        ``compute()``'s, computed by one caller while the others wait for it."""
        with self._lock:
            entry = self._entries.get(project)
            if entry is None or entry.version != version:
                entry = self._entries[project] = _Entry(version)
            self._entries.move_to_end(project)
            while len(self._entries) > self.max_projects:
                self._entries.popitem(last=False)
            lock = entry.locks.setdefault(part, threading.Lock())
        with lock:
            if part not in entry.values:
                entry.values[part] = compute()
            value: T = entry.values[part]
            return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
