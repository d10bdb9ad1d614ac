"""The annotate page of a multi-label project in real headless Chromium: "None applies" (button
or key N) submits an answer with no label, which is not a skip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip

from factories import topic_texts, write_csv
from labelloop.server import ServerSettings, create_app
from labelloop.services import users
from labelloop.services.data.importing import ImportOptions


@pytest.mark.browser
def test_none_applies_by_key_and_by_button(sqlite_workspace, tmp_path: Path):
    playwright = playwright_or_skip()
    ws = sqlite_workspace
    ws.create_project("multi", labels=["sports", "tech", "politics"], multi_label=True,
                      backbone="fake")  # fmt: skip
    rows = [{"text": t} for t, _ in topic_texts(6, seed=3)]
    ws.import_file("multi", write_csv(tmp_path / "m.csv", rows), ImportOptions())
    ws.predict("multi")
    users.add_user(ws, "root", password="pw-root!!", superuser=True)
    app = create_app(ws, ServerSettings())
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/projects/multi/annotate")
        page.fill("input[name=name]", "root")
        page.fill("input[name=password]", "pw-root!!")
        page.keyboard.press("Enter")
        page.wait_for_url("**/projects/multi/annotate")
        page.wait_for_function("document.getElementById('item-text').textContent !== 'Loading…'")
        assert page.locator("#btn-none").is_visible()

        first = page.text_content("#item-ref")
        page.keyboard.press("1")  # a label, then "none applies" replaces it
        page.keyboard.press("n")
        assert "selected" in (page.get_attribute("#btn-none", "class") or "")
        assert "selected" not in (page.get_attribute("button.label >> nth=0", "class") or "")
        page.screenshot(path=str(ARTIFACTS / "multilabel-none.png"))
        page.keyboard.press("Enter")
        page.wait_for_function(f"document.getElementById('item-ref').textContent !== {first!r}")

        second = page.text_content("#item-ref")
        page.click("#btn-none")
        page.click("#btn-submit")
        page.wait_for_function(f"document.getElementById('item-ref').textContent !== {second!r}")
        browser.close()
    assert errors == []
    status = ws.status("multi")
    assert status.labelled == 2 and sum(status.label_counts.values()) == 0
    ws.export("multi", tmp_path / "out.jsonl")
    exported = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    none = [row for row in exported if row["label"] == []]
    assert len(none) == 2 and all(row["provenance"]["annotator"] == "root" for row in none)
