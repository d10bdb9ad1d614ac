"""Users and project membership as one use-case with the project they belong to."""

from __future__ import annotations

import pytest

from labelloop.errors import Conflict, NotFound
from labelloop.services import users


def test_create_project_with_admin_stores_the_project_and_the_membership(workspace):
    users.add_user(workspace, "ada", password="long-enough-pw")
    info = users.create_project_with_admin(workspace, "news", admin="ada", labels=["a", "b"])
    assert info.name == "news" and info.labels == ["a", "b"]
    assert users.list_members(workspace, "news") == {"ada": "admin"}


def test_an_unknown_admin_leaves_no_project(workspace):
    with pytest.raises(NotFound, match="nobody"):
        users.create_project_with_admin(workspace, "news", admin="nobody", labels=["a", "b"])
    assert workspace.list_projects() == []


def test_a_failed_membership_rolls_the_project_back(workspace, monkeypatch):
    users.add_user(workspace, "ada", password="long-enough-pw")

    def fail(*args, **kwargs):
        raise Conflict("the membership could not be stored")

    monkeypatch.setattr(users, "_set_member", fail)
    with pytest.raises(Conflict, match="membership"):
        users.create_project_with_admin(workspace, "news", admin="ada", labels=["a", "b"])
    assert workspace.list_projects() == []
    assert users.authenticate(workspace, "ada", "long-enough-pw").roles == {}


def test_a_sessions_csrf_token_is_its_signature_under_the_server_secret():
    from itsdangerous import BadSignature, Signer

    secret, other = b"s" * 32, b"t" * 32
    token = users.csrf_token(secret, "session-a")
    assert token == users.csrf_token(secret, "session-a")  # nothing to store
    assert token != users.csrf_token(secret, "session-b")
    assert token != users.csrf_token(other, "session-a")
    signer = Signer(
        secret, salt="labelloop-session-csrf", digest_method=__import__("hashlib").sha256
    )
    assert signer.unsign(f"session-a.{token}".encode()) == b"session-a"
    with pytest.raises(BadSignature):
        signer.unsign(f"session-b.{token}".encode())
