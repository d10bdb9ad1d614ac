"""The box canvas (image-boxes projects) in real headless Chromium, CSP on: suggested boxes with
their scores, accept all, delete, keyboard labels, boxes drawn, moved and resized with the mouse
and stored in upright image pixels (a non-square PNG, an EXIF-rotated JPEG) whatever the zoom
and pan, an empty answer, and the review view's boxes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from box_factories import Picture, make_box_project
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip
from sqlalchemy import select

from labelloop.backbones.images import image_size
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.quality import review
from labelloop.store import Item

pytestmark = pytest.mark.browser

PASSWORD = "pw-annotator!"
# the default hotkeys of box_factories.BOX_LABELS: 1 cat, 2 dog, 3 bird
WIDE = Picture(
    "a-wide.png",
    (320, 200),
    suggested=((20, 30, 100, 80, "cat", 0.9), (150, 100, 60, 60, "dog", 0.4)),
)
TURNED = Picture("b-turned.jpg", (200, 120), orientation=6)  # shown 120 wide, 200 high
SQUARE = Picture(
    "c-square.png",
    (100, 100),
    suggested=((10, 10, 50, 50, "bird", 0.7), (60, 60, 30, 30, "cat", 0.1)),
)
GOOD = Picture(
    "d-good.png",
    (90, 60),
    suggested=((5.125, 6.5, 40, 30, "dog", 0.6), (50, 10, 30, 40, "cat", 0.8)),
)
SECOND_OPINION = {"x": 150, "y": 90, "w": 70, "h": 60, "label": "bird"}  # another annotator's
VIEWPORT = {"width": 1200, "height": 900}


def _login(page: Any, url: str, name: str, target: str) -> None:
    page.goto(f"{url}{target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")


def _watch(page: Any, errors: list[str]) -> None:
    """Collect the page's script errors and console errors (a CSP violation is one), but not
    the browser's own request for a favicon the server does not have."""
    page.on("pageerror", lambda e: errors.append(str(e)))

    def console(message: Any) -> None:
        if message.type == "error" and not message.location["url"].endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location['url']})")

    page.on("console", console)


def _wait_item(page: Any, key: str) -> None:
    # locators, not wait_for_function: the page's CSP allows no eval
    page.locator("#item-ref", has_text=re.compile(f"^item {re.escape(key)}$")).wait_for()
    page.wait_for_selector("#box-stage.ready")


def _natural(page: Any) -> tuple[int, int]:
    return tuple(page.eval_on_selector("#box-image", "i => [i.naturalWidth, i.naturalHeight]"))


def _at(page: Any, x: float, y: float) -> tuple[float, float]:
    """The screen point of image pixel ``(x, y)``, from where the image is on screen now."""
    r = page.locator("#box-image").bounding_box()
    w, h = _natural(page)
    return r["x"] + x * r["width"] / w, r["y"] + y * r["height"] / h


def _drag(page: Any, a: tuple[float, float], b: tuple[float, float]) -> None:
    page.mouse.move(*a)
    page.mouse.down()
    page.mouse.move(*b, steps=8)
    page.mouse.up()


def _boxes(page: Any, state: str = "") -> list[dict[str, Any]]:
    """The boxes on the canvas (``state``: "suggested", "confirmed" or any), as drawn."""
    return page.eval_on_selector_all(
        f"#box-overlay g.box{'.' + state if state else ''}",
        """gs => gs.map(g => { const r = g.querySelector('rect.frame');
            return { label: g.dataset.label, tag: g.querySelector('text').textContent,
                     x: +r.getAttribute('x'), y: +r.getAttribute('y'),
                     w: +r.getAttribute('width'), h: +r.getAttribute('height') }; })""",
    )


def _stored(ws: Any, item_id: int) -> tuple[list[dict[str, Any]], str]:
    detail = review.item_detail(ws, "det", item_id)
    current = [a for a in detail.answers if a.current]
    assert len(current) == 1
    return current[0].value, current[0].source


def _close(actual: list[dict[str, Any]], expected: list[tuple[float, ...]], label_of: list[str]):
    """Each stored box within 1 image pixel of the expected ``(x, y, w, h)``, labels equal."""
    assert [b["label"] for b in actual] == label_of
    for box, want in zip(actual, expected, strict=True):
        got = (box["x"], box["y"], box["w"], box["h"])
        assert all(abs(g - e) <= 1.0 for g, e in zip(got, want, strict=True)), (got, want)


