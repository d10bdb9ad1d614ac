"""REST responses give every time as ISO 8601 in UTC with a ``Z`` (SQLite stores none)."""

from __future__ import annotations

import re
from typing import Any

ZONED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def times(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in times(v, k)]
    if isinstance(value, list):
        return [t for v in value for t in times(v, key)]
    if isinstance(value, str) and (key.endswith("_at") or key == "at"):
        return [value]
    return []


def test_rest_times_carry_the_zone(client, env):
    h = env.auth("root")
    item = env.items["alpha"][0]
    answered = client.post(
        "/api/v1/projects/alpha/annotations",
        json={"item_id": item, "value": "sports"},
        headers=h,
    )
    assert answered.status_code == 201, answered.text
    found: list[str] = []
    for path in (
        "/api/v1/projects/alpha/models",
        f"/api/v1/projects/alpha/items/{item}",
        f"/api/v1/projects/alpha/items/{item}/history",
        "/api/v1/tokens",
    ):
        r = client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text)
        found += times(r.json())
    assert len(found) >= 4
    assert all(ZONED.fullmatch(t) for t in found), found
