"""A grid screen's answers in one bulk submit against one submit per answer, over HTTP.

Usage:
    nice python benchmarks/bulk_submit.py [--items 2400] [--screen 24] [--screens 20] [--repeats 3]

A SQLite workspace with a text project (backbone ``fake``: the model is not the point) of
``items`` items, a zero-shot model and suggestions; an annotator with an API token. Per screen:
``GET /next?n=screen`` (leases the screen), then either ``screen`` times
``POST /annotations`` or one ``POST /annotations/bulk`` with every suggestion accepted; both
ways in the same process, alternating screens, through FastAPI's in-process test client (no
network). Reports milliseconds per screen for the answers (not the ``next``) and their ratio.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    from fastapi.testclient import TestClient

    from labelloop import open_workspace
    from labelloop.server import ServerSettings, create_app
    from labelloop.services import users
    from labelloop.services.data.importing import ImportOptions

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=2400)
    parser.add_argument("--screen", type=int, default=24)
    parser.add_argument("--screens", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    results = []
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory() as tmp:
            ws = open_workspace(Path(tmp) / "ws")
            ws.create_project("p", labels="sports,tech,politics", backbone="fake",
                              settings={"retrain_every": 10**6})  # fmt: skip
            rows = "\n".join(f"item number {i} about topic {i % 7}" for i in range(args.items))
            (Path(tmp) / "p.txt").write_text("text\n" + rows + "\n")
            ws.import_file("p", Path(tmp) / "p.txt", ImportOptions(format="csv"))
            ws.predict("p")
            users.add_user(ws, "boss", password="pw-boss-1!", role="admin", project="p")
            users.add_user(ws, "ann", password="pw-ann-1!", role="annotator", project="p")
            headers = {"Authorization": f"Bearer {users.create_token(ws, 'ann')}"}
            app = create_app(ws, ServerSettings(background_retrain=False))
            times: dict[str, list[float]] = {"single": [], "bulk": []}
            with TestClient(app) as client:
                for screen in range(args.screens):
                    items = client.get(f"/api/v1/projects/p/next?n={args.screen}",
                                       headers=headers).json()["items"]  # fmt: skip
                    answers = [{"item_id": it["item_id"], "value": it["suggestion"]["value"]}
                               for it in items]  # fmt: skip
                    way = "single" if (screen + repeat) % 2 == 0 else "bulk"
                    t0 = time.perf_counter()
                    if way == "single":
                        for answer in answers:
                            r = client.post("/api/v1/projects/p/annotations", json=answer,
                                            headers=headers)  # fmt: skip
                            assert r.status_code == 201, r.text
                    else:
                        r = client.post("/api/v1/projects/p/annotations/bulk",
                                        json={"answers": answers}, headers=headers)  # fmt: skip
                        assert r.status_code == 201, r.text
                    times[way].append((time.perf_counter() - t0) * 1000)
            ws.close()
        single, bulk = float(np.median(times["single"])), float(np.median(times["bulk"]))
        results.append({"single_ms": single, "bulk_ms": bulk, "ratio": single / bulk})
    summary = {
        key: [round(float(np.mean([r[key] for r in results])), 2),
              round(float(np.std([r[key] for r in results])), 2)]
        for key in results[0]
    }  # fmt: skip
    print(json.dumps({"screen": args.screen, "items": args.items, "summary_mean_sd": summary,
                      "repeats": results}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
