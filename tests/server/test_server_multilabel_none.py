"""REST: on a multi-label project ``[]`` is an answer, no label applies (unlike a skip)."""

from __future__ import annotations

from pathlib import Path

from factories import write_csv
from labelloop import ImportOptions


def test_rest_takes_an_empty_multi_label_answer(client, env, tmp_path: Path):
    ws = env.ws
    ws.create_project("multi", labels=["sports", "tech"], multi_label=True, backbone="fake")
    ws.import_file("multi", write_csv(tmp_path / "m.csv", [{"text": "rain"}]), ImportOptions())
    ws.predict("multi")
    h = env.auth("root")
    item = ws.next_items("multi", n=1)[0].item_id
    r = client.post(
        "/api/v1/projects/multi/annotations", json={"item_id": item, "value": []}, headers=h
    )
    assert r.status_code == 201, r.text
    assert r.json()["value"] == []
    assert ws.status("multi").labelled == 1
    shown = client.get(f"/api/v1/projects/multi/items/{item}", headers=h).json()
    assert [a["value"] for a in shown["answers"]] == [[]]

    single = env.items["alpha"][0]  # alpha is single-label: [] is no answer there
    refused = client.post(
        "/api/v1/projects/alpha/annotations", json={"item_id": single, "value": []}, headers=h
    )
    assert refused.status_code == 422 and "no label given" in refused.text
