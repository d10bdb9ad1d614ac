"""The web app: REST API under ``/api/v1`` and the browser UI, from one FastAPI process.

Example:
    >>> from labelloop.server import create_app            # doctest: +SKIP
    >>> app = create_app(labelloop.open_workspace("data"))  # doctest: +SKIP
"""

from labelloop.server.app import create_app
from labelloop.server.deps import PUBLIC_ROUTES, ServerSettings

__all__ = ["PUBLIC_ROUTES", "ServerSettings", "create_app"]
