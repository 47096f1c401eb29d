"""Signing in does the same work for an unknown e-mail as for a known one: exactly one password
verification (against a dummy hash made once per process), no hashing - so the time it takes
tells nobody whether an account exists. (The times themselves are measured by the benchmark,
bench/login_timing.py: tests assert the work done, never the clock.)"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from tests.conftest import PASSWORD, csrf_from


@pytest.fixture
def argon2_calls(monkeypatch):
    calls = {"hash": 0, "verify": 0}
    real_hash, real_verify = PasswordHasher.hash, PasswordHasher.verify

    def counting_hash(self, *args, **kwargs):
        calls["hash"] += 1
        return real_hash(self, *args, **kwargs)

    def counting_verify(self, *args, **kwargs):
        calls["verify"] += 1
        return real_verify(self, *args, **kwargs)

    monkeypatch.setattr(PasswordHasher, "hash", counting_hash)
    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    return calls


def _token(client, email, password):
    return client.post("/api/v1/tokens", json={"email": email, "password": password}).status_code


def _form(client, email, password):
    page = client.get("/login").get_data(as_text=True)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page)}).status_code


@pytest.mark.parametrize("door", [_token, _form], ids=["api", "form"])
def test_every_failed_sign_in_costs_exactly_one_verification_and_no_hashing(app, parties, argon2_calls, door):
    client = app.test_client()
    assert door(client, "warm-up@nowhere.example", "whatever-password") == 401  # the dummy hash is made once, on first use
    deactivated = parties.oem_eng2
    from app.extensions import db

    deactivated.active = False
    db.session.commit()
    cases = {
        "unknown e-mail": ("nobody@nowhere.example", "whatever-password"),
        "known e-mail, wrong password": (parties.sup_eng.email, "wrong-password-8d"),
        "deactivated account": (deactivated.email, PASSWORD),
    }
    if door is _token:
        cases["unknown e-mail, empty password"] = ("nobody@nowhere.example", "")
        cases["known e-mail, empty password"] = (parties.sup_eng.email, "")
    for case, (email, password) in cases.items():
        argon2_calls.update(hash=0, verify=0)
        assert door(client, email, password) == 401, case
        assert argon2_calls == {"hash": 0, "verify": 1}, f"{case}: {argon2_calls}"
