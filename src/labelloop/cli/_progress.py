"""The CLI's :class:`~labelloop.services.progress.Progress`: a rich bar on a terminal, plain
periodic lines when stderr is piped, and one line with the true total when each stage ends.

On a terminal each stage is a rich task (count, rate, time left), removed when the stage ends.
Piped, a stage prints ``embedding 1200/5600 items (130/s)`` each time it passes another tenth of
its total, and at least every ``interval`` seconds (stages of unknown size print only on time).
Either way, the end of a stage prints ``embedding: 5600 items in 43.1 s (130/s)`` (a stage
without countable units, like fitting a head, prints its time; an empty one prints nothing).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from labelloop.services.progress import Advance

__all__ = ["Reporter", "reporter"]

# Piped output: a line at least this often while a stage runs (seconds).
INTERVAL_SECONDS = 15.0


class _Rate(ProgressColumn):
    """``130/s``: the stage's speed in its unit, once rich has measured one."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{_rate(speed)}/s" if speed else "", style="progress.data.speed")


def _rate(per_second: float) -> str:
    return f"{per_second:.1f}" if per_second < 10 else f"{per_second:,.0f}"


@dataclass
class _Stage:
    name: str
    total: int | None
    unit: str
    started: float
    done: int = 0
    last_line: float = 0.0
    last_tenth: int = 0
    task: TaskID | None = field(default=None, repr=False)


class Reporter:
    """Draws the stages a service announces; use :func:`reporter` to get one.

    Args:
        console: The stderr console the lines and the bar go to.
        live: A rich bar (a terminal) instead of plain lines.
        interval: Piped output: seconds between lines while a stage runs.
        clock: Seconds since some fixed point (tests pass a fake one).
    """

    def __init__(
        self,
        console: Console,
        *,
        live: bool,
        interval: float = INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console
        self.interval = interval
        self.clock = clock
        self._bar = (
            Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                _Rate(),
                TimeRemainingColumn(),
                console=console,
                transient=True,
            )
            if live
            else None
        )
        self._stage: _Stage | None = None

    def stage(self, name: str, total: int | None, *, unit: str = "items") -> Advance:
        """End the current stage (printing its total) and begin ``name``."""
        self.close()
        now = self.clock()
        current = _Stage(name, total, unit, started=now, last_line=now)
        if self._bar is not None:
            current.task = self._bar.add_task(name, total=total, unit=unit)
        self._stage = current
        return lambda n: self._advance(current, n)

    def set_total(self, total: int | None) -> None:
        """The current stage's size, once known (an import counts its rows after it starts)."""
        if self._stage is None:
            return
        self._stage.total = total
        if self._bar is not None and self._stage.task is not None:
            self._bar.update(self._stage.task, total=total)

    def close(self) -> None:
        """End the current stage, if any, with its one-line total."""
        current, self._stage = self._stage, None
        if current is None:
            return
        if self._bar is not None and current.task is not None:
            self._bar.remove_task(current.task)
        if current.total == 0:  # nothing to do (every item cached, no unlabelled item left)
            return
        seconds = self.clock() - current.started
        if current.total is None and current.done == 0:  # work without countable units
            line = f"{current.name}: {seconds:.1f} s"
        else:
            line = f"{current.name}: {current.done:,} {current.unit} in {seconds:.1f} s"
            if seconds > 0 and current.done:
                line += f" ({_rate(current.done / seconds)}/s)"
        self.console.print(line, markup=False, highlight=False)

    def _advance(self, current: _Stage, n: int) -> None:
        if current is not self._stage:  # a late call from a stage that has ended
            return
        current.done += n
        if self._bar is not None and current.task is not None:
            self._bar.advance(current.task, n)
            return
        now = self.clock()
        tenth = current.done * 10 // current.total if current.total else 0
        finished = current.total is not None and current.done >= current.total
        if finished:  # the stage's end prints the total
            return
        if tenth > current.last_tenth or now - current.last_line >= self.interval:
            current.last_tenth, current.last_line = tenth, now
            self.console.print(self._line(current, now), markup=False, highlight=False)

    @staticmethod
    def _line(current: _Stage, now: float) -> str:
        of = f"/{current.total:,}" if current.total is not None else ""
        line = f"{current.name} {current.done:,}{of} {current.unit}"
        seconds = now - current.started
        if seconds > 0:
            line += f" ({_rate(current.done / seconds)}/s)"
        return line

    def __enter__(self) -> Reporter:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.close()
        else:  # a failed stage: no total line after the error
            self._stage = None
        if self._bar is not None:
            self._bar.stop()


def reporter(console: Console) -> Reporter:
    """A :class:`Reporter` on ``console``: a live bar when it is a terminal, lines otherwise.

    Use it as a context manager: leaving it prints the last stage's total.
    """
    return Reporter(console, live=console.is_terminal)
