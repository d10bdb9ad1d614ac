"""What one hot-path statement and one transaction cost through SQLAlchemy and on the driver's
cursor (``store/raw.py``), in the same process, on the HTTP benchmark's workspace.

    .venv/bin/python benchmarks/raw_statements.py --workspace /tmp/llbench/sqlite
    .venv/bin/python benchmarks/raw_statements.py --workspace /tmp/llbench/pg \
        --db postgresql+psycopg://postgres@127.0.0.1/test

Three ways, alternated over ``--rounds`` rounds: ``session`` (``Workspace.transaction()`` and
``session.connection().execute``, the hot path before session 7), ``raw``
(``Workspace.raw_transaction()``) and, for scale, the statement on its own (six times in one
transaction, minus one). The statement is ``next``'s first read (the project and the
annotator's latest answer). Prints microseconds per transaction and per extra statement.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from _http_setup import PROJECT, bench_workspace


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspace", required=True, help="folder (built on first use)")
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    parser.add_argument("--items", type=int, default=100_000, help="items, when building")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--n", type=int, default=2000, help="transactions per measurement")
    args = parser.parse_args()

    from labelloop.services.annotation.queue import _project_state

    ws = bench_workspace(Path(args.workspace), items=args.items, database_url=args.db)
    statement, params = _project_state(), {"name": PROJECT, "annotator": "bench-05"}

    def through_session(k: int) -> None:
        with ws.transaction() as session:
            for _ in range(k):
                session.connection().execute(statement, params).one()

    def through_raw(k: int) -> None:
        with ws.raw_transaction() as tx:
            for _ in range(k):
                tx.execute(statement, params).one()

    def per_call(run, k: int) -> float:
        start = time.perf_counter()
        for _ in range(args.n):
            run(k)
        return (time.perf_counter() - start) / args.n * 1e6

    times: dict[str, list[float]] = {"session_1": [], "session_6": [], "raw_1": [], "raw_6": []}
    for _ in range(args.rounds):
        for name, run in (("session", through_session), ("raw", through_raw)):
            for k in (1, 6):
                times[f"{name}_{k}"].append(per_call(run, k))
    ws.close()
    med = {key: statistics.median(values) for key, values in times.items()}
    result = {
        "database": "postgresql" if args.db else "sqlite",
        "us_per_transaction_of_one_statement": {
            "session": round(med["session_1"]),
            "raw": round(med["raw_1"]),
        },
        "us_per_extra_statement": {
            "session": round((med["session_6"] - med["session_1"]) / 5),
            "raw": round((med["raw_6"] - med["raw_1"]) / 5),
        },
        "ratio_transaction_of_six": round(med["session_6"] / med["raw_6"], 2),
        "rounds": {key: [round(v) for v in values] for key, values in times.items()},
    }
    sys.stdout.write(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
