"""Password reset by e-mail: same answer whether or not the address exists, a signed link that
expires and works once, the password policy on the new password - and the link's key in no log:
it travels in the URL's fragment, which no browser sends, and in the form's body."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import requests
import time_machine
from sqlalchemy import create_engine, select, text

from app.extensions import db
from app.models import OutboxMessage, User
from tests.conftest import csrf_from, login
from tests.support.live_server import LiveServer


def _request(client, email):
    page = client.get("/password/forgot").get_data(as_text=True)
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf_from(page)})


def _link() -> str:
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.event == "account.password_reset")).all()[-1]
    return re.search(r"(/password/reset#[^\s\"]+)", row.body_text).group(1)


def _reset(client, link: str, password: str, confirm: str | None = None, token: str | None = None):
    """What the page does: the browser asks for the path alone (a fragment is never sent) and the
    form posts the key from the fragment."""
    path, key = link.split("#", 1)
    page = client.get(path)
    assert page.status_code == 200
    return client.post(path, data={"csrf_token": csrf_from(page.get_data(as_text=True)), "token": key if token is None else token,
                                   "password": password, "confirm": password if confirm is None else confirm})


def test_reset_link_works_once(app, parties, client):
    p = parties
    known = _request(client, p.sup_eng.email).get_data(as_text=True)
    unknown = _request(client, "nobody@nowhere.example").get_data(as_text=True)
    assert "If the address belongs to an account" in known and "If the address belongs to an account" in unknown
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "account.password_reset")) == 1
    link = _link()
    assert _reset(client, link, "short").status_code == 422
    assert _reset(client, link, "a-brand-new-long-password", confirm="something-else-entirely").status_code == 422
    ok = _reset(client, link, "a-brand-new-long-password")
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, p.sup_eng.id).check_password("a-brand-new-long-password")
    assert _reset(client, link, "yet-another-long-password").status_code == 400  # used: the password it was bound to is gone
    login(client, p.sup_eng, "a-brand-new-long-password")


def test_the_whole_link_can_be_pasted_instead(app, parties, client):
    _request(client, parties.sup_eng.email)
    link = _link()
    assert _reset(client, link, "a-brand-new-long-password", token="https://8d.example.com" + link).status_code == 302


def test_reset_link_expires(app, parties, client):
    _request(client, parties.sup_eng2.email)
    link = _link()
    with time_machine.travel(dt.timedelta(hours=2)):  # relative to now
        assert _reset(client, link, "a-brand-new-long-password").status_code == 400
    assert _reset(client, link[:-3] + "abc", "a-brand-new-long-password").status_code == 400
    assert _reset(client, link, "a-brand-new-long-password", token="").status_code == 400


def test_the_reset_key_is_in_no_log_of_the_live_server(tmp_path):
    """A reset through gunicorn with its access log on: the key is neither in the access log
    (request lines, Referer) nor in the security log nor in any other log of the instance."""
    server = LiveServer(tmp_path).start()
    try:
        web = requests.Session()
        page = web.get(f"{server.url}/password/forgot", timeout=30)
        r = web.post(f"{server.url}/password/forgot", data={"email": "tim.berger@celltech.example", "csrf_token": csrf_from(page.text)}, timeout=30)
        assert r.status_code == 200
        engine = create_engine(server.env["DATABASE_URL"])
        with engine.connect() as conn:
            body = conn.execute(text("SELECT body_text FROM outbox_message WHERE event = 'account.password_reset'")).scalar_one()
        engine.dispose()
        link = re.search(r"(https?://\S+/password/reset#\S+)", body).group(1)
        path, key = link.split("#", 1)
        assert len(key) > 40
        page = web.get(path, timeout=30)  # a browser never sends the fragment
        web.get(f"{server.url}/static/js/app.js", headers={"Referer": page.url}, timeout=30)
        r = web.post(path, data={"csrf_token": csrf_from(page.text), "token": key, "password": "a-brand-new-long-password",
                                 "confirm": "a-brand-new-long-password"}, headers={"Referer": page.url}, timeout=30, allow_redirects=False)
        assert r.status_code == 302
        token = requests.post(f"{server.url}/api/v1/tokens", json={"email": "tim.berger@celltech.example", "password": "a-brand-new-long-password"}, timeout=30)
        assert token.status_code == 201  # the reset happened
    finally:
        server.stop()
    access_log = server.server_log()
    assert "POST /password/reset " in access_log and "GET /password/reset " in access_log, access_log[-2000:]
    logs = {"access log": access_log}
    logs.update({str(p): p.read_text(errors="replace") for p in Path(server.env["INSTANCE_PATH"]).rglob("*.log*") if p.is_file()})
    assert any(name.endswith("security.log") for name in logs), list(logs)
    signature = key.rsplit(".", 1)[-1]  # the part of the key nobody can make up
    for name, content in logs.items():
        assert key not in content and signature not in content, f"the reset key is in the {name}"
