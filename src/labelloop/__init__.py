"""labelloop: self-hosted data annotation where pre-trained models do the first pass.

Open a workspace and work with projects through the same operations the CLI and the server use:

    >>> import labelloop
    >>> ws = labelloop.open_workspace("labelloop-data")  # doctest: +SKIP
"""

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
from labelloop.services.workspace import Workspace, open_workspace

__version__ = "0.1.0"

__all__ = [
    "Conflict",
    "InvalidInput",
    "LabelloopError",
    "MissingDependency",
    "NotFitted",
    "NotFound",
    "PermissionDenied",
    "PoolExhausted",
    "Workspace",
    "__version__",
    "open_workspace",
]
