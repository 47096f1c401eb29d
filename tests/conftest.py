"""Fixtures: an app on SQLite (a temp file) or on PostgreSQL (TEST_DATABASE_URL), clean tables
per test, factories for companies and users, and helpers to log in through the real form or to
call the API with a token."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db as _db
from app.services import accounts
from config import TestingConfig

PASSWORD = "correct-horse-battery-8d"

# The whole suite can run as if it were N days later: `CLOCK_OFFSET_DAYS=400 make test`. The app's
# one clock (app.models.base.utcnow) moves - here and in every server the tests start, which read
# the same variable - so every date a test or the demo wrote down meets a later "today". Tests
# compute their dates from that clock (utcnow().date()), never from the machine's.
SUITE_CLOCK_OFFSET_DAYS = int(os.environ.get("CLOCK_OFFSET_DAYS") or 0)


def pytest_configure(config):
    from app.models.base import set_clock_offset

    set_clock_offset(SUITE_CLOCK_OFFSET_DAYS)


def pytest_report_header(config):
    if SUITE_CLOCK_OFFSET_DAYS:
        return f"clock: {SUITE_CLOCK_OFFSET_DAYS} days ahead (CLOCK_OFFSET_DAYS)"


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("instance")
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=_database_url(tmp), INSTANCE_PATH=str(tmp))
    with app.app_context():
        _reset_schema()
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


def _reset_schema() -> None:
    if _db.engine.dialect.name == "postgresql":
        with _db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        _db.drop_all()
    _db.create_all()


@pytest.fixture(autouse=True)
def _clean_tables(request):
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    yield
    with app.app_context():
        _db.session.remove()
        tables = [t.name for t in reversed(_db.metadata.sorted_tables)]
        with _db.engine.begin() as conn:
            if _db.engine.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield
        _db.session.remove()


@pytest.fixture
def db(ctx):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_company(ctx):
    counter = {"n": 0}

    def make(kind: str = "supplier", name: str | None = None):
        counter["n"] += 1
        company = accounts.create_company(None, name or f"{kind.title()} Company {counter['n']}", kind)
        _db.session.commit()
        return company

    return make


@pytest.fixture
def make_user(ctx, make_company):
    counter = {"n": 0}

    def make(role: str = "engineer", company=None, name: str | None = None, email: str | None = None, password: str = PASSWORD,
             platform_admin: bool = False):
        counter["n"] += 1
        company = company or make_company("supplier")
        user = accounts.create_user(None, email or f"user{counter['n']}@{re.sub(r'[^a-z0-9]+', '', company.name.lower())}.example",
                                    name or f"User {counter['n']}", company.id, role, password, platform_admin=platform_admin)
        _db.session.commit()
        return user

    return make


def csrf_from(html: str) -> str:
    m = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def login(client, user_or_email, password: str = PASSWORD):
    """Log in through the real login form (CSRF token included)."""
    email = getattr(user_or_email, "email", user_or_email)
    page = client.get("/login")
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.get_data(as_text=True))})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def logout(client):
    """Sign out as a user does: the /logout page's button (a POST with its CSRF token)."""
    page = client.get("/logout")
    if page.status_code != 200:
        return page
    return client.post("/logout", data={"csrf_token": csrf_from(page.get_data(as_text=True))})


class Api:
    """A token-authenticated API client for one user."""

    def __init__(self, client, token: str | None):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def __getattr__(self, method):
        def call(path, json=None, **kw):
            headers = {**self.headers, **kw.pop("headers", {})}
            return getattr(self.client, method)(path, json=json, headers=headers, **kw)

        return call


@pytest.fixture
def api(client):
    def make(user=None, password: str = PASSWORD) -> Api:
        if user is None:
            return Api(client, None)
        response = client.post("/api/v1/tokens", json={"email": user.email, "password": password})
        assert response.status_code == 201, response.get_json()
        return Api(client, response.get_json()["token"])

    return make


@pytest.fixture
def platform_admin(make_company, make_user):
    """The operator of the platform: a platform admin in a company that is party to no report."""
    operator = make_company("supplier", "8D Workbench Operations")
    return make_user("admin", operator, "Platform Operator", "operator@8d-workbench.example", platform_admin=True)


@pytest.fixture
def parties(make_company, make_user):
    """The usual cast: an OEM and its supplier with people of every role, plus another supplier."""
    oem = make_company("oem", "Volta Motors AG")
    supplier = make_company("supplier", "CellTech Modules GmbH")
    other = make_company("supplier", "Nordpack Systems AB")

    class P:
        pass

    p = P()
    p.oem, p.supplier, p.other = oem, supplier, other
    p.admin = make_user("admin", oem, "Ada Admin")
    p.oem_lead = make_user("quality_lead", oem, "Thomas Richter")
    p.oem_eng = make_user("engineer", oem, "Jana Weber")
    p.oem_eng2 = make_user("engineer", oem, "Otto Off-Team")
    p.oem_viewer = make_user("viewer", oem, "Vera Viewer")
    p.sup_lead = make_user("quality_lead", supplier, "Petra Vogel")
    p.sup_eng = make_user("engineer", supplier, "Lukas Brandt")
    p.sup_eng2 = make_user("engineer", supplier, "Mia Schulz")
    p.other_eng = make_user("engineer", other, "Sven Lind")
    return p