def test_box_canvas_draws_edits_and_stores_upright_pixels_then_review(
    sqlite_workspace, tmp_path: Path
):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_box_project(ws, "det", [WIDE, TURNED, SQUARE, GOOD])
    users.add_user(ws, "ann", password=PASSWORD, role="annotator", project="det", superuser=False)
    users.add_user(ws, "rev", password=PASSWORD, role="reviewer", project="det")
    app = create_app(ws, ServerSettings(background_retrain=False))
    errors: list[str] = []
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)  # the server's CSP applies
        _watch(page, errors)
        _login(page, url, "ann", "/projects/det/annotate")
        assert page.get_attribute("#annotate", "data-widget") == "boxes"
        _wait_item(page, WIDE.name)
        assert _natural(page) == WIDE.upright

        # the suggestion: dashed proposals with their scores, not part of the answer yet
        assert [b["tag"] for b in _boxes(page, "suggested")] == ["cat 90%", "dog 40%"]
        assert _boxes(page, "confirmed") == []
        assert page.text_content("#sugg-label") == "2 boxes"
        assert "2 suggested not accepted" in page.text_content("#box-status")
        page.screenshot(path=str(ARTIFACTS / "boxes-suggested.png"))
        page.keyboard.press("a")  # accept all: solid now, with the model's scores still shown
        assert [b["tag"] for b in _boxes(page, "confirmed")] == ["cat 90%", "dog 40%"]
        assert _boxes(page, "suggested") == []
        # Tab selects box after box; Delete removes the selected one
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.get_attribute("#box-overlay g.box.selected", "data-label") == "dog"
        page.keyboard.press("Delete")
        assert [b["label"] for b in _boxes(page)] == ["cat"]

        # draw a box with the mouse; keys relabel it (number, then ] and [ to cycle)
        page.keyboard.press("Escape")
        _drag(page, _at(page, 200, 60), _at(page, 290, 150))
        page.keyboard.press("2")
        page.keyboard.press("]")
        assert page.get_attribute("#box-overlay g.box.selected", "data-label") == "bird"
        page.keyboard.press("[")
        drawn = _boxes(page)[1]
        assert drawn["label"] == "dog"
        assert all(
            abs(a - b) <= 1
            for a, b in zip(
                (drawn["x"], drawn["y"], drawn["w"], drawn["h"]), (200, 60, 90, 90), strict=True
            )
        )
        # move it by dragging inside, resize it by two corners
        _drag(page, _at(page, 245, 105), _at(page, 255, 85))  # +10, -20
        _drag(page, _at(page, 300, 130), _at(page, 310, 145))  # bottom-right corner: +10, +15
        _drag(page, _at(page, 210, 40), _at(page, 205, 35))  # top-left corner: -5, -5
        page.screenshot(path=str(ARTIFACTS / "boxes-edited.png"))
        page.keyboard.press("Enter")
        _wait_item(page, TURNED.name)
        value, source = _stored(ws, ids[WIDE.name])
        _close(value, [(20, 30, 100, 80), (205, 35, 105, 110)], ["cat", "dog"])
        assert source == "human"

        # an EXIF-rotated JPEG: the canvas works in the upright pixels the server checks against
        assert _natural(page) == TURNED.upright == image_size(ws.media_root / "det" / TURNED.name)
        assert page.text_content("#sugg-label") == "no objects"
        before = page.locator("#box-image").bounding_box()
        cx, cy = _at(page, 60, 100)
        page.mouse.move(cx, cy)
        page.mouse.wheel(0, -100)  # zoom in 1.25 times about the pointer
        page.locator("#box-status", has_text="zoom 125%").wait_for()
        after = page.locator("#box-image").bounding_box()
        assert after["width"] == pytest.approx(before["width"] * 1.25, abs=0.5)
        assert after["x"] == pytest.approx(cx - (cx - before["x"]) * 1.25, abs=0.5)
        assert after["y"] == pytest.approx(cy - (cy - before["y"]) * 1.25, abs=0.5)
        page.keyboard.press("+")  # once more, about the stage's centre
        # pan: space + drag moves the image with the pointer
        moved = page.locator("#box-image").bounding_box()
        page.keyboard.down(" ")
        _drag(page, (cx, cy), (cx - 40, cy - 30))
        page.keyboard.up(" ")
        panned = page.locator("#box-image").bounding_box()
        assert (panned["x"] - moved["x"], panned["y"] - moved["y"]) == pytest.approx(
            (-40, -30), abs=0.5
        )
        assert _boxes(page) == []  # panning drew nothing
        page.keyboard.press("3")  # the label of the next box drawn
        _drag(page, _at(page, 30, 50), _at(page, 90, 120))
        assert page.text_content("#box-pointer") == "x 90, y 120"  # the pointer, in image px
        page.screenshot(path=str(ARTIFACTS / "boxes-zoomed.png"))
        # back to the whole image; a drag past its corner stops at the image's edge
        page.keyboard.press("0")
        assert "zoom" not in page.text_content("#box-status")
        page.keyboard.press("Escape")
        page.keyboard.press("1")
        r = page.locator("#box-image").bounding_box()
        _drag(page, _at(page, 100, 150), (r["x"] + r["width"] + 25, r["y"] + r["height"] + 25))
        page.keyboard.press("Enter")
        _wait_item(page, SQUARE.name)
        value, _ = _stored(ws, ids[TURNED.name])
        _close(value, [(30, 50, 60, 70), (100, 150, 20, 50)], ["bird", "cat"])

        # suggested boxes under the score threshold (30% unless changed) are not shown
        assert [b["tag"] for b in _boxes(page, "suggested")] == ["bird 70%"]
        assert "1 suggested under 30% not shown" in page.text_content("#box-status")
        page.locator("#box-min-score").fill("0")
        assert [b["tag"] for b in _boxes(page, "suggested")] == ["bird 70%", "cat 10%"]
        page.locator("#box-min-score").fill("50")
        assert page.text_content("#box-min-score-value") == "50%"
        assert [b["tag"] for b in _boxes(page, "suggested")] == ["bird 70%"]
        # Enter with a suggestion left unaccepted: the answer is "no objects"
        page.keyboard.press("Enter")
        _wait_item(page, GOOD.name)
        assert _stored(ws, ids[SQUARE.name]) == ([], "human")

        # A then Enter: the suggestion as it is, stored as the model's answer confirmed
        page.keyboard.press("Tab")
        page.keyboard.press("2")  # its own label again accepts one box; A takes the rest
        assert [b["tag"] for b in _boxes(page, "confirmed")] == ["dog 60%"]
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.wait_for_selector("#done:not([hidden])")
        assert _stored(ws, ids[GOOD.name]) == (GOOD.suggestion(), "model_accepted")

        # review: each annotator's boxes beside the model's suggested ones, on the image
        answered, _ = _stored(ws, ids[WIDE.name])
        ws.submit("det", ids[WIDE.name], [SECOND_OPINION], annotator="ann2")
        reviewer = browser.new_context(viewport=VIEWPORT).new_page()
        _watch(reviewer, errors)
        _login(reviewer, url, "rev", "/projects/det/review")
        card = reviewer.locator(f".candidate[data-item='{ids[WIDE.name]}']")
        card.wait_for()
        card.locator(".box-answer.ready").first.wait_for()
        human, other = card.locator("tbody tr").nth(0), card.locator("tbody tr").nth(1)
        model = card.locator("tbody tr.model")
        for row in (other, model):
            row.locator(".box-answer.ready").wait_for()
        assert [
            human.locator("td").first.text_content(),
            other.locator("td").first.text_content(),
        ] == ["ann", "ann2"]
        shown = human.locator("g.box.confirmed rect.frame")
        assert shown.count() == 2
        for k, box in enumerate(answered):
            rect = shown.nth(k)
            assert [float(rect.get_attribute(a)) for a in ("x", "y", "width", "height")] == [
                pytest.approx(box[key]) for key in ("x", "y", "w", "h")
            ]
        assert [t.strip() for t in model.locator("g.box.suggested text").all_text_contents()] == [
            "cat 90%",
            "dog 40%",
        ]
        assert "2 boxes: cat 90%, dog" in human.text_content()  # an accepted box keeps its score
        assert "1 box: bird" in other.text_content()
        frame = other.locator("g.box rect.frame")
        assert [float(frame.get_attribute(a)) for a in ("x", "y", "width", "height")] == [
            SECOND_OPINION[k] for k in ("x", "y", "w", "h")
        ]
        reviewer.screenshot(path=str(ARTIFACTS / "boxes-review.png"), full_page=True)
        # accepting the model's boxes settles the item with them
        model.locator("button", has_text="Accept").click()
        card.locator(".outcome", has_text="Settled as 2 boxes").wait_for()
        settled, _ = _stored(ws, ids[WIDE.name])
        assert [(b["x"], b["y"], b["w"], b["h"], b["label"]) for b in settled] == [
            s[:5] for s in WIDE.suggested
        ]
        browser.close()
    assert errors == []


