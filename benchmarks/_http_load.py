"""Simulated annotators on one asyncio event loop: each loops `next` -> (think) -> submit.

Cheaper per request than a thread per client (and aiohttp cheaper than httpx), so the load
generator takes little of the CPU the server needs. ``think=0`` is the closed loop (every client
sends its next request as soon as the last one is answered: the saturation case); ``think>0``
waits that long between receiving an item and submitting it, as an annotator reading it would.
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AsyncLoad", "free_port", "percentiles", "run_load", "summary"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(values: list[float], qs: tuple[float, ...] = (50, 95, 99)) -> dict[str, float]:
    """Nearest-rank percentiles, keyed ``p50``...; NaN for no values."""
    if not values:
        return {f"p{q:g}": float("nan") for q in qs}
    ordered = sorted(values)
    out = {}
    for q in qs:
        k = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))
        out[f"p{q:g}"] = ordered[k]
    return out


@dataclass
class AsyncLoad:
    """What the clients saw: latencies (ms), handed item ids per client, errors."""

    next_ms: list[float] = field(default_factory=list)
    submit_ms: list[float] = field(default_factory=list)
    handed: dict[str, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0


class _Http:
    """One client's keep-alive connection: aiohttp when installed (about a third of httpx's CPU
    per request), else httpx. Answers are ``(status, parsed JSON or text)``."""

    def __init__(self, base_url: str, token: str, kind: str) -> None:
        self.base_url = base_url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.kind = kind
        self.client: Any = None

    async def __aenter__(self) -> _Http:
        if self.kind == "aiohttp":
            import aiohttp

            self.client = aiohttp.ClientSession(
                self.base_url, headers=self.headers, timeout=aiohttp.ClientTimeout(total=60)
            )
        else:
            import httpx

            self.client = httpx.AsyncClient(
                base_url=self.base_url, headers=self.headers, timeout=60
            )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.close() if self.kind == "aiohttp" else await self.client.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        if self.kind == "aiohttp":
            async with self.client.request(method, path, **kwargs) as r:
                text = await r.text()
                return r.status, json.loads(text) if r.status < 300 and text else text
        r = await self.client.request(method, path, **kwargs)
        return r.status_code, r.json() if r.status_code < 300 and r.content else r.text


async def _client(
    base_url: str,
    project: str,
    name: str,
    token: str,
    *,
    labels: list[str],
    think: float,
    stop: float,
    rng: random.Random,
    load: AsyncLoad,
    kind: str,
) -> None:
    handed = load.handed.setdefault(name, [])
    async with _Http(base_url, token, kind) as client:
        # the first request opens the connection; a real browser keeps it open too
        await client.request("GET", "/api/v1/health")
        if think:
            await asyncio.sleep(rng.uniform(0, think))  # clients do not start in lockstep
        while time.monotonic() < stop:
            t0 = time.perf_counter()
            status, batch = await client.request(
                "GET", f"/api/v1/projects/{project}/next", params={"n": "1"}
            )
            load.next_ms.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                load.errors.append(f"next {status} {str(batch)[:200]}")
                continue
            if batch["exhausted"]:
                return
            item = batch["items"][0]
            handed.append(item["item_id"])
            if think:
                await asyncio.sleep(think)
            s = item.get("suggestion")
            value = s["value"] if s and rng.random() < 0.7 else [rng.choice(labels)]
            body = {
                "item_id": item["item_id"],
                "value": value,
                "seconds": round(think, 2),
                "request_id": uuid.uuid4().hex,
            }
            t0 = time.perf_counter()
            status, answer = await client.request(
                "POST", f"/api/v1/projects/{project}/annotations", json=body
            )
            load.submit_ms.append((time.perf_counter() - t0) * 1000)
            if status != 201:
                load.errors.append(f"submit {status} {str(answer)[:200]}")


def run_load(
    base_url: str,
    project: str,
    tokens: dict[str, str],
    *,
    labels: list[str],
    duration: float,
    think: float = 0.0,
    seed: int = 0,
    client: str = "aiohttp",
) -> AsyncLoad:
    """Run one client per ``annotator -> token`` for ``duration`` seconds; ``think`` in seconds.

    ``client`` is ``aiohttp`` or ``httpx``.
    """
    load = AsyncLoad()
    rng = random.Random(seed)

    async def main() -> None:
        stop = time.monotonic() + duration
        await asyncio.gather(
            *(
                _client(
                    base_url,
                    project,
                    name,
                    token,
                    labels=labels,
                    think=think,
                    stop=stop,
                    rng=random.Random(rng.random()),
                    load=load,
                    kind=client,
                )
                for name, token in tokens.items()
            )
        )

    started = time.monotonic()
    asyncio.run(main())
    load.seconds = time.monotonic() - started
    return load


def summary(load: AsyncLoad, percentiles: Any) -> dict[str, Any]:
    """The JSON-ready numbers of one run."""
    seconds = load.seconds
    holders: dict[int, set[str]] = {}
    for name, items in load.handed.items():
        for item_id in items:
            holders.setdefault(item_id, set()).add(name)
    return {
        "duration_s": round(seconds, 1),
        "next_ms": {k: round(v, 1) for k, v in percentiles(load.next_ms).items()},
        "submit_ms": {k: round(v, 1) for k, v in percentiles(load.submit_ms).items()},
        "next_per_s": round(len(load.next_ms) / seconds, 1),
        "submit_per_s": round(len(load.submit_ms) / seconds, 1),
        "requests_per_s": round((len(load.next_ms) + len(load.submit_ms)) / seconds, 1),
        "errors": len(load.errors),
        "first_errors": load.errors[:3],
        # overlap is 1: an item handed to two annotators would be a bug
        "items_shared": sum(1 for names in holders.values() if len(names) > 1),
    }
