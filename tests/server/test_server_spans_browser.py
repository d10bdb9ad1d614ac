"""The spans widget (named entities) in real headless Chromium: suggested spans with their
confidence, spans made by mouse drag and by keyboard, relabel, remove, boundary fixes, refused
overlaps, Enter to submit, and the review view's span highlights."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip
from span_factories import SPAN_LABELS, Sentence, make_span_project, sentence

from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.quality import review
from labelloop.store import repo

pytestmark = pytest.mark.browser

EVIL = '<img src=x onerror="document.title=1"> <b>Bold</b> Paris'
SENTENCES = [
    sentence(
        "s1",
        "Peter Blackburn visited Brussels on Monday .",
        ("Peter Blackburn", "PER", 0.91),
        ("Brussels", "LOC", 0.64),
    ),
    sentence(
        "s2", "The European Commission said on Thursday it disagreed .", ("European", "ORG", 0.48)
    ),
    sentence("s3", "Germany 's representative to the EU , Werner Zwingmann , said so ."),
    sentence("s4", "Rare Hendrix song draft sells for almost $ 17,000 .", ("Hendrix", "PER", 0.97)),
    sentence("s5", EVIL),
]
PASSWORD = "pw-annotator!"
REMOVE = "\u00d7"  # the remove button's text: a multiplication sign


def _login(page: Any, url: str, name: str, target: str) -> None:
    page.goto(f"{url}{target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")


def _token(page: Any, word: str) -> Any:
    return page.locator("#item-text .tok").filter(has_text=re.compile(f"^{re.escape(word)}$"))


def _drag(page: Any, first: str, last: str) -> None:
    """Press the mouse on token ``first``, move over to ``last``, release."""
    a = _token(page, first).bounding_box()
    b = _token(page, last).bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    page.mouse.move(b["x"] + b["width"] / 2, b["y"] + b["height"] / 2, steps=6)
    page.mouse.up()


def _tags(page: Any) -> list[str]:
    """The tags after each span in the text, e.g. ``"PER 91%"``, in text order (without the
    remove button each one ends with)."""
    tags = page.locator("#item-text .tag")
    assert tags.locator("button.x").count() == tags.count()
    return [t.replace(REMOVE, "").strip() for t in tags.all_text_contents()]


def _wait_item(page: Any, key: str) -> None:
    page.wait_for_function(f"document.getElementById('item-ref').textContent === 'item {key}'")


def _stored(ws: Any, item_id: int) -> tuple[list[dict[str, Any]], str]:
    detail = review.item_detail(ws, "ner", item_id)
    current = [a for a in detail.answers if a.current]
    assert len(current) == 1
    return current[0].value, current[0].source


def test_spans_widget_by_mouse_and_keyboard_then_review(sqlite_workspace, tmp_path: Path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_span_project(ws, "ner", tmp_path, SENTENCES)
    users.add_user(ws, "ann", password=PASSWORD, role="annotator", project="ner", superuser=False)
    users.add_user(ws, "rev", password=PASSWORD, role="reviewer", project="ner")
    s1, s2, s3, s4, _ = SENTENCES
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, "ann", "/projects/ner/annotate")
        assert page.get_attribute("#annotate", "data-widget") == "spans"
        _wait_item(page, "s1")
        page.wait_for_selector("#item-text .tok")

        # the suggestion: each span in its label's colour with the model's confidence
        assert _tags(page) == ["PER 91%", "LOC 64%"]
        assert "lbl-0" in _token(page, "Blackburn").get_attribute("class")  # PER: label 1
        assert "lbl-1" in _token(page, "Brussels").get_attribute("class")  # LOC: label 2
        assert "64%" in page.locator("#item-text .tag").nth(1).get_attribute("title")
        assert page.locator("#span-labels button.label").count() == len(SPAN_LABELS)
        assert page.text_content("#sugg-label") == "2 spans"
        page.screenshot(path=str(ARTIFACTS / "spans-suggested.png"))

        # its own number on a selected span confirms it: the model's confidence stays
        _token(page, "Peter").click()
        assert "target" in _token(page, "Blackburn").get_attribute("class")
        page.keyboard.press("1")
        assert _tags(page) == ["PER 91%", "LOC 64%"]

        # a selection overlapping a span is refused, nothing changes
        _drag(page, "visited", "Brussels")
        page.keyboard.press("4")
        assert "overlap" in page.text_content("#message")
        assert _tags(page) == ["PER 91%", "LOC 64%"]

        # drag a new span and label it with a number key
        _drag(page, "on", "Monday")
        page.keyboard.press("4")
        assert _tags(page) == ["PER 91%", "LOC 64%", "MISC"]
        assert page.text_content("#message") == ""
        # relabel: click a span, press another number (the model's confidence goes with it)
        _token(page, "Brussels").click()
        page.keyboard.press("3")
        assert _tags(page) == ["PER 91%", "ORG", "MISC"]
        # remove: the x on the span's tag
        page.locator("#item-text .tag").nth(2).locator("button.x").click()
        assert _tags(page) == ["PER 91%", "ORG"]
        page.screenshot(path=str(ARTIFACTS / "spans-edited.png"))
        page.keyboard.press("Enter")
        _wait_item(page, "s2")
        assert _stored(ws, ids["s1"]) == (
            [s1.span("Peter Blackburn", "PER"), s1.span("Brussels", "ORG")],
            "human",
        )

        # keyboard: arrows onto the suggested span select it, Shift+Right moves its end
        page.wait_for_selector("#item-text .tok")
        assert _tags(page) == ["ORG 48%"]
        for _ in range(2):
            page.keyboard.press("ArrowRight")
        assert "cursor" in _token(page, "European").get_attribute("class")
        page.keyboard.press("Shift+ArrowRight")
        assert _tags(page) == ["ORG"]
        assert "target" in _token(page, "Commission").get_attribute("class")
        # a new span by keyboard: to "Thursday", extend by one, label, shrink its end again
        for _ in range(3):  # said, on, Thursday
            page.keyboard.press("ArrowRight")
        assert "cursor" in _token(page, "Thursday").get_attribute("class")
        page.keyboard.press("Shift+ArrowRight")
        assert page.locator("#item-text .tok.sel").all_text_contents() == ["Thursday", "it"]
        page.keyboard.press("4")
        page.keyboard.press("Shift+ArrowLeft")
        assert _tags(page) == ["ORG", "MISC"]
        # extending it into the ORG span is refused
        page.keyboard.press("ArrowLeft")  # onto "on": the MISC span is no longer selected
        page.keyboard.press("Shift+ArrowLeft")
        page.keyboard.press("Shift+ArrowLeft")  # said, Commission
        page.keyboard.press("1")
        assert "overlap" in page.text_content("#message")
        page.keyboard.press("Enter")
        _wait_item(page, "s3")
        assert _stored(ws, ids["s2"]) == (
            [s2.span("European Commission", "ORG"), s2.span("Thursday", "MISC")],
            "human",
        )

        # no suggestion: spans by mouse, one removed with Backspace
        page.wait_for_selector("#item-text .tok")
        assert _tags(page) == [] and page.text_content("#sugg-label") == "no spans"
        _token(page, "Werner").click()
        page.locator("#span-labels button.label", has_text="PER").click()  # a label button
        assert _tags(page) == ["PER"]
        # fix its end by re-selecting: a drag from inside the selected span
        _drag(page, "Werner", "Zwingmann")
        assert page.locator("#item-text .tok.in").all_text_contents() == ["Werner", "Zwingmann"]
        _token(page, "Germany").click()
        page.keyboard.press("2")
        _token(page, "EU").click()
        page.keyboard.press("3")
        assert _tags(page) == ["LOC", "ORG", "PER"]
        _token(page, "Germany").click()
        page.keyboard.press("Backspace")
        assert _tags(page) == ["ORG", "PER"]
        page.keyboard.press("Enter")
        _wait_item(page, "s4")
        assert _stored(ws, ids["s3"]) == (
            [s3.span("EU", "ORG"), s3.span("Werner Zwingmann", "PER")],
            "human",
        )

        # Enter accepts every suggested span as it is
        page.wait_for_selector("#item-text .tok")
        page.keyboard.press("Enter")
        _wait_item(page, "s5")
        assert _stored(ws, ids["s4"]) == ([s4.span("Hendrix", "PER")], "model_accepted")
        # undo brings the item back as tokens, with its suggested spans
        page.wait_for_selector("#item-text .tok")
        page.keyboard.press("z")
        _wait_item(page, "s4")
        page.wait_for_selector("#item-text .tok")
        assert _tags(page) == ["PER 97%"]
        page.keyboard.press("Enter")
        _wait_item(page, "s5")

        # item text is text: markup in it shows as tokens, never as elements
        page.wait_for_selector("#item-text .tok")
        assert page.locator("#item-text img, #item-text b").count() == 0
        assert "Bold" in page.text_content("#item-text") and "<img" in page.text_content(
            "#item-text"
        )
        assert page.title() != "1"

        # review: each answer's spans highlighted beside the model's suggestion
        context = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        reviewer = context.new_page()
        reviewer.on("pageerror", lambda e: errors.append(str(e)))
        _login(reviewer, url, "rev", "/projects/ner/review")
        card = reviewer.locator(f".candidate[data-item='{ids['s1']}']")
        card.wait_for()
        human, model = card.locator("tbody tr").nth(0), card.locator("tbody tr.model")
        assert human.locator("mark.span").all_text_contents() == ["Peter Blackburn", "Brussels"]
        assert [t.strip() for t in human.locator(".tag").all_text_contents()] == ["PER", "ORG"]
        assert [t.strip() for t in model.locator(".tag").all_text_contents()] == [
            "PER 91%",
            "LOC 64%",
        ]
        assert "lbl-2" in human.locator("mark.span").nth(1).get_attribute("class")  # ORG
        reviewer.screenshot(path=str(ARTIFACTS / "spans-review.png"), full_page=True)
        # accepting the model's spans settles the item with them
        model.locator("button", has_text="Accept").click()
        card.locator(".outcome", has_text="Settled as 2 spans").wait_for()
        assert _stored(ws, ids["s1"])[0] == _suggested(s1)
        browser.close()
    assert errors == []


def _suggested(s: Sentence) -> list[dict[str, Any]]:
    return [{"start": a, "end": b, "label": label} for a, b, label in s.spans]


def test_overlapping_spans_where_the_schema_allows_them(sqlite_workspace, tmp_path: Path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    s = sentence("o1", "New York University is in New York .", ("New York University", "ORG", 0.8))
    ids = make_span_project(ws, "ner", tmp_path, [s])
    with ws.transaction() as session:  # no CLI or REST option sets it yet: the schema itself
        project = repo.get_project(session, "ner")
        project.label_schema = {**project.label_schema, "allow_overlap": True}
    users.add_user(ws, "ann", password=PASSWORD, role="annotator", project="ner", superuser=False)
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, "ann", "/projects/ner/annotate")
        assert page.get_attribute("#annotate", "data-overlap") == "true"
        page.wait_for_selector("#item-text .tok")
        # the first "New York" inside the suggested organisation is a place as well
        page.keyboard.press("ArrowRight")  # onto the ORG span: selects it
        assert "target" in page.locator("#item-text .tok").nth(2).get_attribute("class")
        page.keyboard.press("Escape")  # let go of it: the cursor on its first word...
        page.keyboard.press("Shift+ArrowRight")  # ...and extend to the next
        assert page.locator("#item-text .tok.sel").all_text_contents() == ["New", "York"]
        page.keyboard.press("2")
        assert _tags(page) == ["LOC", "ORG 80%"]
        assert "multi" in page.locator("#item-text .tok").nth(1).get_attribute("class")
        # the same span twice is still refused
        page.keyboard.press("Escape")
        page.keyboard.press("Shift+ArrowRight")
        page.keyboard.press("2")
        assert "already" in page.text_content("#message")
        assert _tags(page) == ["LOC", "ORG 80%"]
        page.screenshot(path=str(ARTIFACTS / "spans-overlap.png"))
        page.keyboard.press("Enter")
        page.wait_for_selector("#done:not([hidden])")
        browser.close()
    assert _stored(ws, ids["o1"]) == (
        [s.span("New York", "LOC"), s.span("New York University", "ORG")],
        "human",
    )
    assert errors == []
