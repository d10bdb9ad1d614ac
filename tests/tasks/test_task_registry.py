"""Registry: the implemented task types by name, clear errors, plug-ins, a cheap import."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace

import pytest

from labelloop.errors import Conflict, InvalidInput
from labelloop.schema import LabelSchema, Modality, TaskType
from labelloop.tasks import (
    AnswerShape,
    ClassificationTask,
    get_task,
    list_tasks,
    register_builtin_tasks,
    register_task,
    task_for,
    unregister_task,
)

BUILTIN = ["text-classification", "image-classification", "audio-classification"]


class _Renamed(ClassificationTask):
    """A classification task under another name, as a plug-in would register one."""

    def __init__(self, name: str) -> None:
        super().__init__(Modality.TEXT)
        self.name = name


@pytest.fixture
def temp_names() -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        unregister_task(name)
    register_builtin_tasks()


def test_builtins_are_the_classification_tasks() -> None:
    assert [t.name for t in list_tasks()][:3] == BUILTIN
    for name, modality in zip(
        BUILTIN, (Modality.TEXT, Modality.IMAGE, Modality.AUDIO), strict=True
    ):
        task = get_task(name)
        assert task.name == name
        assert task.tags.modality is modality
        assert task.tags.answer is AnswerShape.CHOICES
        assert task.tags.multi_label and not task.tags.token_level
        assert task.widget == "choices"
        assert get_task(TaskType(name)) is task


def test_task_for_uses_the_schema_task() -> None:
    schema = LabelSchema(task="audio-classification", labels=["speech", "music"])
    assert task_for(schema) is get_task("audio-classification")


def test_unknown_task_type_lists_the_implemented_ones() -> None:
    with pytest.raises(InvalidInput) as info:
        get_task("telepathy")
    message = str(info.value)
    assert message.startswith("unknown task type 'telepathy'; implemented task types: ")
    assert all(name in message for name in BUILTIN)


def test_spans_is_a_builtin_token_level_task() -> None:
    schema = LabelSchema(task="spans", labels=["PER", "ORG"])
    task = task_for(schema)
    assert task is get_task(TaskType.SPANS)
    assert task.tags.answer is AnswerShape.SPANS
    assert task.tags.token_level and not task.tags.multi_label
    assert task.widget == "spans"


def test_register_replace_conflict_unregister(temp_names: list[str]) -> None:
    temp_names.append("ner-test")
    first, second = _Renamed("ner-test"), _Renamed("ner-test")
    register_task(first)
    assert get_task("ner-test") is first
    assert list_tasks()[-1] is first
    with pytest.raises(Conflict, match="'ner-test' is already registered"):
        register_task(second)
    assert get_task("ner-test") is first
    register_task(second, replace=True)
    assert get_task("ner-test") is second
    unregister_task("ner-test")
    with pytest.raises(InvalidInput, match="unknown task type 'ner-test'"):
        get_task("ner-test")
    unregister_task("ner-test")  # unknown names are ignored


def test_a_builtin_can_be_replaced_and_restored(temp_names: list[str]) -> None:
    custom = ClassificationTask(Modality.TEXT)
    custom.tags = replace(custom.tags, multi_label=False)
    register_task(custom, replace=True)
    assert get_task("text-classification").tags.multi_label is False
    unregister_task("text-classification")
    register_builtin_tasks()
    assert get_task("text-classification").tags.multi_label is True


def test_registering_something_that_is_not_a_task_is_refused() -> None:
    with pytest.raises(InvalidInput, match="does not implement the Task protocol"):
        register_task(object())  # type: ignore[arg-type]


def test_import_is_light() -> None:
    code = (
        "import sys, labelloop.tasks\n"
        "heavy = [m for m in ('sqlalchemy', 'labelloop.services', 'labelloop.store', "
        "'labelloop.active', 'sklearn', 'datasets') if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
