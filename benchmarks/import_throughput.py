"""Import throughput: rows/s and peak memory over a generated 1,000,000-row CSV.

Usage::

    .venv/bin/python benchmarks/import_throughput.py [--rows 1000000] [--id-field] [--service]

Reads the file with ``read_records`` (the parsing baseline), and with ``--service`` also imports it
for real with ``Workspace.import_file`` into a fresh SQLite workspace (parse + hash + validate +
insert items and labels, one transaction), in the same process; the ratio of the two is reported.
Prints one JSON document: rows, file size, seconds, rows/s, peak RSS (MiB) before and after.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from labelloop.services.data.formats import count_rows_hint, read_records
from labelloop.services.data.importing import ImportOptions


def _peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def make_csv(path: Path, rows: int) -> None:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog,",
        "then",
        '"rests"',
        "by",
        "the",
        "river",
    ]
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id,text,label,lang\n")
        for i in range(rows):
            text = " ".join(words[(i + k) % len(words)] for k in range(12))
            f.write(f'{i},"{text.replace(chr(34), chr(34) * 2)} #{i}",L{i % 20},en\n')


def _service_import(path: Path, tmp: Path, *, id_field: bool) -> dict[str, object]:
    import labelloop

    ws = labelloop.open_workspace(tmp / "ws")
    try:
        ws.create_project("bench", labels=[f"L{i}" for i in range(20)], backbone="fake")
        start = time.perf_counter()
        options = ImportOptions(
            id_field="id" if id_field else None, label_field="label", annotator="bench"
        )
        imported = ws.import_file("bench", path, options)
        seconds = time.perf_counter() - start
        status = ws.status("bench")
    finally:
        ws.close()
    return {
        "service_seconds": round(seconds, 2),
        "service_rows_per_s": round(imported.rows / seconds),
        "service_items": status.items,
        "service_labelled": status.labelled,
        "peak_rss_mib_after_service": round(_peak_rss_mib(), 1),
        "db_mib": round((tmp / "ws" / "labelloop.db").stat().st_size / 2**20, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--id-field", action="store_true", help="read ids (duplicate check)")
    parser.add_argument("--service", action="store_true", help="also import into a workspace")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pool.csv"
        make_csv(path, args.rows)
        rss_before = _peak_rss_mib()
        start = time.perf_counter()
        n = 0
        for _ in read_records(
            path, id_field="id" if args.id_field else None, label_field="label", annotator="bench"
        ):
            n += 1
        seconds = time.perf_counter() - start
        result = {
            "benchmark": "import_throughput",
            "format": "csv",
            "rows": n,
            "id_field": args.id_field,
            "file_mib": round(path.stat().st_size / 2**20, 1),
            "count_rows_hint": count_rows_hint(path),
            "seconds": round(seconds, 2),
            "rows_per_s": round(n / seconds),
            "peak_rss_mib_before_read": round(rss_before, 1),
            "peak_rss_mib_after_read": round(_peak_rss_mib(), 1),
        }
        if args.service:
            result.update(_service_import(path, Path(tmp), id_field=args.id_field))
            result["service_vs_read_ratio"] = round(result["service_rows_per_s"] / (n / seconds), 3)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
