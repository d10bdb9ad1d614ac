"""HTTP latency of `next` and submit with 20 concurrent annotators against a real uvicorn server.

    .venv/bin/python benchmarks/http_latency.py --workspace /tmp/llbench/sqlite     # SQLite
    .venv/bin/python benchmarks/http_latency.py --workspace /tmp/llbench/pg \
        --db postgresql+psycopg://postgres@127.0.0.1/test                           # PostgreSQL
    .venv/bin/python benchmarks/http_latency.py --items 20000 --duration 10         # a quick look

The server runs in a process of its own (``uvicorn --factory _http_server:app``, ``--workers``
processes); the clients run in this process on one asyncio event loop, so they do not compete
with the server for the GIL. Two load models, one after the other:

- ``closed``: each client sends `next` -> submit -> `next` ... back to back (the saturation case:
  with C clients, latency is about C / throughput once the server is the bottleneck);
- ``paced``: each client waits ``--think-ms`` between receiving an item and submitting it, as a
  (very fast) annotator would.

Items are generated; the fake backbone gives every item a suggestion. Before each load the
suggestions are refreshed (``ws.predict``), as after a retrain, so every run starts from the same
queue. Prints one JSON document: per load model p50/p95/p99 latency in ms and requests/s, with the
machine's CPU count and load average. Target (DESIGN.md): p95 < 50 ms on SQLite, 100,000 items.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _http_load import free_port, percentiles, run_load, summary
from _http_setup import LABELS, PROJECT, annotator_tokens, bench_workspace

HERE = Path(__file__).resolve().parent


def _start_server(folder: Path, db: str | None, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "LABELLOOP_WORKSPACE": str(folder / "ws"), "PYTHONPATH": str(HERE)}
    if db:
        env["LABELLOOP_DATABASE_URL"] = db
    command = [sys.executable, "-m", "uvicorn", "--factory", "_http_server:app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return subprocess.Popen(command, env=env, cwd=HERE)


def _wait_ready(url: str, server: subprocess.Popen, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not start")


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` and its children so far (None w/o psutil)."""
    try:
        import psutil
    except ImportError:
        return None
    try:
        root = psutil.Process(pid)
        total = 0.0
        for p in [root, *root.children(recursive=True)]:
            times = p.cpu_times()
            total += times.user + times.system
        return total
    except psutil.Error:
        return None


def _measure(args: argparse.Namespace, folder: Path, think: float) -> dict[str, Any]:
    ws = bench_workspace(folder, items=args.items, database_url=args.db)
    if args.fresh_queue:
        ws.predict(PROJECT)
    tokens = annotator_tokens(ws, args.clients)
    labelled_before = ws.status(PROJECT).labelled
    ws.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start_server(folder, args.db, port, args.workers)
    try:
        _wait_ready(url, server)
        load_before = os.getloadavg()[0]
        server_cpu = _cpu_seconds(server.pid)
        client_cpu = time.process_time()
        load = run_load(url, PROJECT, tokens, labels=LABELS, duration=args.duration,
                        think=think, client=args.client)  # fmt: skip
        client_cpu = time.process_time() - client_cpu
        server_cpu_after = _cpu_seconds(server.pid)
        load_after = os.getloadavg()[0]
    finally:
        server.terminate()
        server.wait(30)
    report = summary(load, percentiles)
    report["think_ms"] = round(think * 1000)
    report["server_cpu_s"] = (
        round(server_cpu_after - server_cpu, 1)
        if server_cpu is not None and server_cpu_after is not None
        else None
    )
    report["client_cpu_s"] = round(client_cpu, 1)
    report["labelled_at_start"] = labelled_before
    report["load_average_1min"] = {"before": load_before, "after": load_after}
    return report


def _default_client() -> str:
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        return "httpx"
    return "aiohttp"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per load model")
    parser.add_argument("--mode", choices=["closed", "paced", "both"], default="both")
    parser.add_argument("--think-ms", type=float, default=500.0, help="think time when paced")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--client", choices=["aiohttp", "httpx"], default=_default_client())
    parser.add_argument("--workspace", default=None, help="folder (default: a temp folder)")
    parser.add_argument(
        "--no-fresh-queue",
        dest="fresh_queue",
        action="store_false",
        help="do not refresh the suggestions before each load",
    )
    args = parser.parse_args()

    folder = Path(args.workspace or tempfile.mkdtemp(prefix="labelloop-bench-"))
    t0 = time.perf_counter()
    ws = bench_workspace(folder, items=args.items, database_url=args.db)
    items = ws.status(PROJECT).items
    ws.close()
    setup = time.perf_counter() - t0
    modes = {"closed": 0.0, "paced": args.think_ms / 1000}
    if args.mode != "both":
        modes = {args.mode: modes[args.mode]}
    report: dict[str, Any] = {
        "database": "postgresql" if args.db else "sqlite",
        "items": items,
        "clients": args.clients,
        "workers": args.workers,
        "client": args.client,
        "setup_s": round(setup, 1),
        "cpu_count": os.cpu_count(),
    }
    for mode, think in modes.items():
        report[mode] = _measure(args, folder, think)
    sys.stdout.write(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
