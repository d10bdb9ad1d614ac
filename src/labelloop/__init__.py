"""labelloop: self-hosted data annotation where pre-trained models do the first pass.

Open a workspace and work with projects through the same operations the CLI and the server use:

    >>> import labelloop
    >>> ws = labelloop.open_workspace("labelloop-data")  # doctest: +SKIP
    >>> news = ws.open_project("news")                   # doctest: +SKIP
    >>> news.to_pandas().head()                          # doctest: +SKIP

:func:`simulate` (with a :class:`SimulationConfig`) replays labelled data with a simulated
annotator in workspaces of its own (docs/simulate.md).
"""

import importlib
from typing import TYPE_CHECKING, Any

from labelloop.errors import (
    Conflict,
    InvalidInput,
    LabelloopError,
    MissingDependency,
    NotFitted,
    NotFound,
    PermissionDenied,
    PoolExhausted,
)

if TYPE_CHECKING:
    from labelloop.services.data.importing import ImportOptions
    from labelloop.services.simulate.curves import SimulationConfig, simulate
    from labelloop.services.workspace import Project, Workspace, open_workspace

__version__ = "0.1.0"

# The workspace API loads the database layer; it is imported on first use so that the ML core
# (``import labelloop.active``, ``labelloop.learn``) never pulls SQLAlchemy in.
_LAZY = {
    "ImportOptions": "labelloop.services.data.importing",
    "Project": "labelloop.services.workspace",
    "SimulationConfig": "labelloop.services.simulate.curves",
    "Workspace": "labelloop.services.workspace",
    "simulate": "labelloop.services.simulate.curves",
    "open_workspace": "labelloop.services.workspace",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'labelloop' has no attribute {name!r}")


__all__ = [
    "Conflict",
    "ImportOptions",
    "InvalidInput",
    "LabelloopError",
    "MissingDependency",
    "NotFitted",
    "NotFound",
    "PermissionDenied",
    "PoolExhausted",
    "Project",
    "SimulationConfig",
    "Workspace",
    "__version__",
    "open_workspace",
    "simulate",
]
