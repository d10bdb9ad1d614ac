"""Profile one annotator's `next` -> submit loop through the whole ASGI app, in process.

    .venv/bin/python benchmarks/http_profile.py --workspace /tmp/llbench/sqlite    # 100,000 items
    .venv/bin/python benchmarks/http_profile.py --workspace /tmp/llbench/pg \
        --db postgresql+psycopg://postgres@127.0.0.1/test

Requests go through httpx's ``ASGITransport`` (no sockets, no uvicorn), so the profile shows the
app's own cost: routing, auth, validation, the service call, serialisation. Sync routes normally
run in a worker thread, which cProfile does not follow; here they run inline so that one profile
sees everything. Prints the mean milliseconds per request of each kind (timed without the
profiler), then the top functions of a second, profiled pass.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from _http_setup import LABELS, PROJECT, annotator_tokens, bench_workspace


async def _inline(func: Any, *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


async def _loop(client: Any, n: int, times: dict[str, list[float]]) -> None:
    for i in range(n):
        t0 = time.perf_counter()
        r = await client.get(f"/api/v1/projects/{PROJECT}/next", params={"n": 1})
        t1 = time.perf_counter()
        r.raise_for_status()
        item = r.json()["items"][0]
        body = {
            "item_id": item["item_id"],
            "value": [LABELS[i % len(LABELS)]],
            "seconds": 2.5,
            "request_id": uuid.uuid4().hex,
        }
        t2 = time.perf_counter()
        r = await client.post(f"/api/v1/projects/{PROJECT}/annotations", json=body)
        t3 = time.perf_counter()
        if r.status_code != 201:
            raise RuntimeError(f"submit {r.status_code} {r.text[:200]}")
        times["next"].append(t1 - t0)
        times["submit"].append(t3 - t2)


async def _run(app: Any, token: str, *, warmup: int, requests: int) -> tuple[Any, dict]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://bench", headers=headers
    ) as client:
        await _loop(client, warmup, {"next": [], "submit": []})
        times: dict[str, list[float]] = {"next": [], "submit": []}
        await _loop(client, requests, times)
        profile = cProfile.Profile()
        profile.enable()
        await _loop(client, requests, {"next": [], "submit": []})
        profile.disable()
    return profile, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="next+submit pairs profiled")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--workspace", default=None, help="folder (default: a temp folder)")
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative)")
    parser.add_argument("--callers", default=None, help="print the callers of functions matching")
    parser.add_argument("--dump", default=None, help="write the raw profile here (for pstats)")
    args = parser.parse_args()

    import fastapi.dependencies.utils
    import fastapi.routing

    from labelloop.server import ServerSettings, create_app

    fastapi.routing.run_in_threadpool = _inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = _inline  # type: ignore[assignment]

    folder = Path(args.workspace or tempfile.mkdtemp(prefix="labelloop-bench-"))
    ws = bench_workspace(folder, items=args.items, database_url=args.db)
    token = next(iter(annotator_tokens(ws, 1).values()))
    app = create_app(ws, ServerSettings(background_retrain=False))
    profile, times = asyncio.run(_run(app, token, warmup=20, requests=args.requests))
    for kind, values in times.items():
        ms = sorted(1000 * v for v in values)
        sys.stdout.write(
            f"{kind}: mean {sum(ms) / len(ms):.2f} ms, median {ms[len(ms) // 2]:.2f} ms, "
            f"max {ms[-1]:.2f} ms per request\n"
        )
    stats = pstats.Stats(profile, stream=sys.stdout)
    stats.sort_stats(args.sort).print_stats(args.top)
    if args.callers:
        stats.print_callers(args.callers)
    if args.dump:
        profile.dump_stats(args.dump)
    ws.close()


if __name__ == "__main__":
    main()
