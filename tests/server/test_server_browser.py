"""The web UI in real headless Chromium: log in, annotate by keyboard, undo, see the dashboard."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip
from server_factories import make_env

from labelloop.server import ServerSettings, create_app
from labelloop.services.data.importing import ImportOptions


@pytest.mark.browser
def test_annotate_by_keyboard_undo_and_dashboard(sqlite_workspace, tmp_path):
    playwright = playwright_or_skip()
    env = make_env(sqlite_workspace, tmp_path)
    sqlite_workspace.import_file(
        "alpha", _evil_csv(tmp_path), ImportOptions(id_field="id")
    )  # an item whose text is HTML must show as text
    app = create_app(sqlite_workspace, ServerSettings())
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # bypass_csp: our CSP forbids eval, which Playwright's wait_for_function uses
        page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/projects/alpha/annotate")
        assert "/login" in page.url
        page.screenshot(path=str(ARTIFACTS / "login.png"))
        page.fill("input[name=name]", "alpha-admin")
        page.fill("input[name=password]", env.passwords["alpha-admin"])
        page.keyboard.press("Enter")
        page.wait_for_url("**/projects/alpha/annotate")
        page.wait_for_function("document.getElementById('item-text').textContent !== 'Loading…'")
        page.screenshot(path=str(ARTIFACTS / "annotate.png"))
        # the task's widget answers it: classification shows one choice button per label
        assert page.get_attribute("#annotate", "data-widget") == "choices"
        assert page.locator("#labels button.label").count() == len(
            sqlite_workspace.project("alpha").labels
        )
        seen = []
        for i in range(5):
            ref = page.text_content("#item-ref")
            seen.append(ref)
            if i % 2:
                page.keyboard.press("2")  # pick another label, then confirm
                assert "selected" in (page.get_attribute("button.label >> nth=1", "class") or "")
            page.keyboard.press("Enter")
            page.wait_for_function(f"document.getElementById('item-ref').textContent !== {ref!r}")
        assert len(set(seen)) == 5
        page.wait_for_function("document.getElementById('counter').textContent.startsWith('5 ')")
        page.keyboard.press("z")
        page.wait_for_function("document.getElementById('counter').textContent.startsWith('4 ')")
        assert page.text_content("#item-ref") == seen[-1]  # the undone item is back
        assert page.locator("#item-text *").count() == 0  # text only, never markup
        page.screenshot(path=str(ARTIFACTS / "annotate-after-undo.png"))
        page.goto(f"{url}/projects/alpha/dashboard")
        assert page.text_content("#stat-labelled").strip() == "4"
        page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        page.goto(f"{url}/projects/alpha/review")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
        page.goto(f"{url}/")
        page.screenshot(path=str(ARTIFACTS / "projects.png"))
        browser.close()
        assert errors == []


def _evil_csv(folder: Path) -> Path:
    from factories import write_csv

    text = '<img src=x onerror="document.title=1"><b>bold?</b> sports match goal'
    return write_csv(folder / "evil.csv", [{"id": "evil-1", "text": text}])
