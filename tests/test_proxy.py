"""Behind nginx (PROXY_COUNT=1) each client keeps its own address - for the sign-in budgets, the
sessions and the security log - instead of all sharing the proxy's. Without it the forwarded
header is ignored, since a client talking to gunicorn directly could forge it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from app import create_app
from config import TestingConfig


@pytest.fixture
def one_window():
    """The budgets count per calendar minute: start at the top of one (the clock still ticks)."""
    now = dt.datetime.now(dt.UTC)  # the budgets read time.time(), the machine's clock
    with time_machine.travel(now.replace(second=0, microsecond=0) + dt.timedelta(minutes=1), tick=True):
        yield


def _app(tmp_path, proxies: int):
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / f'p{proxies}.db'}", INSTANCE_PATH=str(tmp_path),
                     LOGIN_RATE_LIMIT="2 per minute", PROXY_COUNT=proxies)
    with app.app_context():
        from app.extensions import db

        db.create_all()
    return app


def _token_tries(app, address: str, n: int) -> list[int]:
    client = app.test_client()
    return [client.post("/api/v1/tokens", json={"email": f"nobody{i}@{address}.example", "password": "wrong-password-8d"},
                        headers={"X-Forwarded-For": address}, environ_base={"REMOTE_ADDR": "127.0.0.1"}).status_code
            for i in range(n)]


def test_behind_one_proxy_each_forwarded_client_has_its_own_sign_in_budget(tmp_path, one_window):
    app = _app(tmp_path, proxies=1)
    assert _token_tries(app, "203.0.113.7", 3) == [401, 401, 429]
    assert _token_tries(app, "198.51.100.9", 1) == [401]  # another client behind the same proxy


def test_without_a_proxy_the_forwarded_header_is_not_believed(tmp_path, one_window):
    app = _app(tmp_path, proxies=0)
    assert _token_tries(app, "203.0.113.7", 2) == [401, 401]
    assert _token_tries(app, "198.51.100.9", 1) == [429]  # the same address (127.0.0.1), whatever the header says


def test_behind_a_proxy_the_forwarded_scheme_is_https(tmp_path):
    app = _app(tmp_path, proxies=1)
    seen = {}

    @app.get("/_scheme")
    def _scheme():
        from flask import request

        seen["scheme"], seen["addr"] = request.scheme, request.remote_addr
        return "ok"

    app.test_client().get("/_scheme", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"})
    assert seen == {"scheme": "https", "addr": "203.0.113.7"}
