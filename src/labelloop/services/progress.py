"""Progress of long work (embedding, prediction, training, simulation), told to whoever shows it.

A use-case that takes a while accepts ``progress: Progress | None`` and announces each stage of
its work with its true size; the stage gives back an ``advance(n)`` callback, which is what the
backbones and the embedding cache already call after each batch. The services never draw
anything: the CLI's reporter (``labelloop.cli._progress``) draws a rich bar on a terminal and
prints periodic lines when piped; the server and the Python API pass ``None``.

Example:
    >>> class Printer:
    ...     def stage(self, name, total, *, unit="items"):
    ...         print(f"{name}: {total} {unit}")
    ...         return lambda n: None
    >>> advance = stage(Printer(), "embedding", 3)
    embedding: 3 items
    >>> advance(3)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

__all__ = ["Advance", "Progress", "stage"]

Advance = Callable[[int], None]
"""Called with the number of units just done (e.g. the size of a batch just embedded)."""


class Progress(Protocol):
    """Receives the stages of a long use-case, in order."""

    def stage(self, name: str, total: int | None, *, unit: str = "items") -> Advance:
        """A stage of ``total`` units begins (``None``: not known); the previous one has ended.

        Returns the callback that the stage's work calls with each increment; the increments
        of a stage sum to ``total`` when it is known.
        """
        ...


def stage(
    progress: Progress | None, name: str, total: int | None, *, unit: str = "items"
) -> Advance | None:
    """``progress.stage(...)``, or ``None`` when nobody listens (what callees take as "quiet")."""
    return None if progress is None else progress.stage(name, total, unit=unit)
