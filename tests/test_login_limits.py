"""Sign-in budgets hold across processes without Redis - they are counted in the database - and
the login form and `POST /api/v1/tokens` spend one per-account budget together."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import requests
import time_machine
from sqlalchemy import func, select

from app.models import LoginBudget
from tests.conftest import PASSWORD, csrf_from
from tests.support.live_server import LiveServer


def _form_login(app, email: str, password: str, address: str) -> int:
    client = app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": address})
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.get_data(as_text=True))},
                       environ_base={"REMOTE_ADDR": address}).status_code


def _api_login(app, email: str, password: str, address: str) -> int:
    return app.test_client().post("/api/v1/tokens", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address}).status_code


@pytest.fixture
def one_window():
    """The budgets count per calendar minute: these tests start at the top of a minute (the
    clock still ticks), so that no window ends between their attempts."""
    now = dt.datetime.now(dt.UTC)  # the budgets read time.time(), the machine's clock
    with time_machine.travel(now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1), tick=True):
        yield


def test_the_login_form_and_the_api_spend_one_budget_per_account(app, parties, monkeypatch, one_window):
    """Four wrong passwords, two through each door and each from another address: the fifth
    attempt is refused at either door, the right password included; other accounts go on."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "4 per minute")
    victim = parties.sup_eng.email
    tries = [_form_login(app, victim, "wrong-password-1", "10.0.0.1"), _api_login(app, victim, "wrong-password-2", "10.0.0.2"),
             _form_login(app, victim, "wrong-password-3", "10.0.0.3"), _api_login(app, victim, "wrong-password-4", "10.0.0.4")]
    assert tries == [401, 401, 401, 401]
    assert _api_login(app, victim, PASSWORD, "10.0.0.5") == 429
    assert _form_login(app, victim.upper(), PASSWORD, "10.0.0.6") == 429  # the same account, however it is spelled
    assert _api_login(app, parties.sup_eng2.email, PASSWORD, "10.0.0.7") == 201


def test_one_address_has_one_budget_for_all_accounts(app, parties, monkeypatch, one_window):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3 per minute")
    statuses = [_api_login(app, f"nobody{i}@nowhere.example", "wrong-password", "10.9.9.9") for i in range(3)]
    assert statuses == [401, 401, 401]
    assert _form_login(app, parties.sup_eng.email, PASSWORD, "10.9.9.9") == 429
    assert _form_login(app, parties.sup_eng.email, PASSWORD, "10.9.9.10") == 302


def test_password_reset_requests_have_a_budget_per_address(app, parties, monkeypatch, one_window):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    client = app.test_client()
    token = csrf_from(client.get("/password/forgot").get_data(as_text=True))
    statuses = [client.post("/password/forgot", data={"email": parties.sup_eng.email, "csrf_token": token}).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_a_budget_comes_back_after_its_window_and_old_counters_are_dropped(app, db, parties, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "2 per minute")
    with time_machine.travel(dt.datetime(2030, 1, 1, 12, 0, 5, tzinfo=dt.UTC), tick=False) as clock:
        assert [_api_login(app, "nobody@nowhere.example", "wrong-password", "10.1.1.1") for _ in range(3)] == [401, 401, 429]
        assert db.session.scalar(select(func.count()).select_from(LoginBudget)) == 2  # the account and the address
        clock.shift(dt.timedelta(minutes=2))
        assert _api_login(app, "other@nowhere.example", "wrong-password", "10.1.1.2") == 401
        db.session.expire_all()
        assert set(db.session.scalars(select(LoginBudget.key))) == {"account:other@nowhere.example", "login:10.1.1.2"}
        assert _api_login(app, "nobody@nowhere.example", "wrong-password", "10.1.1.1") == 401


def test_two_server_processes_on_one_database_share_the_budget(tmp_path):
    """Two gunicorn processes (two machines, as far as they know) behind one database, the
    attempts alternating between them: the limit holds for both together, it is not doubled."""
    env = {"LOGIN_RATE_LIMIT": "3 per minute", "EMBEDDED_WORKER": "0"}
    first = LiveServer(tmp_path / "one", workers=1, threads=2, extra_env=env, seed=False).start()
    try:
        second = LiveServer(tmp_path / "two", workers=1, threads=2, extra_env=env, seed=False, database_of=first).start()
        try:
            left = 60 - time.time() % 60  # the budget's window is a calendar minute: stay inside one
            if left < 15:
                time.sleep(left + 0.5)
            statuses = [requests.post(f"{server.url}/api/v1/tokens", json={"email": "nobody@nowhere.example", "password": "wrong-password"},
                                      timeout=30).status_code
                        for server in (first, second, first, second, first, second)]
        finally:
            second.stop()
    finally:
        first.stop()
    assert statuses == [401, 401, 401, 429, 429, 429]
