"""The app factory that ``http_latency.py`` serves with uvicorn in a process of its own.

    LABELLOOP_WORKSPACE=/tmp/ws uvicorn --factory _http_server:app --port 8000 --workers 2

The workspace comes from ``$LABELLOOP_WORKSPACE`` / ``$LABELLOOP_DATABASE_URL`` (as for
``labelloop serve``); background retraining is off, so the benchmark measures requests only.
The garbage collector freezes startup's objects, as under ``labelloop serve``.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def app() -> Any:
    import labelloop
    from labelloop.server import ServerSettings, create_app

    settings = ServerSettings(background_retrain=False, freeze_gc=True)  # as `serve`
    return create_app(labelloop.open_workspace(), settings)
