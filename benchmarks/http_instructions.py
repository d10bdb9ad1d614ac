"""Instructions per `next` + submit pair, counted by valgrind: the server's work per request, in
a unit that does not depend on how fast (or how busy) the machine is.

    .venv/bin/python benchmarks/http_instructions.py --workspace /tmp/llbench/sqlite
    .venv/bin/python benchmarks/http_instructions.py --workspace /tmp/llbench/sqlite --annotator 5
    .venv/bin/python benchmarks/http_instructions.py --workspace /tmp/llbench/sqlite --pairs 300 \
        --no-valgrind                                          # one timed run, no counting

The ASGI app is called in process: no HTTP client, no sockets, no uvicorn. The sync routes run
in anyio's worker threads, as under uvicorn. Each count runs this script twice under
``valgrind --tool=cachegrind --cache-sim=no``, with 20 and with 220 pairs after the same warm-up,
each on a fresh copy of the workspace, and in parallel. The difference, divided by 200, is one
pair's instructions, from the request's start to its response; startup cancels out. Repeated
counts of the same code differed by up to 4% (threads, timers). Compare two versions of the code
by counting both on copies of one workspace (the workspace is built on first use, as for
``http_latency.py``). Needs Debian's ``valgrind`` package; SQLite only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _http_setup import LABELS, PROJECT, annotator_tokens, bench_workspace

HERE = Path(__file__).resolve().parent
WARMUP = 50
SHORT, LONG = 20, 220


class _Client:
    """Calls an ASGI app directly with one annotator's bearer token."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.headers = [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())]

    async def call(self, method: str, path: str, query: bytes = b"", body: bytes = b"") -> Any:
        headers = list(self.headers)
        if body:
            length = str(len(body)).encode()
            headers += [(b"content-type", b"application/json"), (b"content-length", length)]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
                 "root_path": "", "query_string": query, "headers": headers,
                 "client": ("127.0.0.1", 1), "server": ("bench", 80), "state": {}}  # fmt: skip
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if delivered:  # the app only asks again to wait for a disconnect
                await asyncio.Event().wait()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        response: dict[str, Any] = {"body": b""}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
            else:
                response["body"] += message.get("body", b"")

        await self.app(scope, receive, send)
        if response["status"] >= 300:
            raise RuntimeError(f"{method} {path}: {response['status']} {response['body'][:200]}")
        return json.loads(response["body"])

    async def pair(self, i: int) -> None:
        batch = await self.call("GET", f"/api/v1/projects/{PROJECT}/next", b"n=1")
        item = batch["items"][0]
        body = {"item_id": item["item_id"], "value": [LABELS[i % len(LABELS)]], "seconds": 2.5,
                "request_id": uuid.uuid4().hex}  # fmt: skip
        path = f"/api/v1/projects/{PROJECT}/annotations"
        await self.call("POST", path, body=json.dumps(body).encode())


def _serve_pairs(folder: Path, pairs: int, annotator: int) -> float:
    """Run ``pairs`` pairs (after the warm-up) on the workspace in ``folder``; seconds per pair."""
    import uvloop

    from labelloop.server import ServerSettings, create_app

    ws = bench_workspace(folder, items=0, database_url=None)
    token = list(annotator_tokens(ws, annotator + 1).values())[-1]
    client = _Client(create_app(ws, ServerSettings(background_retrain=False)), token)

    async def run() -> float:
        for i in range(WARMUP):
            await client.pair(i)
        start = time.perf_counter()
        for i in range(pairs):
            await client.pair(i)
        return (time.perf_counter() - start) / max(pairs, 1)

    try:
        return uvloop.run(run())
    finally:
        ws.close()


def _count(folder: Path, pairs: int, annotator: int, scratch: Path) -> int:
    """Instructions valgrind counts for a whole run of ``pairs`` pairs on a copy of ``folder``."""
    copy = scratch / f"ws-{pairs}"
    shutil.copytree(folder, copy)
    command = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
               sys.executable, str(Path(__file__).resolve()), "--workspace", str(copy),
               "--pairs", str(pairs), "--annotator", str(annotator), "--no-valgrind"]  # fmt: skip
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, env=env, cwd=HERE, capture_output=True, text=True, check=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", required=True, help="folder (built on first use)")
    parser.add_argument("--items", type=int, default=100_000, help="items, when building")
    parser.add_argument("--annotator", type=int, default=0, help="which annotator (bench-NN)")
    parser.add_argument("--pairs", type=int, default=300, help="pairs of a --no-valgrind run")
    parser.add_argument("--no-valgrind", action="store_true", help="one timed run, no counting")
    args = parser.parse_args()
    folder = Path(args.workspace)
    if args.no_valgrind:
        seconds = _serve_pairs(folder, args.pairs, args.annotator)
        sys.stdout.write(json.dumps({"pairs": args.pairs, "ms_per_pair": seconds * 1000}) + "\n")
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind), or run with --no-valgrind")
    bench_workspace(folder, items=args.items, database_url=None).close()
    with (
        tempfile.TemporaryDirectory(prefix="labelloop-instructions-") as scratch,
        ThreadPoolExecutor(2) as pool,
    ):
        counts = pool.map(lambda n: _count(folder, n, args.annotator, Path(scratch)), (SHORT, LONG))
        short, long = counts
    per_pair = (long - short) / (LONG - SHORT)
    result = {"annotator": f"bench-{args.annotator:02d}", "instructions_per_pair": round(per_pair),
              "runs": {SHORT: short, LONG: long}}  # fmt: skip
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
