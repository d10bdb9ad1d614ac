"""The grid's and the cluster view's REST routes over HTTP: thumbnails (made once, cached,
upright, with an ETag), one bulk submit for a screen of answers (all or nothing), and the
k-means clusters of an image project."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from image_factories import colour_backbone, colour_of, make_image_project, write_photo
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data import media
from labelloop.services.quality import review

__all__ = ["colour_backbone"]  # a fixture the tests below use


@pytest.fixture
def pets(sqlite_workspace, colour_backbone) -> dict[str, Any]:
    ws = sqlite_workspace
    ids = make_image_project(ws, "pets", per_colour=6)
    users.add_user(ws, "boss", password="pw-boss-1!", role="admin", project="pets")
    users.add_user(ws, "ann", password="pw-ann-1!", role="annotator", project="pets")
    tokens = {name: users.create_token(ws, name) for name in ("boss", "ann")}
    return {"ws": ws, "ids": ids, "tokens": tokens}


@pytest.fixture
def api(pets) -> Any:
    app = create_app(pets["ws"], ServerSettings(background_retrain=False))
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _auth(pets: dict[str, Any], user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {pets['tokens'][user]}"}


def _train(ws: Any, ids: dict[str, int], per_colour: int = 2) -> None:
    for name, item_id in ids.items():
        if int(name.split("-")[1].split(".")[0]) < per_colour:
            ws.submit("pets", item_id, [colour_of(name)], annotator="boss")
    ws.train("pets")
    ws.predict("pets")


def test_a_thumbnail_is_made_once_and_served_with_its_content_hash(api, pets):
    ws, item_id = pets["ws"], pets["ids"]["red-000.png"]
    url = f"/api/v1/projects/pets/items/{item_id}/thumbnail?size=96"
    first = api.get(url, headers=_auth(pets, "boss"))
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    content_hash = _content_hash(ws, item_id)
    assert first.headers["etag"] == f'"{content_hash}"'
    assert "max-age" in first.headers["cache-control"]
    files = list(ws.artifacts.thumbnails.rglob("*.webp"))
    assert [f.stem for f in files] == [content_hash]
    with Image.open(BytesIO(first.content)) as img:
        assert img.format == "WEBP" and img.size == (64, 48)  # smaller than 96: never enlarged
    made_at = files[0].stat().st_mtime_ns
    again = api.get(url, headers=_auth(pets, "boss"))
    assert again.content == first.content
    assert files[0].stat().st_mtime_ns == made_at  # served from the cache, not encoded again
    assert len(list(ws.artifacts.thumbnails.rglob("*.webp"))) == 1
    not_modified = api.get(
        url, headers={**_auth(pets, "boss"), "If-None-Match": first.headers["etag"]}
    )
    assert not_modified.status_code == 304 and not_modified.content == b""


def test_thumbnails_are_upright_shrunk_and_only_of_allowed_sizes(api, pets, tmp_path):
    ws = pets["ws"]
    # a landscape JPEG whose EXIF says "turn 90 degrees": browsers show it as a portrait
    photo = write_photo(ws.media_root / "turned" / "cam.jpg", (200, 50, 50), seed=1,
                        size=(600, 200))  # fmt: skip
    with Image.open(photo) as img:
        exif = img.getexif()
        exif[0x0112] = 6
        img.save(photo, exif=exif)
    ws.import_file("pets", photo.parent, media_import_options())
    item_id = _id_of(ws, "cam.jpg")
    r = api.get(f"/api/v1/projects/pets/items/{item_id}/thumbnail?size=160",
                headers=_auth(pets, "boss"))  # fmt: skip
    assert r.status_code == 200, r.text
    with Image.open(BytesIO(r.content)) as img:
        assert img.size[1] == 160 and img.size[0] < img.size[1]  # upright: taller than wide
    bad = api.get(f"/api/v1/projects/pets/items/{item_id}/thumbnail?size=5000",
                  headers=_auth(pets, "boss"))  # fmt: skip
    assert bad.status_code == 422
    assert "thumbnail size must be one of 96, 160, 256, 512" in bad.json()["error"]["message"]


def _content_hash(ws: Any, item_id: int) -> str:
    from labelloop.store import Item

    with ws.transaction() as session:
        return session.get(Item, item_id).content_hash


def media_import_options() -> Any:
    from labelloop.services.data.importing import ImportOptions

    return ImportOptions()


def _id_of(ws: Any, external_id: str) -> int:
    from labelloop.store import repo

    with ws.transaction() as session:
        project_id = repo.get_project(session, "pets").id
        return repo.items_by_external_id(session, project_id, [external_id])[external_id][0]


def test_an_annotator_gets_thumbnails_of_their_queue_only(api, pets):
    handed = api.get("/api/v1/projects/pets/next?n=2", headers=_auth(pets, "ann")).json()
    mine = handed["items"][0]["item_id"]
    other = next(
        i for i in pets["ids"].values() if i not in {x["item_id"] for x in handed["items"]}
    )
    url = "/api/v1/projects/pets/items/{}/thumbnail"
    assert api.get(url.format(mine), headers=_auth(pets, "ann")).status_code == 200
    assert api.get(url.format(other), headers=_auth(pets, "ann")).status_code == 403


def test_pregenerating_thumbnails_makes_each_once_and_reports_broken_files(pets):
    ws = pets["ws"]
    broken = ws.media_root / "pets" / "red-000.png"
    broken.write_bytes(b"not a png at all")
    batch = media.pregenerate_thumbnails(ws, "pets", sizes=(96, 160))
    assert batch.made == 2 * (len(pets["ids"]) - 1)
    assert list(batch.failed) == [pets["ids"]["red-000.png"]]
    assert "red-000.png" in batch.failed[pets["ids"]["red-000.png"]]
    again = media.pregenerate_thumbnails(ws, "pets", sizes=(96, 160))
    assert again.made == 0 and again.cached == batch.made


def test_bulk_submit_keeps_accepted_suggestions_and_corrections_apart(api, pets):
    ws = pets["ws"]
    _train(ws, pets["ids"])
    screen = api.get("/api/v1/projects/pets/next?n=6", headers=_auth(pets, "ann")).json()["items"]
    assert len(screen) == 6 and all(it["suggestion"] for it in screen)
    answers = [{"item_id": it["item_id"], "value": it["suggestion"]["value"]} for it in screen]
    wrong = next(label for label in ("red", "green", "blue") if [label] != answers[0]["value"])
    answers[0]["value"] = [wrong]  # the annotator corrects one tile
    r = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": answers},
                 headers=_auth(pets, "ann"))  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["accepted"] == 5 and body["corrected"] == 1
    assert [x["source"] for x in body["results"]] == ["human", *["model_accepted"] * 5]
    assert review.item_detail(ws, "pets", screen[0]["item_id"]).current == [wrong]


def test_a_bad_answer_refuses_the_whole_batch_naming_the_item(api, pets):
    ws = pets["ws"]
    screen = api.get("/api/v1/projects/pets/next?n=4", headers=_auth(pets, "ann")).json()["items"]
    answers = [{"item_id": it["item_id"], "value": ["red"]} for it in screen]
    bad_item = screen[2]["item_id"]
    answers[2]["value"] = ["purple"]  # not a label of the project
    r = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": answers},
                 headers=_auth(pets, "ann"))  # fmt: skip
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert f"item {bad_item} (answer 3 of 4)" in message and "purple" in message
    assert all(review.item_detail(ws, "pets", it["item_id"]).current is None for it in screen)

    # an item the queue did not hand to the annotator: refused whole too (403), by name
    stranger = next(i for i in pets["ids"].values() if i not in {it["item_id"] for it in screen})
    answers[2] = {"item_id": stranger, "value": ["red"]}
    r = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": answers},
                 headers=_auth(pets, "ann"))  # fmt: skip
    assert r.status_code == 403 and f"item {stranger}" in r.json()["error"]["message"]
    assert all(review.item_detail(ws, "pets", it["item_id"]).current is None for it in screen)

    # the same item twice
    twice = [answers[0], answers[1], answers[0]]
    r = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": twice},
                 headers=_auth(pets, "ann"))  # fmt: skip
    assert r.status_code == 422 and "answered twice" in r.json()["error"]["message"]

    # the batch without the bad answer goes through, and sending it again stores nothing new
    good = [{**a, "request_id": f"grid-{a['item_id']}"} for a in answers[:2]]
    first = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": good},
                     headers=_auth(pets, "ann"))  # fmt: skip
    repeat = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": good},
                      headers=_auth(pets, "ann"))  # fmt: skip
    assert first.status_code == repeat.status_code == 201
    assert [x["duplicate"] for x in repeat.json()["results"]] == [True, True]


def test_clusters_group_the_images_and_one_submit_labels_a_cluster(api, pets):
    ws = pets["ws"]
    r = api.get("/api/v1/projects/pets/clusters?k=3", headers=_auth(pets, "boss"))
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["media"] is True and listing["items"] == 18
    assert [c["size"] for c in listing["clusters"]] == [6, 6, 6]
    names = {v: k for k, v in pets["ids"].items()}
    members = api.get("/api/v1/projects/pets/clusters/0?k=3", headers=_auth(pets, "boss")).json()
    colours = {colour_of(names[m["item_id"]]) for m in members["items"]}
    assert len(colours) == 1  # one cluster, one colour
    colour = colours.pop()
    answers = [{"item_id": m["item_id"], "value": [colour]} for m in members["items"]]
    r = api.post("/api/v1/projects/pets/annotations/bulk", json={"answers": answers},
                 headers=_auth(pets, "boss"))  # fmt: skip
    assert r.status_code == 201 and r.json()["corrected"] == 6
    after = api.get("/api/v1/projects/pets/clusters?k=3", headers=_auth(pets, "boss")).json()
    labelled = next(c for c in after["clusters"] if c["labels"])
    assert labelled["labels"] == {colour: 6} and labelled["unlabelled"] == 0
    # the clustering was saved, not computed again
    assert len(list(ws.artifacts.clusters(1).rglob("clusters.npz"))) == 1
    # annotators do not open the cluster view
    assert api.get("/api/v1/projects/pets/clusters", headers=_auth(pets, "ann")).status_code == 403
    assert api.get("/api/v1/projects/pets/clusters/7?k=3",
                   headers=_auth(pets, "boss")).status_code == 404  # fmt: skip


def test_a_text_project_clusters_show_snippets(client, env):
    r = client.get("/api/v1/projects/alpha/clusters?k=3", headers=env.auth("alpha-reviewer"))
    assert r.status_code == 200, r.text
    listing = r.json()
    assert listing["media"] is False and sum(c["size"] for c in listing["clusters"]) == 30
    members = client.get(
        "/api/v1/projects/alpha/clusters/0?k=3", headers=env.auth("alpha-reviewer")
    ).json()
    assert members["items"] and all(m["snippet"] for m in members["items"])
    assert all(m["suggested"] is not None for m in members["items"])  # the zero-shot model's
    page = client.get("/api/v1/projects/alpha/clusters?k=31", headers=env.auth("alpha-reviewer"))
    assert page.status_code == 422 and "cannot make 31 clusters of 30 items" in page.text
