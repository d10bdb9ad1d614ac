"""A real uvicorn server in a thread, and simulated annotators hitting it over HTTP.

Used by the browser and concurrency tests (test-only code, so it lives under ``tests/``).

Example:
    >>> with LiveServer(create_app(ws)) as url:                     # doctest: +SKIP
    ...     result = run_annotators(url, "news", tokens, duration=5.0)
"""

from __future__ import annotations

import os
import random
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "ARGS",
    "ARTIFACTS",
    "CHROMIUM",
    "LiveServer",
    "LoadResult",
    "free_port",
    "playwright_or_skip",
    "run_annotators",
]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def playwright_or_skip() -> Any:
    """Playwright's sync API, once Debian's Chromium is known to be there (the test is skipped
    otherwise); the screenshots' folder exists after it."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian chromium is not installed (make system-deps)")
    playwright = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """Serve ``app`` with uvicorn on 127.0.0.1 (a free port) until the ``with`` block ends."""

    def __init__(self, app: Any, *, port: int | None = None) -> None:
        import uvicorn

        self.port = port or free_port()
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            backlog=256,
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@dataclass
class LoadResult:
    """What the simulated annotators saw."""

    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    handed: dict[str, set[int]] = field(default_factory=dict)  # annotator -> item ids
    accepted: list[tuple[str, int, str, int]] = field(default_factory=list)
    # (annotator, item_id, request_id, annotation_id)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_annotators(
    base_url: str,
    project: str,
    tokens: dict[str, str],
    *,
    labels: list[str],
    duration: float = 60.0,
    accept_share: float = 0.7,
    seed: int = 0,
    on_tick: Any = None,
) -> LoadResult:
    """Each ``annotator -> token`` loops next -> submit for ``duration`` seconds in its own thread.

    ``accept_share`` of the answers take the suggestion; the rest pick a random label.
    ``on_tick(elapsed)`` is called from the main thread about every 0.2 s (e.g. to trigger a
    retrain mid-run).
    """
    import httpx

    result = LoadResult(handed={name: set() for name in tokens})
    lock = threading.Lock()
    stop = time.monotonic() + duration

    def worker(name: str, token: str, rng: random.Random) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                r = client.get(f"/api/v1/projects/{project}/next", params={"n": 1})
                t1 = time.perf_counter()
                if r.status_code != 200:
                    with lock:
                        result.errors.append(f"next {r.status_code} {r.text[:200]}")
                    continue
                batch = r.json()
                with lock:
                    result.next_ms.append((t1 - t0) * 1000)
                if batch["exhausted"]:
                    return
                item = batch["items"][0]
                with lock:
                    result.handed[name].add(item["item_id"])
                s = item.get("suggestion")
                value = s["value"] if s and rng.random() < accept_share else [rng.choice(labels)]
                request_id = uuid.uuid4().hex
                body = {
                    "item_id": item["item_id"],
                    "value": value,
                    "seconds": round(rng.uniform(1, 8), 2),
                    "request_id": request_id,
                }
                t0 = time.perf_counter()
                r = client.post(f"/api/v1/projects/{project}/annotations", json=body)
                t1 = time.perf_counter()
                with lock:
                    if r.status_code == 201:
                        result.submit_ms.append((t1 - t0) * 1000)
                        data = r.json()
                        result.accepted.append(
                            (name, item["item_id"], request_id, data["annotation_id"])
                        )
                    else:
                        result.errors.append(f"submit {r.status_code} {r.text[:200]}")

    rng = random.Random(seed)
    threads = [
        threading.Thread(target=worker, args=(name, token, random.Random(rng.random())))
        for name, token in tokens.items()
    ]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        if on_tick is not None:
            on_tick(time.monotonic() - started)
        time.sleep(0.2)
    result.seconds = time.monotonic() - started
    return result
