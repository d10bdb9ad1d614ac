"""HTTP latency of `next` and submit with 20 concurrent annotators against a real uvicorn server.

    .venv/bin/python benchmarks/http_latency.py                     # SQLite, 100,000 items, 60 s
    .venv/bin/python benchmarks/http_latency.py --db postgresql+psycopg://postgres@127.0.0.1/test
    .venv/bin/python benchmarks/http_latency.py --items 20000 --duration 10   # a quick look

Items are generated; the fake backbone gives every item a suggestion (``ws.predict``). Prints one
JSON document: p50/p95/p99 latency in ms and throughput (requests/s) of `next` and submit.
Target (DESIGN.md): p95 < 50 ms on SQLite with 100,000 items.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = {
    "sports": ["match", "goal", "team", "coach", "league", "score", "player", "season"],
    "tech": ["software", "chip", "computer", "internet", "startup", "data", "robot", "phone"],
    "politics": ["election", "vote", "minister", "parliament", "law", "party", "senate", "policy"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--workspace", default=None, help="folder (default: a temp folder)")
    args = parser.parse_args()

    import labelloop
    from labelloop.server import ServerSettings, create_app
    from labelloop.server.live import LiveServer, percentiles, run_annotators
    from labelloop.services import users

    folder = Path(args.workspace or tempfile.mkdtemp(prefix="labelloop-bench-"))
    ws = labelloop.open_workspace(folder / "ws", database_url=args.db)
    labels = list(WORDS)
    t0 = time.perf_counter()
    if "bench" not in {p.name for p in ws.list_projects()}:
        ws.create_project("bench", labels=labels, backbone="fake",
                          settings={"retrain_every": 10**6})  # fmt: skip
        rng = random.Random(0)
        path = folder / "items.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["text"])
            for i in range(args.items):
                label = labels[i % 3]
                writer.writerow([" ".join(rng.sample(WORDS[label], 4)) + f" item {i}"])
        ws.import_file("bench", path)
        ws.train("bench")
        ws.predict("bench")
    setup = time.perf_counter() - t0
    tokens = {}
    for i in range(args.clients):
        name = f"bench-{i:02d}"
        users.add_user(ws, name, role="annotator", project="bench")
        tokens[name] = users.create_token(ws, name)
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url:
        result = run_annotators(url, "bench", tokens, labels=labels, duration=args.duration)
    report = {
        "database": "postgresql" if args.db else "sqlite",
        "items": ws.status("bench").items,
        "clients": args.clients,
        "duration_s": round(result.seconds, 1),
        "setup_s": round(setup, 1),
        "next_ms": {k: round(v, 1) for k, v in percentiles(result.next_ms).items()},
        "submit_ms": {k: round(v, 1) for k, v in percentiles(result.submit_ms).items()},
        "next_per_s": round(len(result.next_ms) / result.seconds, 1),
        "submit_per_s": round(len(result.submit_ms) / result.seconds, 1),
        "errors": len(result.errors),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0],
    }
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    ws.close()


if __name__ == "__main__":
    main()
