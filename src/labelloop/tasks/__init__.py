"""Task types: what an answer is, and everything that depends on it.

A task type (text, image or audio classification, text spans, image boxes) owns the answer's
shape and every step that depends on it: checking an answer against the label schema, training
targets, decoding model outputs into suggestions, comparing two answers, what the encoder reads,
the item's content hash, the uncertainty behind the queue, and the Label Studio and Hugging Face
codecs.
Services ask the project's task (:func:`task_for`) instead of branching on the task type.

Example:
    >>> from labelloop.schema import LabelSchema
    >>> from labelloop.tasks import list_tasks, task_for
    >>> [t.name for t in list_tasks()]
    ['text-classification', 'image-classification', 'audio-classification', 'spans', 'image-boxes']
    >>> schema = LabelSchema(task="text-classification", labels=["World", "Sports"])
    >>> task = task_for(schema)
    >>> task.tags.answer, task.widget
    (<AnswerShape.CHOICES: 'choices'>, 'choices')
    >>> task.check_answer(schema, ["Sports"])
    ['Sports']

Importing this package is cheap: numpy and the schema only; the active-learning scores load on
the first :meth:`Task.uncertainty` call.
"""

from labelloop.tasks._base import AnswerShape, AnswerValue, Decoded, Task, TaskTags, Where
from labelloop.tasks._catalog import register_builtin_tasks
from labelloop.tasks._hashing import file_digest, text_hash
from labelloop.tasks._registry import (
    get_task,
    list_tasks,
    register_task,
    task_for,
    unregister_task,
)
from labelloop.tasks.boxes import BoxesTask
from labelloop.tasks.classification import ClassificationTask
from labelloop.tasks.spans import SpansTask

__all__ = [
    "AnswerShape",
    "AnswerValue",
    "BoxesTask",
    "ClassificationTask",
    "Decoded",
    "SpansTask",
    "Task",
    "TaskTags",
    "Where",
    "file_digest",
    "get_task",
    "list_tasks",
    "register_builtin_tasks",
    "register_task",
    "task_for",
    "text_hash",
    "unregister_task",
]

register_builtin_tasks()