def test_an_answered_image_reopens_with_its_boxes_to_click_nudge_pan_and_fix(
    sqlite_workspace, tmp_path: Path
):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_box_project(ws, "det", [WIDE])
    users.add_user(ws, "ann", password=PASSWORD, role="annotator", project="det", superuser=False)
    item = ids[WIDE.name]
    outer = {"x": 10, "y": 10, "w": 200, "h": 150, "label": "cat"}
    inner = {"x": 50, "y": 50, "w": 40, "h": 30, "label": "dog"}
    ws.submit("det", item, [outer, inner], annotator="ann")
    app = create_app(ws, ServerSettings(background_retrain=False))
    errors: list[str] = []
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        _watch(page, errors)
        _login(page, url, "ann", f"/projects/det/annotate?item={item}")
        _wait_item(page, WIDE.name)
        # the current answer comes back as confirmed boxes (the suggestion is not shown over it)
        assert [b["label"] for b in _boxes(page, "confirmed")] == ["cat", "dog"]
        assert _boxes(page, "suggested") == []
        # a click selects the smallest box under the pointer; outside it, the one around it
        page.mouse.click(*_at(page, 70, 65))
        assert page.get_attribute("#box-overlay g.box.selected", "data-label") == "dog"
        page.mouse.click(*_at(page, 150, 120))
        assert page.get_attribute("#box-overlay g.box.selected", "data-label") == "cat"
        assert page.locator("#box-list .box-item.selected").text_content().startswith("1. cat")
        # arrows nudge the selected box a pixel, Shift+arrows ten
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        page.keyboard.press("Shift+ArrowDown")
        # the right edge's handle widens it; a middle-button drag pans without drawing
        _drag(page, _at(page, 213, 95), _at(page, 233, 95))
        before = page.locator("#box-image").bounding_box()
        start = _at(page, 280, 180)
        page.mouse.move(*start)
        page.mouse.down(button="middle")
        page.mouse.move(start[0] - 30, start[1] + 20, steps=5)
        page.mouse.up(button="middle")
        after = page.locator("#box-image").bounding_box()
        assert (after["x"] - before["x"], after["y"] - before["y"]) == pytest.approx(
            (-30, 20), abs=0.5
        )
        assert len(_boxes(page)) == 2
        # a press inside a box moves it; with Shift held it starts a new box there instead
        page.keyboard.down("Shift")
        _drag(page, _at(page, 30, 100), _at(page, 60, 130))
        page.keyboard.up("Shift")
        nested = _boxes(page)
        assert len(nested) == 3 and nested[0]["x"] == pytest.approx(13)
        assert [nested[2][k] for k in "xywh"] == pytest.approx([30, 100, 30, 30], abs=1)
        page.keyboard.press("Delete")  # the new box is the selected one
        # the box list selects too; Backspace removes the selected box
        page.locator("#box-list .box-item", has_text="dog").click()
        page.keyboard.press("Backspace")
        page.keyboard.press("Enter")
        page.wait_for_selector("#done:not([hidden])")
        value, source = _stored(ws, item)
        _close(value, [(13, 20, 220, 150)], ["cat"])
        assert source == "human"
        # undo: the item comes back unanswered, with the model's suggested boxes
        page.keyboard.press("z")
        page.locator("#message", has_text="Undone").wait_for()
        page.wait_for_selector("#box-stage.ready")
        assert [b["tag"] for b in _boxes(page, "suggested")] == ["cat 90%", "dog 40%"]
        browser.close()
    assert errors == []


