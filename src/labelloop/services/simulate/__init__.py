"""The simulator: replays labelled data through the product's public API (a temporary workspace
and a simulated annotator) to measure learning curves and strategies.

A client of :class:`~labelloop.services.workspace.Workspace` like the CLI and the server; nothing
below imports it.
"""
