"""The ML core imports without the database layer; the workspace API loads on first use."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize("module", ["labelloop.active", "labelloop.learn", "labelloop.quality"])
def test_ml_core_does_not_import_sqlalchemy(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "print('sqlalchemy' in sys.modules, 'labelloop.services' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_top_level_names_load_on_first_use() -> None:
    code = (
        "import sys, labelloop\n"
        "before = 'sqlalchemy' in sys.modules\n"
        "ws_type, opts = labelloop.Workspace, labelloop.ImportOptions\n"
        "print(before, 'sqlalchemy' in sys.modules, ws_type.__name__, opts.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "Workspace", "ImportOptions"]


def test_unknown_top_level_name_is_an_attribute_error() -> None:
    import labelloop

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        labelloop.nope  # noqa: B018
