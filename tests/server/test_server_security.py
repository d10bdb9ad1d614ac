"""Escaping, CSRF, cookies, login rate limiting, size limits, path traversal."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from conftest import login
from labelloop.server import ServerSettings, create_app
from labelloop.services import users


def test_login_sets_safe_cookie_and_logout_ends_the_session(client, env):
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={
            "name": "alpha-annotator",
            "password": env.passwords["alpha-annotator"],
            "csrf_token": token,
            "next": "/projects/alpha/annotate",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/projects/alpha/annotate"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    assert client.get("/projects/alpha/annotate", follow_redirects=False).status_code == 200
    home = client.get("/")
    csrf = home.text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    )
    assert client.get("/", follow_redirects=False).status_code == 303


def test_cookie_is_secure_over_https(env):
    with TestClient(create_app(env.ws), base_url="https://testserver") as c:
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post(
            "/login",
            data={"name": "root", "password": env.passwords["root"], "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "secure" in r.headers["set-cookie"].lower()


def test_open_redirect_after_login_is_refused(client, env):
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = client.post(
        "/login",
        data={
            "name": "root",
            "password": env.passwords["root"],
            "csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert r.headers["location"] == "/"


def test_login_without_form_token_is_refused(client, env):
    r = client.post("/login", data={"name": "root", "password": env.passwords["root"]})
    assert r.status_code == 403


def test_state_changes_by_cookie_need_the_csrf_token(client, env):
    csrf = login(client, "alpha-annotator", env.passwords["alpha-annotator"])
    item = client.get("/api/v1/projects/alpha/next").json()["items"][0]
    body = {"item_id": item["item_id"], "value": "tech"}
    r = client.post("/api/v1/projects/alpha/annotations", json=body)
    assert r.status_code == 403
    assert "CSRF" in r.json()["error"]["message"]
    r = client.post(
        "/api/v1/projects/alpha/annotations", json=body, headers={"X-CSRF-Token": "0" * 64}
    )
    assert r.status_code == 403
    r = client.post("/api/v1/projects/alpha/annotations", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    # logout is a state change too
    assert client.post("/logout", follow_redirects=False).status_code == 403


def test_login_rate_limit(env):
    app = create_app(env.ws, ServerSettings(login_max_failures=3, login_window_seconds=60))
    with TestClient(app) as c:
        for _ in range(3):
            page = c.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            r = c.post(
                "/login", data={"name": "root", "password": "wrong-password", "csrf_token": token}
            )
            assert r.status_code == 401
        page = c.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        r = c.post(
            "/login",
            data={"name": "root", "password": env.passwords["root"], "csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) > 0


def test_html_in_names_and_messages_is_escaped(client, env):
    users.add_user(
        env.ws, "<script>x</script>", password="pw-evil-user!", role="annotator", project="alpha"
    )
    login(client, "<script>x</script>", "pw-evil-user!")
    page = client.get("/projects/alpha/annotate")
    assert "<script>x</script>" not in page.text
    assert "&lt;script&gt;x&lt;/script&gt;" in page.text
    missing = client.get("/projects/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E/annotate")
    assert missing.status_code == 404
    assert "<img src=x" not in missing.text
    assert "Content-Security-Policy" in page.headers


def test_item_html_is_returned_as_data_not_markup(client, env, tmp_path):
    from factories import write_csv

    evil = '<img src=x onerror="alert(1)"><script>alert(2)</script>'
    env.ws.import_file("alpha", write_csv(tmp_path / "evil.csv", [{"text": evil}]))
    r = client.get("/api/v1/projects/alpha/suggestions?limit=500", headers=env.auth("root"))
    assert r.headers["content-type"].startswith("application/json")
    # the annotate page never renders item text on the server; the JS sets textContent
    js = client.get("/static/annotate.js").text
    assert "innerHTML" not in js and "textContent = LL.itemText" in js


def test_oversized_body_is_refused(client, env, settings):
    big = {"item_id": 1, "value": "x" * (settings.max_body_bytes + 10)}
    r = client.post("/api/v1/projects/alpha/annotations", json=big, headers=env.auth("root"))
    assert r.status_code == 413
    assert r.json()["error"]["type"] == "PayloadTooLarge"


def test_oversized_field_is_refused(client, env):
    item = env.items["alpha"][0]
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("root"),
        json={"item_id": item, "value": "y" * 500},
    )
    assert r.status_code == 413


def test_oversized_upload_is_refused(client, env, settings):
    data = b"text\n" + b"a" * (settings.max_upload_bytes + 1)
    r = client.post(
        "/api/v1/projects/alpha/import",
        headers=env.auth("alpha-admin"),
        files={"file": ("big.csv", data, "text/csv")},
    )
    assert r.status_code == 413
    small = b"text\nfresh upload one\nfresh upload two\n"
    r = client.post(
        "/api/v1/projects/alpha/import",
        headers=env.auth("alpha-admin"),
        files={"file": ("small.csv", small, "text/csv")},
    )
    assert r.status_code == 201, r.text
    assert r.json()["items_added"] == 2


def _set_media(env, item_id: int, media_path: str) -> None:
    from labelloop.store import Item

    with env.ws.transaction() as session:
        session.get(Item, item_id).media_path = media_path


def test_media_route_refuses_path_traversal(client, env):
    media = Path(env.ws.path) / "media"
    media.mkdir(exist_ok=True)
    (media / "cat.png").write_bytes(b"\x89PNG fake")
    secret = Path(env.ws.path) / "server-secret"
    ok, bad, absolute = env.items["alpha"][:3]
    _set_media(env, ok, "cat.png")
    _set_media(env, bad, "../server-secret")
    _set_media(env, absolute, str(secret))
    h = env.auth("root")
    assert (
        client.get(f"/api/v1/projects/alpha/items/{ok}/media", headers=h).content == b"\x89PNG fake"
    )
    for item in (bad, absolute):
        r = client.get(f"/api/v1/projects/alpha/items/{item}/media", headers=h)
        assert r.status_code == 404
        assert secret.read_text() not in r.text
    r = client.get("/static/..%2F..%2Fserver%2Fapp.py")
    assert r.status_code == 404


def test_errors_have_one_shape(client, env):
    r = client.get("/api/v1/projects/alpha/next?n=0", headers=env.auth("root"))
    assert r.status_code == 422
    assert set(r.json()) == {"error"}
    error = r.json()["error"]
    assert (
        {"type", "message"}
        <= set(error)
        <= {"type", "message", "field", "line", "reason", "errors"}
    )
    assert error["field"] == "n" and error["reason"]
    r = client.post(
        "/api/v1/projects/alpha/annotations",
        headers=env.auth("root"),
        json={"item_id": env.items["alpha"][0], "value": "no-such-label"},
    )
    assert r.status_code == 422
    assert r.json()["error"]["type"] == "InvalidInput"
    assert "unknown label" in r.json()["error"]["message"]
