"""Password reset by e-mail: same answer whether or not the address exists, a signed link that
expires and works once, the password policy on the new password."""

from __future__ import annotations

import datetime as dt
import re

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, User
from tests.conftest import csrf_from, login


def _request(client, email):
    page = client.get("/password/forgot").get_data(as_text=True)
    return client.post("/password/forgot", data={"email": email, "csrf_token": csrf_from(page)})


def _link() -> str:
    row = db.session.scalars(select(OutboxMessage).where(OutboxMessage.event == "account.password_reset")).all()[-1]
    return re.search(r"(/password/reset/[^\s\"]+)", row.body_text).group(1)


def test_reset_link_works_once(app, parties, client):
    p = parties
    known = _request(client, p.sup_eng.email).get_data(as_text=True)
    unknown = _request(client, "nobody@nowhere.example").get_data(as_text=True)
    assert "If the address belongs to an account" in known and "If the address belongs to an account" in unknown
    assert db.session.scalar(select(db.func.count()).select_from(OutboxMessage).where(OutboxMessage.event == "account.password_reset")) == 1
    link = _link()
    page = client.get(link).get_data(as_text=True)
    weak = client.post(link, data={"csrf_token": csrf_from(page), "password": "short", "confirm": "short"})
    assert weak.status_code == 422
    ok = client.post(link, data={"csrf_token": csrf_from(page), "password": "a-brand-new-long-password", "confirm": "a-brand-new-long-password"})
    assert ok.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, p.sup_eng.id).check_password("a-brand-new-long-password")
    assert client.get(link).status_code == 400  # used: the password it was bound to is gone
    login(client, p.sup_eng, "a-brand-new-long-password")


def test_reset_link_expires(app, parties, client):
    _request(client, parties.sup_eng2.email)
    link = _link()
    with time_machine.travel(dt.timedelta(hours=2)):  # relative to now
        assert client.get(link).status_code == 400
    assert client.get(link[:-3] + "abc").status_code == 400
