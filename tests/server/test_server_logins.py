"""Issue 17, items 4 and 5: login limits that hold under concurrency, forwarded addresses, login
CSRF, and revocation of tokens and sessions that takes effect on the next request."""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import LiveServer
from server_factories import Env, make_env
from typer.testing import CliRunner

from labelloop.cli import app as cli_app
from labelloop.server import ServerSettings, create_app
from labelloop.services import users


@pytest.fixture
def env_db(workspace, tmp_path: Path) -> Env:
    """The server test environment on SQLite and on PostgreSQL."""
    return make_env(workspace, tmp_path, n=12)


def _form_token(client: httpx.Client | TestClient) -> str:
    page = client.get("/login")
    return page.text.split('name="csrf_token" value="')[1].split('"')[0]


def _login(client: httpx.Client | TestClient, name: str, password: str, **headers: str) -> int:
    token = _form_token(client)
    r = client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": token, "next": "/"},
        headers=headers,
        follow_redirects=False,
    )
    return r.status_code


def test_a_burst_of_parallel_wrong_logins_gets_no_more_than_the_limit(env_db):
    settings = ServerSettings(login_max_failures=5, background_retrain=False)
    with LiveServer(create_app(env_db.ws, settings)) as url:
        # each guesser has its login form ready, then all post at once
        clients = [httpx.Client(base_url=url, timeout=60) for _ in range(24)]
        tokens = [_form_token(c) for c in clients]
        start = threading.Barrier(len(clients))
        codes: list[int] = []
        lock = threading.Lock()

        def guess(client: httpx.Client, token: str) -> None:
            start.wait()
            r = client.post(
                "/login",
                data={"name": "root", "password": "wrong-password!", "csrf_token": token},
                follow_redirects=False,
            )
            with lock:
                codes.append(r.status_code)

        pairs = zip(clients, tokens, strict=True)
        threads = [threading.Thread(target=guess, args=pair) for pair in pairs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seen = Counter(codes)
        assert seen[401] <= 5, seen  # wrong passwords checked: never more than the limit
        assert seen[401] + seen[429] == len(clients), seen
        # once the limit is reached the right password does not get in from that address either
        with httpx.Client(base_url=url, timeout=60) as victim:
            assert _login(victim, "root", env_db.passwords["root"]) == 429
        for c in clients:
            c.close()


def test_made_up_names_never_clear_the_real_accounts_counter():
    limiter = users.LoginLimiter(max_failures=3, window=300, per_address=10**9)
    for _ in range(3):
        assert limiter.attempt("10.0.0.9", "ada") == 0
    assert limiter.attempt("10.0.0.9", "ada") > 0
    # the old limiter cleared every counter once 100,000 keys were stored
    for i in range(100_001):
        limiter.attempt("10.0.0.9", f"made-up-{i}")
    assert limiter.attempt("10.0.0.9", "ada") > 0


def test_a_guesser_does_not_lock_the_user_out_from_their_own_address(env):
    settings = ServerSettings(login_max_failures=3, background_retrain=False)
    app = create_app(env.ws, settings)
    with TestClient(app, client=("203.0.113.7", 4000)) as attacker:
        for _ in range(3):
            assert _login(attacker, "root", "wrong-password!") == 401
        assert _login(attacker, "root", env.passwords["root"]) == 429
    with TestClient(app, client=("198.51.100.2", 4000)) as owner:
        assert _login(owner, "root", env.passwords["root"]) == 303


def test_many_addresses_guessing_one_account_are_stopped_by_the_account_bucket(env):
    settings = ServerSettings(
        login_max_failures=3, login_max_per_account=6, background_retrain=False
    )
    app = create_app(env.ws, settings)
    codes = []
    for i in range(8):
        with TestClient(app, client=(f"203.0.113.{i}", 4000)) as c:
            codes.append(_login(c, "root", "wrong-password!"))
    assert codes == [401] * 6 + [429] * 2


def test_forwarded_for_is_believed_only_from_a_configured_proxy(env):
    def failures_before_refusal(settings: ServerSettings, peer: str) -> int:
        with TestClient(create_app(env.ws, settings), client=(peer, 4000)) as c:
            for n in range(10):
                xff = {"X-Forwarded-For": f"192.0.2.{n}"}
                if _login(c, "root", "wrong-password!", **xff) == 429:
                    return n
        return 10

    # no trusted proxy: a made-up X-Forwarded-For does not make every guess a new address
    assert failures_before_refusal(ServerSettings(login_max_failures=3), "127.0.0.1") == 3
    # behind a configured proxy each forwarded client has its own bucket
    trusted = ServerSettings(login_max_failures=3, trusted_proxies=["127.0.0.0/8"])
    assert failures_before_refusal(trusted, "127.0.0.1") == 10
    # a proxy that is not the configured one is not believed
    assert failures_before_refusal(trusted, "10.1.1.1") == 3


def test_serve_turns_uvicorns_own_forwarded_header_handling_off():
    from labelloop.cli.server import uvicorn_options

    # uvicorn's default believes X-Forwarded-For from 127.0.0.1
    assert uvicorn_options()["proxy_headers"] is False


def test_a_planted_login_cookie_does_not_log_the_victim_in_as_the_attacker(env):
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as victim:
        # cookie tossing: a page on another port of the host sets the login cookie to a value
        # it knows and posts the same value as the form's token
        victim.cookies.set("labelloop_login_csrf", "attacker-chosen")
        r = victim.post(
            "/login",
            data={
                "name": "root",
                "password": env.passwords["root"],
                "csrf_token": "attacker-chosen",
            },
            follow_redirects=False,
        )
        assert r.status_code == 403
        assert "labelloop_session" not in r.cookies


def test_a_login_form_posted_from_another_origin_is_refused(env):
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as attacker, TestClient(app) as victim:
        # the attacker gets a valid cookie and token pair from the server, plants the cookie
        # in the victim's browser and posts the form from their own page on another port
        token = _form_token(attacker)
        victim.cookies.set("labelloop_login_csrf", attacker.cookies["labelloop_login_csrf"])
        for headers in (
            {"Origin": "http://testserver:8081"},
            {"Origin": "null"},
            {"Sec-Fetch-Site": "same-site"},
        ):
            r = victim.post(
                "/login",
                data={"name": "root", "password": env.passwords["root"], "csrf_token": token},
                headers=headers,
                follow_redirects=False,
            )
            assert r.status_code == 403, headers
        # the server's own page still logs in (browsers send Origin with a form post)
        same = {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"}
        assert _login(victim, "root", env.passwords["root"], **same) == 303


def test_a_revoked_token_stops_working_on_the_next_request(env_db):
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        token = users.create_token(env_db.ws, "alpha-annotator", label="script")
        h = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/v1/me", headers=h).status_code == 200  # now cached
        mine = c.get("/api/v1/tokens", headers=h).json()
        assert {t["kind"] for t in mine} == {"token"}
        (entry,) = [t for t in mine if t["label"] == "script"]
        # revoked through another process's way in (the service, not this app): no cache clear
        users.revoke_token(env_db.ws, entry["id"])
        assert c.get("/api/v1/me", headers=h).status_code == 401


def test_tokens_are_listed_and_revoked_over_rest(env_db):
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        token = c.post("/api/v1/tokens", headers=env_db.auth("alpha-reviewer")).json()["token"]
        h = {"Authorization": f"Bearer {token}"}
        listed = c.get("/api/v1/tokens", headers=h).json()
        assert len(listed) == 2 and {t["user"] for t in listed} == {"alpha-reviewer"}
        # another user's tokens: hidden and not revocable, except by a superuser
        other = c.get("/api/v1/tokens", params={"user": "root"}, headers=h)
        assert other.status_code == 403
        roots = c.get("/api/v1/tokens", params={"user": "root"}, headers=env_db.auth("root"))
        assert c.delete(f"/api/v1/tokens/{roots.json()[0]['id']}", headers=h).status_code == 404
        newest = max(t["id"] for t in listed)
        assert c.delete(f"/api/v1/tokens/{newest}", headers=h).status_code == 200
        assert c.get("/api/v1/me", headers=h).status_code == 401


def test_a_role_change_takes_effect_on_the_next_request(env_db):
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        h = env_db.auth("alpha-annotator")
        assert c.get("/api/v1/projects/alpha/members", headers=h).status_code == 403
        users.set_member(env_db.ws, "alpha", "alpha-annotator", "admin")  # e.g. from the CLI
        assert c.get("/api/v1/projects/alpha/members", headers=h).status_code == 200
        users.remove_member(env_db.ws, "alpha", "alpha-annotator")
        assert c.get("/api/v1/projects/alpha", headers=h).status_code == 404


def test_a_new_password_ends_old_sessions_and_tokens(env_db):
    app = create_app(env_db.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as browser:
        assert _login(browser, "alpha-admin", env_db.passwords["alpha-admin"]) == 303
        assert browser.get("/api/v1/me").status_code == 200
        h = env_db.auth("alpha-admin")
        assert browser.get("/api/v1/me", headers=h).status_code == 200
        users.add_user(env_db.ws, "alpha-admin", password="a-new-password")
        assert browser.get("/api/v1/me").status_code == 401
        assert browser.get("/api/v1/me", headers=h).status_code == 401


def test_sessions_are_listed_and_revoked_in_the_web_ui(env):
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as laptop, TestClient(app) as phone:
        for device in (laptop, phone):
            assert _login(device, "alpha-admin", env.passwords["alpha-admin"]) == 303
        page = laptop.get("/account")
        assert page.status_code == 200 and "(this one)" in page.text
        sessions = [t for t in users.list_tokens(env.ws, "alpha-admin") if t.kind == "session"]
        assert len(sessions) == 2
        csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        phones = max(t.id for t in sessions)  # the phone logged in last
        r = laptop.post(
            f"/account/tokens/{phones}/revoke", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert r.status_code == 303
        assert phone.get("/api/v1/me").status_code == 401
        assert laptop.get("/api/v1/me").status_code == 200


def test_tokens_are_listed_and_revoked_from_the_cli(env):
    runner = CliRunner()
    base = ["--workspace", str(env.ws.path)]
    listed = runner.invoke(cli_app, [*base, "token", "list", "--user", "beta-admin", "--json"])
    assert listed.exit_code == 0, listed.output
    app = create_app(env.ws, ServerSettings(background_retrain=False))
    with TestClient(app) as c:
        assert c.get("/api/v1/me", headers=env.auth("beta-admin")).status_code == 200
        r = runner.invoke(cli_app, [*base, "token", "revoke", "--user", "beta-admin", "--all"])
        assert r.exit_code == 0, r.output
        assert "revoked 1" in r.output
        assert c.get("/api/v1/me", headers=env.auth("beta-admin")).status_code == 401
