"""The annotate page's label search and hotkeys, the items page, and an item's history and
comments, in real headless Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip
from server_factories import make_env
from span_factories import SENTENCES, make_span_project

from factories import write_csv
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions
from labelloop.services.quality import review

pytestmark = pytest.mark.browser

EVIL = '<img src=x onerror="document.title=1"> <b>bold</b> question'
# banking77-like: more labels than number keys, some told apart only by their descriptions
BANK_LABELS = [f"intent_{i:02d}" for i in range(40)]
BANK_LABELS[7] = "card_arrival"
BANK_LABELS[8] = "card_delivery_estimate"
BANK_LABELS[23] = "lost_or_stolen_card"
BANK_LABELS[31] = "exchange_rate"
DESCRIPTIONS = {
    "card_arrival": "my new card has not come in the post",
    "lost_or_stolen_card": "someone took my wallet",
    "exchange_rate": "currency conversion rates",
}


def _login(page: Any, url: str, name: str, password: str, target: str) -> None:
    page.goto(f"{url}{target}")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")


def _wait_item(page: Any) -> str:
    page.wait_for_function("document.getElementById('item-ref').textContent.startsWith('item ')")
    return page.text_content("#item-ref")


def _wait_other_item(page: Any, ref: str) -> None:
    page.wait_for_function(f"document.getElementById('item-ref').textContent !== {ref!r}")


def _visible_labels(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#labels button.label", "bs => bs.filter(b => !b.hidden).map(b => b.dataset.label)"
    )


def _current(ws: Any, project: str, external_id: str) -> list[Any] | None:
    item_id = _item_id(ws, project, external_id)
    detail = review.item_detail(ws, project, item_id)
    return detail.current


def _item_id(ws: Any, project: str, external_id: str) -> int:
    from labelloop.store import repo

    with ws.transaction() as session:
        project_id = repo.get_project(session, project).id
        return repo.items_by_external_id(session, project_id, [external_id])[external_id][0]


def _bank_project(ws: Any, folder: Path) -> None:
    ws.create_project("bank", labels=BANK_LABELS, backbone="fake", descriptions=DESCRIPTIONS)
    rows = [{"id": f"q{i}", "text": f"Banking question number {i} about money"} for i in range(12)]
    ws.import_file("bank", write_csv(folder / "bank.csv", rows), ImportOptions(id_field="id"))
    ws.train("bank")
    ws.predict("bank")


def test_label_search_and_configurable_hotkeys_with_forty_labels(sqlite_workspace, tmp_path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    _bank_project(ws, tmp_path)
    users.add_user(ws, "boss", password="pw-boss-1!", role="admin", project="bank")
    users.add_user(ws, "ann", password="pw-ann-1!", role="annotator", project="bank")
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, "boss", "pw-boss-1!", "/projects/bank/annotate")
        ref = _wait_item(page)
        assert page.locator("#labels button.label").count() == len(BANK_LABELS)
        # the defaults: 1-9, 0 on the first ten labels, none on the others
        kbds = page.eval_on_selector_all(
            "#labels button.label kbd", "ks => ks.map(k => k.hidden ? '' : k.textContent)"
        )
        assert kbds[:10] == [*"123456789", "0"] and set(kbds[10:]) == {""}

        # "/" focuses the search; words match names and descriptions; arrows move; Enter picks
        page.keyboard.press("/")
        assert page.evaluate("document.activeElement.id") == "label-search"
        page.keyboard.type("card")
        assert _visible_labels(page) == ["card_arrival", "card_delivery_estimate",
                                         "lost_or_stolen_card"]  # fmt: skip
        assert page.text_content("#label-search-count") == "3 of 40"
        assert "highlighted" in page.get_attribute("[data-label=card_arrival]", "class")
        page.keyboard.press("ArrowDown")
        page.keyboard.press("ArrowDown")
        assert "highlighted" in page.get_attribute("[data-label=lost_or_stolen_card]", "class")
        page.screenshot(path=str(ARTIFACTS / "label-search.png"))
        page.keyboard.press("Enter")  # picks the highlighted label and leaves the search
        assert "selected" in page.get_attribute("[data-label=lost_or_stolen_card]", "class")
        assert page.input_value("#label-search") == ""
        assert len(_visible_labels(page)) == len(BANK_LABELS)
        page.keyboard.type("/wallet")  # a description's word: "someone took my wallet"
        assert _visible_labels(page) == ["lost_or_stolen_card"]
        page.keyboard.press("Escape")
        assert len(_visible_labels(page)) == len(BANK_LABELS)
        page.keyboard.press("Enter")  # outside the search, Enter submits
        _wait_other_item(page, ref)
        assert _current(ws, "bank", ref.removeprefix("item ")) == ["lost_or_stolen_card"]

        # number keys still pick the first ten labels
        ref = page.text_content("#item-ref")
        page.keyboard.press("8")
        assert "selected" in page.get_attribute("[data-label=card_arrival]", "class")
        page.keyboard.press("Enter")
        _wait_other_item(page, ref)
        assert _current(ws, "bank", ref.removeprefix("item ")) == ["card_arrival"]

        # an admin gives exchange_rate the key "x" and takes "8" off card_arrival
        page.click("#btn-hotkeys")
        page.fill("input[aria-label='hotkey of exchange_rate']", "X")
        page.fill("input[aria-label='hotkey of card_arrival']", "")
        page.fill("input[aria-label='hotkey of intent_00']", "s")  # skip's key: refused
        page.click("#hotkeys-save")
        page.wait_for_function("document.getElementById('hotkeys-message').textContent !== ''")
        assert "'s' is not a digit or a letter" in page.text_content("#hotkeys-message")
        page.fill("input[aria-label='hotkey of intent_00']", "1")
        page.click("#hotkeys-save")
        page.wait_for_selector("#hotkey-editor", state="hidden")
        assert page.text_content("[data-label=exchange_rate] kbd") == "X"
        assert page.is_hidden("[data-label=card_arrival] kbd")
        page.screenshot(path=str(ARTIFACTS / "hotkeys.png"))
        ref = page.text_content("#item-ref")
        page.keyboard.press("1")
        page.keyboard.press("8")  # no label has it now: the pick stays
        assert page.eval_on_selector_all(
            "#labels button.label.selected", "bs => bs.map(b => b.dataset.label)"
        ) == ["intent_00"]
        page.keyboard.press("x")
        assert "selected" in page.get_attribute("[data-label=exchange_rate]", "class")
        page.keyboard.press("Enter")
        _wait_other_item(page, ref)
        assert _current(ws, "bank", ref.removeprefix("item ")) == ["exchange_rate"]

        # the keys are the project's: another annotator's page has them
        other = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        other.on("pageerror", lambda e: errors.append(str(e)))
        _login(other, url, "ann", "pw-ann-1!", "/projects/bank/annotate")
        ref = _wait_item(other)
        assert other.text_content("[data-label=exchange_rate] kbd") == "X"
        assert other.locator("#btn-hotkeys").count() == 0  # only admins edit them
        other.keyboard.press("x")
        other.keyboard.press("Enter")
        _wait_other_item(other, ref)
        assert _current(ws, "bank", ref.removeprefix("item ")) == ["exchange_rate"]

        # back to the defaults
        page.click("#btn-hotkeys")
        page.click("#hotkeys-reset")
        page.wait_for_selector("#hotkey-editor", state="hidden")
        assert page.text_content("[data-label=card_arrival] kbd") == "8"
        assert page.is_hidden("[data-label=exchange_rate] kbd")
        assert errors == []
        browser.close()


def test_items_page_filters_opens_an_item_with_its_history_and_comments(sqlite_workspace, tmp_path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    env = make_env(ws, tmp_path)
    ids = sorted(env.items["alpha"])
    ws.submit("alpha", ids[0], ["tech"], annotator="alpha-annotator", seconds=3.0)
    ws.submit("alpha", ids[0], ["politics"], annotator="alpha-admin", seconds=2.0)
    ws.submit("alpha", ids[1], ["sports"], annotator="alpha-annotator", seconds=1.0)
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(
            page, url, "alpha-reviewer", env.passwords["alpha-reviewer"], "/projects/alpha/items"
        )
        page.wait_for_selector("#rows tr")
        assert page.text_content("#count") == f"1\u2013{len(ids)} of {len(ids)} items"
        assert page.locator("#rows tr").count() == len(ids)

        page.select_option("select[name=status]", "labelled")  # a select applies at once
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 2")
        cells = page.locator("#rows tr").first.locator("td").all_text_contents()
        assert cells[0] == "alpha-0" and cells[2] == "politics" and cells[4] == "alpha-admin"
        page.fill("input[name=annotator]", "alpha-admin")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
        assert "annotator=alpha-admin" in page.url and "status=labelled" in page.url
        page.click("#clear")
        page.wait_for_function(f"document.querySelectorAll('#rows tr').length === {len(ids)}")

        # a confidence range in percent; every row shown lies in it
        page.fill("input[name=min_confidence]", "30")
        page.fill("input[name=max_confidence]", "40")
        page.click("#filters button[type=submit]")
        page.wait_for_function("!location.search.includes('offset') && "
                               "location.search.includes('max_confidence=0.4')")  # fmt: skip
        page.wait_for_timeout(300)
        shown = page.locator("#rows tr td:nth-child(7)").all_text_contents()
        assert all(30 <= int(c.rstrip("%")) <= 40 for c in shown)
        page.fill("input[name=min_confidence]", "90")
        page.fill("input[name=max_confidence]", "10")
        page.click("#filters button[type=submit]")
        page.wait_for_function("document.getElementById('message').textContent !== ''")
        assert "min_confidence 0.9 is over max_confidence 0.1" in page.text_content("#message")
        page.click("#clear")

        # paging
        page.select_option("select[name=limit]", "25")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 25")
        page.click("#next")
        page.wait_for_function(f"document.querySelectorAll('#rows tr').length === {len(ids) - 25}")
        assert page.text_content("#count") == f"26\u2013{len(ids)} of {len(ids)} items"
        page.click("#prev")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 25")
        page.screenshot(path=str(ARTIFACTS / "items.png"), full_page=True)

        # a row opens its item on the annotate page, with its history and comments
        page.fill("input[name=q]", "alpha-0")
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
        page.click("#rows tr td.snippet")
        page.wait_for_url(re.compile(r".*/annotate\?item=\d+.*"))
        page.wait_for_function("document.getElementById('item-ref').textContent === 'item alpha-0'")
        assert page.text_content("#item-current") == "labelled: politics"
        page.click("#item-panel summary")
        page.wait_for_selector("#history li.answer")
        answers = page.locator("#history li.answer strong").all_text_contents()
        assert answers == ["alpha-annotator: tech", "alpha-admin: politics"]
        kinds = page.eval_on_selector_all("#history li", "ls => ls.map(l => l.dataset.kind)")
        assert kinds[0] == "imported" and "model_version" in kinds
        assert "3 s" in page.locator("#history li.answer").first.text_content()
        assert "current" in page.locator("#history li.answer").last.text_content()
        page.fill("#comment-body", EVIL)
        page.keyboard.press("Tab")
        page.click("#comment-form button[type=submit]")
        page.wait_for_selector("#comments li.comment")
        assert page.text_content("#comments li.comment .body") == EVIL  # text, not markup
        assert page.locator("#comments li.comment .body *").count() == 0
        assert page.title() != "1"
        page.screenshot(path=str(ARTIFACTS / "item-history.png"), full_page=True)
        comments = ws_comments(ws, ids[0])
        assert [(c.author, c.body) for c in comments] == [("alpha-reviewer", EVIL)]

        # re-label the opened item; the queue follows
        page.keyboard.press("1")
        page.keyboard.press("Enter")
        page.wait_for_function("document.getElementById('item-ref').textContent !== 'item alpha-0'")
        assert review.item_detail(ws, "alpha", ids[0]).current == ["sports"]
        page.reload()  # the page opens alpha-0 again (?item=): its comment is there to delete
        page.wait_for_function("document.getElementById('item-ref').textContent === 'item alpha-0'")
        page.click("#item-panel summary")
        page.wait_for_selector("#comments li.comment")
        page.on("dialog", lambda d: d.accept())
        page.click("#comments li.comment button.remove")
        page.wait_for_selector("#comments li.comment", state="detached")
        assert ws_comments(ws, ids[0]) == []
        assert errors == []
        browser.close()


def ws_comments(ws: Any, item_id: int) -> list[Any]:
    from labelloop.services.annotation import comments

    return comments.list_comments(ws, "alpha", item_id)


def test_items_history_and_comments_of_a_spans_project(sqlite_workspace, tmp_path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ids = make_span_project(ws, "ner", tmp_path, SENTENCES)
    users.add_user(ws, "rev", password="pw-rev-123!", role="reviewer", project="ner")
    s1 = SENTENCES[0]
    s1_id = _item_id(ws, "ner", "s1")
    answer = [s1.span("Peter Blackburn", "PER"), s1.span("Brussels", "ORG")]
    ws.submit("ner", s1_id, answer, annotator="rev", seconds=4.0)
    app = create_app(ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, url, "rev", "pw-rev-123!", "/projects/ner/items")
        page.wait_for_selector("#rows tr")
        assert page.locator("#rows tr").count() == len(ids)
        page.select_option("select[name=label]", "ORG")  # a span with the label
        page.wait_for_function("document.querySelectorAll('#rows tr').length === 1")
        cells = page.locator("#rows tr").first.locator("td").all_text_contents()
        assert cells[2] == 'PER "Peter Blackburn" · ORG "Brussels"'
        assert cells[5].startswith('PER "Peter Blackburn" · LOC "Brussels"')
        page.screenshot(path=str(ARTIFACTS / "items-spans.png"), full_page=True)
        page.click("#rows tr td.snippet")
        page.wait_for_function("document.getElementById('item-ref').textContent === 'item s1'")
        page.wait_for_selector("#item-text .tok")
        page.click("#item-panel summary")
        page.wait_for_selector("#history li.answer")
        assert page.text_content("#history li.answer strong") == (
            'rev: PER "Peter Blackburn" · ORG "Brussels"'
        )
        page.fill("#comment-body", "Brussels is a place, not an organisation")
        page.click("#comment-form button[type=submit]")
        page.wait_for_selector("#comments li.comment")
        assert "not an organisation" in page.text_content("#comments li.comment .body")
        assert errors == []
        browser.close()
