"""The registry of task types: which exist, by name, and the task of a label schema.

A task is registered as a ready instance (tasks are small and stateless, so there is nothing to
load lazily). Services get the project's task with :func:`task_for` and never branch on the task
type themselves.
"""

from __future__ import annotations

import threading

from labelloop.errors import Conflict, InvalidInput
from labelloop.schema import LabelSchema, TaskType
from labelloop.tasks._base import Task

__all__ = ["get_task", "list_tasks", "register_task", "task_for", "unregister_task"]


class _Registry:
    """Tasks by name, in registration order."""

    def __init__(self) -> None:
        self._tasks: dict[str, Task] = {}
        self._lock = threading.Lock()

    def register(self, task: Task, *, replace: bool) -> None:
        with self._lock:
            if task.name in self._tasks and not replace:
                raise Conflict(f"task type {task.name!r} is already registered")
            self._tasks[task.name] = task

    def unregister(self, name: str) -> None:
        with self._lock:
            self._tasks.pop(name, None)

    def tasks(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def get(self, name: str) -> Task:
        with self._lock:
            task = self._tasks.get(name)
            if task is None:
                known = ", ".join(sorted(self._tasks))
                raise InvalidInput(f"unknown task type {name!r}; implemented task types: {known}")
            return task


_REGISTRY = _Registry()


def register_task(task: Task, *, replace: bool = False) -> None:
    """Make a task type available under ``task.name``.

    Args:
        task: An object satisfying the :class:`Task` protocol.
        replace: Allow replacing an existing registration.

    Raises:
        InvalidInput: ``task`` does not satisfy the :class:`Task` protocol.
        Conflict: ``task.name`` is taken and ``replace`` is false.
    """
    if not isinstance(task, Task):
        raise InvalidInput(f"{task!r} does not implement the Task protocol")
    _REGISTRY.register(task, replace=replace)


def unregister_task(name: str) -> None:
    """Remove a registration; unknown names are ignored."""
    _REGISTRY.unregister(str(name))


def list_tasks() -> list[Task]:
    """Every registered task, in registration order."""
    return _REGISTRY.tasks()


def get_task(name: str | TaskType) -> Task:
    """The task registered as ``name``.

    Raises:
        InvalidInput: No task type of this name is implemented (the message lists those that are).

    Example:
        >>> get_task("image-classification").tags.modality
        <Modality.IMAGE: 'image'>
    """
    return _REGISTRY.get(str(name))


def task_for(schema: LabelSchema) -> Task:
    """The task of a label schema (``get_task(schema.task)``).

    Raises:
        InvalidInput: The schema's task type is not implemented yet (e.g. ``spans``).
    """
    return get_task(schema.task)
