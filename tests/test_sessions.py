"""Browser sessions are server-side facts, not just cookies: signing in starts a new session (no
fixation), signing out ends it on the server (the old cookie is worthless), and deactivating a
user ends their open sessions and tokens at once."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.models import ApiToken, LoginSession
from tests.conftest import PASSWORD, csrf_from, login, logout


def _cookie(client) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie else None


def _session_data(app, cookie: str) -> dict:
    return app.session_interface.get_signing_serializer(app).loads(cookie)


def _replay(app, cookie: str, path: str = "/"):
    """A fresh browser that presents a saved session cookie."""
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get(path)


def _to_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login"


def _signed_in(response) -> bool:
    return response.status_code == 200


@pytest.fixture
def engineer(parties):
    return parties.sup_eng


# ------------------------------------------------------------------------------------- sign in
def test_login_starts_a_new_session_with_a_new_cookie(app, client, db, engineer):
    client.get("/login")
    before = _cookie(client)
    assert before and "sid" not in _session_data(app, before)
    login(client, engineer)
    after = _cookie(client)
    assert after != before
    sid = _session_data(app, after)["sid"]
    record = db.session.get(LoginSession, sid)
    assert record.user_id == engineer.id and record.ended_at is None
    assert _signed_in(client.get("/"))
    # the cookie from before signing in does not carry the login (no session fixation)
    assert _to_login(_replay(app, before))


def test_each_login_gets_its_own_session_id(app, db, engineer):
    first, second = app.test_client(), app.test_client()
    login(first, engineer)
    login(second, engineer)
    sid1, sid2 = (_session_data(app, _cookie(c))["sid"] for c in (first, second))
    assert sid1 != sid2 and len(sid1) >= 32
    # logging in again in the same browser replaces the session id too
    logout(first)
    login(first, engineer)
    sid3 = _session_data(app, _cookie(first))["sid"]
    assert sid3 not in (sid1, sid2)


def test_a_forged_session_id_does_not_sign_anyone_in(app, db, engineer):
    client = app.test_client()
    login(client, engineer)
    data = _session_data(app, _cookie(client))
    forged = app.session_interface.get_signing_serializer(app).dumps({**data, "sid": "not-a-session-id"})
    assert _to_login(_replay(app, forged))


def test_login_with_a_wrong_password_starts_no_session(app, client, db, engineer):
    page = client.get("/login")
    response = client.post("/login", data={"email": engineer.email, "password": "not-the-password", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 401
    assert db.session.scalars(select(LoginSession).where(LoginSession.user_id == engineer.id)).all() == []
    assert _to_login(client.get("/"))


# ------------------------------------------------------------------------------------ sign out
def test_logout_ends_the_session_on_the_server(app, db, engineer):
    client = app.test_client()
    login(client, engineer)
    cookie = _cookie(client)
    sid = _session_data(app, cookie)["sid"]
    assert _signed_in(_replay(app, cookie))
    # a GET of /logout (a link, or another site's image tag) changes nothing: it asks
    page = client.get("/logout")
    assert page.status_code == 200 and "Sign out of 8D Workbench?" in page.get_data(as_text=True)
    assert _signed_in(client.get("/"))
    # without the CSRF token the POST is refused too
    assert client.post("/logout", data={}).status_code == 400
    assert _signed_in(client.get("/"))
    response = logout(client)
    assert _to_login(response)
    assert _to_login(client.get("/"))
    # replaying the cookie saved before logging out gets the login page, for every page
    for path in ("/", "/account", "/reports/new"):
        assert _to_login(_replay(app, cookie, path)), path
    db.session.expire_all()
    assert db.session.get(LoginSession, sid).ended_at is not None


def test_logout_ends_only_that_session(app, db, engineer):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, engineer)
    login(phone, engineer)
    logout(laptop)
    assert _to_login(laptop.get("/"))
    assert _signed_in(phone.get("/"))


def test_a_replayed_cookie_cannot_use_the_api_after_logout(app, db, engineer):
    client = app.test_client()
    login(client, engineer)
    cookie = _cookie(client)
    replay = app.test_client()
    replay.set_cookie("session", cookie)
    assert replay.get("/api/v1/me").status_code == 200
    logout(client)
    assert replay.get("/api/v1/me").status_code == 401


# --------------------------------------------------------------------------------- deactivation
def test_deactivation_ends_open_browser_sessions_and_tokens_at_once(app, db, api, parties):
    p = parties
    victim = p.oem_eng2  # a user of the admin's own company
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, victim)
    login(phone, victim)
    cookie = _cookie(laptop)
    token = api(victim)
    assert _signed_in(laptop.get("/")) and _signed_in(phone.get("/"))
    assert token.get("/api/v1/me").status_code == 200

    off = api(p.admin).patch(f"/api/v1/admin/users/{victim.id}", json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False

    # at once: the very next request of each open session is refused
    assert _to_login(laptop.get("/"))
    assert _to_login(phone.get("/account"))
    assert _to_login(_replay(app, cookie))
    assert token.get("/api/v1/me").status_code == 401
    db.session.expire_all()
    assert all(s.ended_at is not None for s in db.session.scalars(select(LoginSession).where(LoginSession.user_id == victim.id)))
    assert all(t.revoked_at is not None for t in db.session.scalars(select(ApiToken).where(ApiToken.user_id == victim.id)))
    # and no new ones
    refused = app.test_client()
    response = refused.post("/login", data={"email": victim.email, "password": PASSWORD, "csrf_token": csrf_from(refused.get("/login").get_data(as_text=True))})
    assert response.status_code == 401
    assert app.test_client().post("/api/v1/tokens", json={"email": victim.email, "password": PASSWORD}).status_code == 401


def test_reactivation_does_not_revive_old_sessions_or_tokens(app, db, api, parties):
    p = parties
    victim = p.oem_eng2  # a user of the admin's own company
    client = app.test_client()
    login(client, victim)
    cookie = _cookie(client)
    token = api(victim)
    admin = api(p.admin)
    assert admin.patch(f"/api/v1/admin/users/{victim.id}", json={"active": False}).status_code == 200
    assert admin.patch(f"/api/v1/admin/users/{victim.id}", json={"active": True}).status_code == 200
    assert _to_login(_replay(app, cookie))
    assert token.get("/api/v1/me").status_code == 401
    fresh = app.test_client()
    login(fresh, victim)  # signing in again works
    assert _signed_in(fresh.get("/"))


def test_deactivation_on_the_admin_page_ends_sessions_too(app, db, parties):
    p = parties
    victim = p.oem_eng
    victim_client = app.test_client()
    login(victim_client, victim)
    admin = app.test_client()
    login(admin, p.admin)
    page = admin.get(f"/admin/users/{victim.id}")
    response = admin.post(f"/admin/users/{victim.id}", data={"name": victim.name, "role": "engineer", "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302  # the unticked "active" box deactivates
    assert _to_login(victim_client.get("/"))


def test_a_password_reset_ends_sessions_and_tokens(app, db, api, parties):
    p = parties
    victim = p.oem_eng2  # a user of the admin's own company
    client = app.test_client()
    login(client, victim)
    token = api(victim)
    r = api(p.admin).patch(f"/api/v1/admin/users/{victim.id}", json={"password": "a-brand-new-password-8d"})
    assert r.status_code == 200, r.get_json()
    assert _to_login(client.get("/"))
    assert token.get("/api/v1/me").status_code == 401
