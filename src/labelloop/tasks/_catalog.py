"""The built-in task types: classification of text, images and audio, text spans, image boxes.

Adding a task type: write a module with a class satisfying :class:`labelloop.tasks.Task` (see
``classification.py``), add its name to :class:`labelloop.schema.TaskType`, then add one entry here.
"""

from __future__ import annotations

from labelloop.schema import Modality
from labelloop.tasks._base import Task
from labelloop.tasks._registry import list_tasks, register_task
from labelloop.tasks.boxes import BoxesTask
from labelloop.tasks.classification import ClassificationTask
from labelloop.tasks.spans import SpansTask

__all__ = ["register_builtin_tasks"]


def _builtins() -> tuple[Task, ...]:
    modalities = (Modality.TEXT, Modality.IMAGE, Modality.AUDIO)
    return (*(ClassificationTask(m) for m in modalities), SpansTask(), BoxesTask())


def register_builtin_tasks() -> None:
    """Register the built-in task types (idempotent: names already present are left alone)."""
    present = {task.name for task in list_tasks()}
    for task in _builtins():
        if task.name not in present:
            register_task(task)
