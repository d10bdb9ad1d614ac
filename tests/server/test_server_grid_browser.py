"""The image grid and the cluster view in real headless Chromium:
keyboard accept of a screen, correcting tiles by key and by click, zoom, selection, and
labelling a cluster after deselecting some of its images."""

from __future__ import annotations

from typing import Any

import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip

from image_factories import colour_backbone, colour_of, make_image_project
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.quality import review
from labelloop.store import Annotation

pytestmark = pytest.mark.browser
__all__ = ["colour_backbone"]  # a fixture the tests below use

LABELS = ["red", "green", "blue"]  # keys 1, 2, 3 by default


def _login(page: Any, url: str, name: str, password: str, target: str) -> None:
    page.goto(f"{url}{target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")


def _answers(ws: Any) -> dict[int, tuple[list[str], str]]:
    """Every current answer: item id -> (value, source)."""
    with ws.transaction() as session:
        rows = session.query(Annotation).filter(Annotation.is_current.is_(True)).all()
        return {a.item_id: (list(a.value or []), a.source) for a in rows}


def _tile_ids(page: Any) -> list[int]:
    return [
        int(x) for x in page.eval_on_selector_all(".tile", "ts => ts.map(t => t.dataset.itemId)")
    ]


def _other(label: str) -> str:
    return next(x for x in LABELS if x != label)


def test_grid_keyboard_accept_correct_zoom_and_select(sqlite_workspace, colour_backbone):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_image_project(ws, "pets", per_colour=10)
    names = {v: k for k, v in ids.items()}
    for name, item_id in ids.items():  # two labels per colour, then a model and suggestions
        if name.split("-")[1].startswith("00") and int(name[-5]) < 2:
            ws.submit("pets", item_id, [colour_of(name)], annotator="boss")
    ws.train("pets")
    ws.predict("pets")
    users.add_user(ws, "boss", password="pw-boss-1!", role="admin", project="pets")
    users.add_user(ws, "ann", password="pw-ann-1!", role="annotator", project="pets")
    before = set(_answers(ws))
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        _login(page, url, "ann", "pw-ann-1!", "/projects/pets/grid")
        page.wait_for_selector(".tile img")
        assert page.locator("nav.tabs >> text=Clusters").count() == 0  # reviewers' page
        tiles = _tile_ids(page)
        assert len(tiles) == 24  # 30 images, 6 labelled: a screen of 24
        captions = page.eval_on_selector_all(".tile .caption", "cs => cs.map(c => c.textContent)")
        assert all(c.split()[0] in LABELS and c.endswith("%") for c in captions)
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.tile img'))"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )  # the thumbnails loaded
        suggested = {
            i: page.get_attribute(f".tile[data-item-id='{i}']", "data-label") for i in tiles
        }

        # correct tile 2 with a key: ArrowRight moves the focus
        page.keyboard.press("ArrowRight")
        assert "focused" in page.get_attribute(f".tile[data-item-id='{tiles[1]}']", "class")
        fix_by_key = _other(suggested[tiles[1]])
        page.keyboard.press(str(LABELS.index(fix_by_key) + 1))
        tile = f".tile[data-item-id='{tiles[1]}']"
        assert page.get_attribute(tile, "data-label") == fix_by_key
        assert "corrected" in page.get_attribute(tile, "class")

        # correct tile 3 with the mouse: a click opens the label picker
        page.click(f".tile[data-item-id='{tiles[2]}'] img")
        page.wait_for_selector("#picker:not([hidden])")
        fix_by_click = _other(suggested[tiles[2]])
        page.click(f"#picker-labels button[data-label={fix_by_click}]")
        assert page.is_hidden("#picker")
        assert page.get_attribute(f".tile[data-item-id='{tiles[2]}']", "data-label") == fix_by_click

        # z zooms the focused image (tile 3, clicked last) to full size; Esc closes
        page.keyboard.press("z")
        page.wait_for_selector("#zoom:not([hidden])")
        page.wait_for_function("document.getElementById('zoom-img').naturalWidth === 64")
        assert f"/items/{tiles[2]}/media" in page.get_attribute("#zoom-img", "src")
        page.screenshot(path=str(ARTIFACTS / "grid-zoom.png"))
        page.keyboard.press("Escape")
        assert page.is_hidden("#zoom")

        # Space selects tiles 3 and 2; Enter accepts the selected ones only
        page.keyboard.press("Space")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Space")
        assert page.text_content("#accept-what") == "2 selected"
        page.screenshot(path=str(ARTIFACTS / "grid.png"))
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('.tile').length === 22")
        answers = _answers(ws)
        assert set(answers) - before == {tiles[1], tiles[2]}
        assert answers[tiles[1]] == ([fix_by_key], "human")
        assert answers[tiles[2]] == ([fix_by_click], "human")
        assert set(_tile_ids(page)) == set(tiles) - {tiles[1], tiles[2]}

        # a accepts the whole screen as suggested; the next screen (none left) loads
        page.keyboard.press("a")
        page.wait_for_selector("#done:not([hidden])")
        answers = _answers(ws)
        for item_id in set(tiles) - {tiles[1], tiles[2]}:
            assert answers[item_id] == ([suggested[item_id]], "model_accepted"), names[item_id]
        assert "Saved 22: 22 suggestions accepted, 0 corrected." in page.text_content("#message")
        assert errors == []
        browser.close()


def test_cluster_view_labels_a_cluster_after_deselecting_the_odd_ones(
    sqlite_workspace, colour_backbone
):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_image_project(ws, "pets", per_colour=8)  # no labels, no model yet
    names = {v: k for k, v in ids.items()}
    users.add_user(ws, "boss", password="pw-boss-1!", role="admin", project="pets")
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        _login(page, url, "boss", "pw-boss-1!", "/projects/pets/annotate")
        page.click("nav.tabs >> text=Clusters")
        page.wait_for_selector(".cluster-card")
        page.fill("#k", "3")
        page.click("#k-form button")
        page.wait_for_function("document.querySelectorAll('.cluster-card').length === 3")
        assert "24 items in 3 clusters" in page.text_content("#cluster-summary")
        page.wait_for_function(
            "Array.from(document.querySelectorAll('.cluster-card img'))"
            ".every(i => i.naturalWidth > 0)"
        )
        page.click(".cluster-card[data-cluster='0']")
        page.wait_for_selector("#members .tile")
        members = _tile_ids(page)
        assert len(members) == 8
        colour = colour_of(names[members[0]])
        assert {colour_of(names[i]) for i in members} == {colour}

        # the label by its key; two images deselected, one by a click, one by Space
        page.keyboard.press(str(LABELS.index(colour) + 1))
        assert "selected" in page.get_attribute(f"#cluster-labels [data-label={colour}]", "class")
        page.click(f"#members .tile[data-item-id='{members[1]}']")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("Space")
        assert page.text_content("#n-selected") == "6"
        page.screenshot(path=str(ARTIFACTS / "clusters.png"))
        page.keyboard.press("Enter")
        page.wait_for_selector(".cluster-card")
        page.wait_for_function(
            "document.getElementById('message').textContent.startsWith('Labelled')"
        )
        answers = _answers(ws)
        assert set(answers) == set(members) - {members[1], members[2]}
        assert all(v == ([colour], "human") for v in answers.values())
        card = page.text_content(".cluster-list")
        assert f"labelled: {colour} 6" in card and "2 unlabelled" in card
        assert review.item_detail(ws, "pets", members[1]).current is None
        assert errors == []
        browser.close()
