"""Outputs that stored data and exported files depend on, pinned to what labelloop wrote before
task types existed: content hashes and the Label Studio config, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.schema import LabelSchema
from labelloop.tasks import get_task
from labelloop.tasks._hashing import file_digest

CONFIGS = [
    (
        "text-classification",
        ("World", "Sports & <Fun>", 'Say "hi"'),
        False,
        "text",
        '<View><Text name="text" value="$text"/><Choices name="label" toName="text" '
        'choice="single"><Choice value="World"/><Choice value="Sports &amp; &lt;Fun&gt;"/>'
        "<Choice value='Say \"hi\"'/></Choices></View>",
    ),
    (
        "text-classification",
        ("a", "b"),
        False,
        "body",
        '<View><Text name="body" value="$body"/><Choices name="label" toName="body" '
        'choice="single"><Choice value="a"/><Choice value="b"/></Choices></View>',
    ),
    (
        "image-classification",
        ("cat", "dog"),
        True,
        "text",
        '<View><Image name="image" value="$image"/><Choices name="label" toName="image" '
        'choice="multiple"><Choice value="cat"/><Choice value="dog"/></Choices></View>',
    ),
    (
        "audio-classification",
        ("a", "b"),
        True,
        "body",
        '<View><Audio name="audio" value="$audio"/><Choices name="label" toName="audio" '
        'choice="multiple"><Choice value="a"/><Choice value="b"/></Choices></View>',
    ),
]


@pytest.mark.parametrize(("task", "labels", "multi", "key", "expected"), CONFIGS)
def test_label_studio_config_is_unchanged(
    task: str, labels: tuple[str, ...], multi: bool, key: str, expected: str
) -> None:
    schema = LabelSchema(task=task, labels=labels, multi_label=multi)
    assert get_task(task).label_studio_config(schema, data_key=key) == expected


def test_content_hashes_are_unchanged(tmp_path: Path) -> None:
    text = get_task("text-classification")
    image = get_task("image-classification")
    (tmp_path / "x.bin").write_bytes(b"labelloop\x00\x01")
    assert (
        text.content_hash({"text": "  caf\u00e9 au lait\n"})
        == "7c413039fbb2248e2b18b98e7a8d4d85bdcac7cd79b9477a0923f97e3a1f2b50"
    )
    assert (
        image.content_hash({"path": "x.bin", "media": "image"}, media_root=tmp_path)
        == "1f20a34fc5b326bddde82f742b19a77ed7678d654667df9929fb654aa3ca40d1"
    )
    # neither text nor a path: the JSON of the data
    assert (
        text.content_hash({"meta": 1, "a": [1, 2]})
        == "2cbb1997ab3668157fc8fea6468538ad8c4ff10a19a5fe3531ff2e02a61fdb4e"
    )
    assert (
        file_digest(tmp_path / "x.bin", extra={"b": 2, "a": 1})
        == "c4701d180525cd2e3148387ca17a67a9948680e4f850ac27c681bfd384b503dd"
    )