@pytest.mark.real_model
def test_the_real_detectors_boxes_on_a_real_photo_are_accepted_as_they_are(sqlite_workspace):
    playwright = playwright_or_skip()
    skimage_data = pytest.importorskip("skimage.data")
    from PIL import Image

    from labelloop.errors import MissingDependency
    from labelloop.learn.boxes import load_detector

    try:
        load_detector("mediapipe-ssd")
    except MissingDependency as exc:
        pytest.skip(str(exc))
    ws = sqlite_workspace
    folder = ws.media_root / "photos"
    folder.mkdir(parents=True)
    Image.fromarray(skimage_data.chelsea()).save(folder / "chelsea.png")  # 451 x 300, a cat
    ws.create_project(
        "photos", labels=["kitty", "person"], task="image-boxes", type_map={"Cat": "kitty"}
    )
    ws.import_file("photos", folder)
    ws.train("photos")
    ws.predict("photos")
    with ws.transaction() as session:
        item = session.execute(select(Item.id)).scalar_one()
    suggestion = review.item_detail(ws, "photos", item).suggestion
    assert suggestion is not None and "kitty" in [b["label"] for b in suggestion.value]
    users.add_user(
        ws, "ann", password=PASSWORD, role="annotator", project="photos", superuser=False
    )
    app = create_app(ws, ServerSettings(background_retrain=False))
    errors: list[str] = []
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport=VIEWPORT)
        _watch(page, errors)
        _login(page, url, "ann", "/projects/photos/annotate")
        _wait_item(page, "chelsea.png")
        drawn = _boxes(page, "suggested")
        assert [(b["x"], b["y"], b["w"], b["h"], b["label"]) for b in drawn] == [
            (b["x"], b["y"], b["w"], b["h"], b["label"]) for b in suggestion.value
        ]
        page.screenshot(path=str(ARTIFACTS / "boxes-detector.png"))
        page.keyboard.press("a")
        page.keyboard.press("Enter")
        page.wait_for_selector("#done:not([hidden])")
        browser.close()
    value, source = next(
        (a.value, a.source) for a in review.item_detail(ws, "photos", item).answers if a.current
    )
    assert (value, source) == (suggestion.value, "model_accepted")
    assert errors == []
