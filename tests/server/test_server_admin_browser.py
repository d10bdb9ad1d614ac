"""Project administration in real headless Chromium: create a project, import with a progress
bar and errors by line, members and roles, export in every format, API tokens, delete items and
the project (each with its confirmation step)."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from live_server import ARGS, ARTIFACTS, CHROMIUM, LiveServer, playwright_or_skip
from server_factories import Env, make_env

from factories import topic_texts, write_csv
from labelloop.server import ServerSettings, create_app
from labelloop.services import users

pytestmark = pytest.mark.browser


@contextmanager
def _browser(env: Env, user: str) -> Iterator[tuple[Any, str, list[str]]]:
    """A page logged in as ``user`` on a live server over ``env``; JS errors collected."""
    playwright = playwright_or_skip()
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with LiveServer(app) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # bypass_csp: our CSP forbids eval, which Playwright's wait_for_function uses
        context = browser.new_context(
            viewport={"width": 1200, "height": 900}, bypass_csp=True, accept_downloads=True
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/login")
        page.fill("input[name=name]", user)
        page.fill("input[name=password]", env.passwords[user])
        page.keyboard.press("Enter")
        page.wait_for_url(f"{url}/")
        try:
            yield page, url, errors
        finally:
            browser.close()


def _rows(n: int, *, words: int = 1) -> list[dict[str, str]]:
    return [
        {"id": f"n-{i}", "text": " ".join([text] * words)}
        for i, (text, _) in enumerate(topic_texts(n, seed=11))
    ]


def test_create_a_project_then_import_with_progress_and_errors(sqlite_workspace, tmp_path):
    env = make_env(sqlite_workspace, tmp_path, n=6)
    ws = env.ws
    with _browser(env, "root") as (page, _url, errors):
        page.click("#new-project-link")
        page.wait_for_url("**/projects/new")
        # the backbone list is the catalog's, each one described
        options = page.locator("#backbone option")
        assert "fake" in options.all_inner_texts()
        page.select_option("#backbone", "fake")
        assert page.text_content("#backbone-help").strip() != ""
        page.fill("#name", "news")
        page.check("#multi_label")
        page.fill("#labels", "Sports: games, teams, athletes\nTech: computers and phones\nPolitics")
        page.click("summary")  # the settings, each with its meaning
        help_text = page.text_content('[data-field="settings.retrain_every"] .help')
        assert "retrain after this many new or changed labels" in help_text
        assert "a whole number from 1 to 1000000" in help_text
        page.fill("#setting-retrain_every", "0")
        page.select_option("#setting-strategy", "entropy")
        page.click("#btn-create")
        # the server's message shows next to the field it is about; nothing is created
        slot = '[data-error-for="settings.retrain_every"]'
        page.wait_for_function(f"document.querySelector('{slot}').textContent !== ''")
        assert "greater than or equal to 1" in page.text_content(slot)
        assert "has-error" in (
            page.get_attribute('[data-field="settings.retrain_every"]', "class") or ""
        )
        page.screenshot(path=str(ARTIFACTS / "admin-new-project-error.png"), full_page=True)
        assert "news" not in [p.name for p in ws.list_projects()]
        page.fill("#setting-retrain_every", "5")
        page.click("#btn-create")
        page.wait_for_url("**/projects/news/settings#import")
        info = ws.project("news")
        assert info.labels == ["Sports", "Tech", "Politics"] and info.multi_label
        assert info.backbone == "fake"
        assert info.descriptions == {
            "Sports": "games, teams, athletes",
            "Tech": "computers and phones",
        }
        assert info.settings["retrain_every"] == 5 and info.settings["strategy"] == "entropy"
        assert users.list_members(ws, "news") == {"root": "admin"}

        # a bad file: nothing imported, the error names its line and field
        bad_rows = [("a", "fine"), ("b", ""), ("c", "fine too"), ("d", "")]
        bad = write_csv(tmp_path / "bad.csv", [{"id": i, "text": t} for i, t in bad_rows])
        page.set_input_files("#import-file", str(bad))
        page.fill("#import-id-field", "id")
        page.click("#btn-import")
        page.wait_for_selector("#import-errors li")
        entries = page.locator("#import-errors li").all_inner_texts()
        assert [e.split(":")[0] for e in entries] == ["line 3, field text", "line 5, field text"]
        assert "text is empty" in entries[0]
        assert ws.status("news").items == 0
        page.screenshot(path=str(ARTIFACTS / "admin-import-error.png"), full_page=True)

        # a 1.5 MB file over a throttled link: the bar moves while it uploads
        big = write_csv(tmp_path / "big.csv", _rows(1500, words=20))
        assert big.stat().st_size > 1_000_000
        cdp = page.context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 5, "downloadThroughput": -1, "uploadThroughput": 400_000},
        )
        page.set_input_files("#import-file", str(big))
        page.click("#btn-import")
        seen: list[str] = []
        for _ in range(400):
            text = page.text_content("#upload-text") or ""
            if text and (not seen or seen[-1] != text):
                seen.append(text)
            if "Imported" in (page.text_content("#import-message") or ""):
                break
            page.wait_for_timeout(25)
        unthrottled = {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
        cdp.send("Network.emulateNetworkConditions", {"offline": False, **unthrottled})
        partial = [t for t in seen if t.startswith("uploading") and "(100%)" not in t]
        assert len(partial) >= 2, seen  # the bar stood at two or more points short of the end
        assert "importing" in " ".join(seen)
        page.wait_for_function(
            "document.getElementById('import-message').textContent.startsWith('Imported')"
        )
        assert page.text_content("#import-message").startswith("Imported 1500 rows: 1500 new items")
        assert page.is_hidden("#import-errors")
        assert ws.status("news").items == 1500
        page.screenshot(path=str(ARTIFACTS / "admin-import-done.png"), full_page=True)

        # settings saved from the settings page; a bad value is refused next to its field
        page.fill("#setting-gold_rate", "1.5")
        page.click("#btn-save")
        slot = '[data-error-for="settings.gold_rate"]'
        page.wait_for_function(f"document.querySelector('{slot}').textContent !== ''")
        assert "less than or equal to 1" in page.text_content(slot)
        page.fill("#setting-gold_rate", "0.1")
        page.fill('input.description[data-label="Politics"]', "elections, parliament")
        page.click("#btn-save")
        page.wait_for_function(
            "document.getElementById('project-message').textContent.startsWith('Saved')"
        )
        info = ws.project("news")
        assert info.settings["gold_rate"] == 0.1 and info.settings["retrain_every"] == 5
        assert info.descriptions["Politics"] == "elections, parliament"
    assert errors == []


def test_members_export_and_deleting_items_and_the_project(sqlite_workspace, tmp_path):
    env = make_env(sqlite_workspace, tmp_path, n=12)
    ws = env.ws
    with _browser(env, "alpha-admin") as (page, url, errors):
        page.goto(f"{url}/projects/alpha/settings")
        page.wait_for_selector('#member-table tr[data-user="alpha-annotator"]')
        assert page.input_value('select.member-role[data-user="alpha-reviewer"]') == "reviewer"
        # add a member, change a role, remove one
        page.fill("#member-name", "beta-admin")
        page.select_option("#member-role", "reviewer")
        page.click("#btn-add-member")
        page.wait_for_selector('#member-table tr[data-user="beta-admin"]')
        page.select_option('select.member-role[data-user="alpha-reviewer"]', "annotator")
        page.wait_for_function(
            "document.getElementById('member-message').textContent.includes('is now annotator')"
        )
        page.click('button.remove-member[data-user="alpha-annotator"]')
        page.wait_for_selector('#member-table tr[data-user="alpha-annotator"]', state="detached")
        assert users.list_members(ws, "alpha") == {
            "alpha-admin": "admin", "alpha-reviewer": "annotator", "beta-admin": "reviewer",
        }  # fmt: skip
        page.fill("#member-name", "nobody")
        page.click("#btn-add-member")
        page.wait_for_function(
            "document.getElementById('member-message').textContent.includes('no user named')"
        )
        page.screenshot(path=str(ARTIFACTS / "admin-settings.png"), full_page=True)

        # export in every format the form offers
        formats = page.locator("#export-format option").all_inner_texts()
        assert {"jsonl", "csv", "parquet", "hf", "labelstudio"} <= set(formats)
        assert not {"conll", "spacy"} & set(formats)  # span formats, not for classification
        for fmt in formats:
            page.select_option("#export-format", fmt)
            with page.expect_download() as info:
                page.click("#btn-export")
            download = info.value
            path = tmp_path / download.suggested_filename
            download.save_as(path)
            ext = {"labelstudio": "json", "hf": "hf.zip", "label-studio-config": "xml"}
            assert download.suggested_filename == f"alpha.{ext.get(fmt, fmt)}"
            data = path.read_bytes()
            if fmt == "jsonl":
                assert len(data.splitlines()) == 12
            elif fmt == "labelstudio":
                assert len(json.loads(data)) == 12
            elif fmt == "csv":
                assert len(data.decode().strip().splitlines()) == 13
            elif fmt == "parquet":
                import pyarrow.parquet as pq

                assert pq.read_table(io.BytesIO(data)).num_rows == 12
            elif fmt == "hf":
                assert any(
                    n.endswith("dataset_info.json") for n in zipfile.ZipFile(path).namelist()
                )
            else:  # the Label Studio labelling config
                assert data.decode().lstrip().startswith("<View")

        # delete items: choose, see the confirmation, cancel, then confirm
        page.wait_for_selector("#item-table tbody tr")
        assert page.locator("#item-table tbody tr").count() == 12
        ids = [int(x) for x in page.locator("#item-table tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.id)")]  # fmt: skip
        page.check(f'input.pick[data-id="{ids[0]}"]')
        page.check(f'input.pick[data-id="{ids[3]}"]')
        assert page.text_content("#btn-delete-items") == "Delete selected (2)"
        page.click("#btn-delete-items")
        assert page.is_visible("#confirm-items")
        assert f"Delete 2 items (id {ids[0]}, {ids[3]})" in page.text_content("#confirm-items-text")
        page.click("#btn-cancel-items")
        assert ws.status("alpha").items == 12
        page.click("#btn-delete-items")
        page.click("#btn-confirm-items")
        page.wait_for_function(
            "document.getElementById('items-message').textContent.startsWith('Deleted 2 items')"
        )
        page.wait_for_function("document.querySelectorAll('#item-table tbody tr').length === 10")
        assert ws.status("alpha").items == 10
        # a search narrows the list
        page.fill("#item-text", "n-zzz-no-such")
        page.click("#btn-search")
        page.wait_for_function("document.getElementById('item-count').textContent === 'no items'")

        # delete the project: the button waits for its name
        page.fill("#confirm-name", "alph")
        assert page.is_disabled("#btn-delete-project")
        page.fill("#confirm-name", "alpha")
        page.click("#btn-delete-project")
        page.wait_for_url("**/?deleted=alpha")
        assert "Project alpha was deleted." in page.text_content("#deleted-banner")
        assert [p.name for p in ws.list_projects()] == ["beta"]
        page.screenshot(path=str(ARTIFACTS / "admin-deleted.png"))
    assert errors == []


def test_tokens_and_who_sees_the_settings(sqlite_workspace, tmp_path):
    env = make_env(sqlite_workspace, tmp_path, n=4)
    with _browser(env, "alpha-reviewer") as (page, url, errors):
        # only admins have the settings page (and its tab)
        page.goto(f"{url}/projects/alpha/review")
        assert page.locator("nav.tabs >> text=Settings").count() == 0
        response = page.goto(f"{url}/projects/alpha/settings")
        assert response is not None and response.status == 403
        assert page.locator("#new-project-link").count() == 0
        response = page.goto(f"{url}/projects/new")
        assert response is not None and response.status == 403

        page.goto(f"{url}/account")
        page.fill("#token-label", "nightly import")
        page.click("#btn-create-token")
        page.wait_for_selector("#token-secret")
        secret = page.text_content("#token-secret").strip()
        assert secret.startswith("llt_")
        page.screenshot(path=str(ARTIFACTS / "admin-token.png"), full_page=True)
        me = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert me.status_code == 200 and me.json()["name"] == "alpha-reviewer"
        # shown once: the list names it, the page no longer holds it
        page.goto(f"{url}/account")
        assert page.locator("#token-secret").count() == 0
        row = page.locator("table.tokens tr", has_text="nightly import")
        assert row.count() == 1
        row.locator("button", has_text="Revoke").click()
        page.wait_for_url(f"{url}/account")
        assert page.locator("table.tokens tr", has_text="nightly import").count() == 0
        gone = httpx.get(f"{url}/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert gone.status_code == 401
    assert errors == []
