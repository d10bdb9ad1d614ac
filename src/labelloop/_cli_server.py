"""CLI commands of the web app: serve, user, token, demo (registered on labelloop.cli.app)."""

from __future__ import annotations
