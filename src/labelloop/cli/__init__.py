"""The ``labelloop`` command line: a thin layer over :mod:`labelloop.services`.

``_app`` builds the root app and registers each command module's commands on it; the modules
(``projects``, ``data``, ``models``, ``annotate``, ``loop``, ``qa``, ``server``, ``demo``) never
import the root app, and ``_common`` holds what they share.
"""

from labelloop.cli._app import app, main

__all__ = ["app", "main"]
