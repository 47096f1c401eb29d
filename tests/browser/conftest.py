"""Fixtures of the browser journeys.

- `live_server`: the real app under gunicorn (1 worker, 8 threads) on 127.0.0.1 at a free port,
  APP_CONFIG=development, on a fresh SQLite file in a temp dir - or, when TEST_DATABASE_URL is a
  PostgreSQL URL, on that database (its `public` schema is dropped and rebuilt first, as
  tests/conftest.py does; nothing is restored after). `flask db upgrade` and the demo data
  (app/demo.py) come first. Package scope: the server stops as soon as the last journey is done,
  before the rest of the suite rebuilds that schema for itself.
- `browser`: Debian's Chromium (/usr/bin/chromium) through Playwright; never downloaded.
- `open_as(email)`: a fresh browser context signed in through the real login form.
- `api(email)`: a JSON API client of that user, to arrange a report's state.
- On failure, a screenshot of every page the test opened goes to test-artifacts/browser/
  (BROWSER_SCREENSHOTS=all: after every journey, to look at the pages).

Without Chromium or Playwright the journeys are skipped, loudly; REQUIRE_BROWSER=1 turns the skip
into an error.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser.support import Api
from tests.conftest import SUITE_CLOCK_OFFSET_DAYS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")  # Debian's; never downloaded
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]
ENABLE_HINT = "apt-get install -y --no-install-recommends chromium"
HERE = Path(__file__).resolve().parent


def _why_unavailable() -> str | None:
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"Chromium is missing at {CHROMIUM}")
    try:
        import playwright.sync_api  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install
        problems.append(f"Playwright for Python cannot be imported ({exc.__class__.__name__}: {exc})")
    if not problems:
        return None
    return (
        "BROWSER TESTS NOT RUN: " + "; ".join(problems) + ". "
        f"Enable them with `{ENABLE_HINT}` (and `.venv/bin/pip install -r requirements-dev.txt` for Playwright; "
        "never `playwright install`). Set REQUIRE_BROWSER=1 to make this an error."
    )


UNAVAILABLE = _why_unavailable()
REQUIRED = os.environ.get("REQUIRE_BROWSER", "") == "1"


def _in_this_package(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    """Without a browser: skip with the reason (or, under REQUIRE_BROWSER=1, let the `browser`
    fixture raise an error for every journey)."""
    if not UNAVAILABLE or REQUIRED:
        return
    marker = pytest.mark.skip(reason=UNAVAILABLE)
    for item in items:
        if _in_this_package(item):
            item.add_marker(marker)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not UNAVAILABLE:
        return
    reports = terminalreporter.stats.get("skipped", []) + terminalreporter.stats.get("error", [])
    if not any("tests/browser/" in getattr(r, "nodeid", "").replace("\\", "/") for r in reports):
        return
    line = "!" * 100
    terminalreporter.write_line(line, red=True, bold=True)
    terminalreporter.write_line(UNAVAILABLE, red=True, bold=True)
    terminalreporter.write_line(line, red=True, bold=True)


# ---------------------------------------------------------------------------------------- reports
@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """A failed journey leaves a screenshot of each of its pages in test-artifacts/browser/."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not (report.failed or os.environ.get("BROWSER_SCREENSHOTS") == "all"):
        return
    pages = getattr(item, "_browser_pages", [])
    if not pages:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)
    saved = []
    for i, (label, page) in enumerate(pages):
        path = ARTIFACTS / (f"{name}.png" if i == 0 else f"{name}-{i + 1}-{label}.png")
        try:
            page.screenshot(path=str(path), full_page=True, timeout=5000)
            saved.append(f"{path.relative_to(ROOT)}  ({label}, {page.url})")
        except Exception as exc:  # a crashed page must not hide the real failure
            saved.append(f"{path.relative_to(ROOT)}: no screenshot ({exc.__class__.__name__}: {exc})")
    server = getattr(item, "_live_server", None)
    if server is not None and server.log.exists():
        shutil.copyfile(server.log, ARTIFACTS / "server.log")
        saved.append(f"{(ARTIFACTS / 'server.log').relative_to(ROOT)}  (the server's log so far)")
    report.sections.append(("browser artifacts", "\n".join(saved)))


# ------------------------------------------------------------------------------------ the server
@dataclass
class LiveServer:
    url: str
    database_url: str
    log: Path
    process: subprocess.Popen


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _database_url(tmp: Path) -> str:
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url.startswith(("postgresql", "postgres://")):
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://"):]
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://"):]
        return url
    return f"sqlite:///{tmp / 'browser.db'}"


def _reset_postgres_schema(url: str) -> None:
    """The same reset as tests/conftest.py: drop and recreate `public`; restore nothing after."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def _run(args: list[str], env: dict, log: Path) -> None:
    started = time.monotonic()
    with log.open("a") as out:
        out.write(f"$ {' '.join(args)}\n")
        out.flush()
        done = subprocess.run(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=120)
        out.write(f"(exit {done.returncode}, {time.monotonic() - started:.1f} s)\n")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}):\n{_tail(log)}")


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_until_serving(url: str, process: subprocess.Popen, log: Path, timeout: float = 30.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    host, port = url.rsplit("//", 1)[1].split(":")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                pass
            with opener.open(url + "/login", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer on {url} within {timeout:.0f} s:\n{_tail(log)}")


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM if pytest dies without its teardown (kill -9, a timeout)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - elsewhere the teardown alone stops it
        pass


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)  # gunicorn's arbiter and its worker (its own group)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


# What `flask seed-demo` does, with argon2's light test parameters (PASSWORD_HASH_FAST, as in
# TestingConfig): the hashes stay argon2id, but every sign-in, token and signature of the journeys
# then costs milliseconds instead of ~0.5 s each. The server runs the development configuration
# unchanged (argon2 reads the parameters from the stored hash).
SEED = """
from app import create_app
from app.demo import load_demo
from app.extensions import db
app = create_app(PASSWORD_HASH_FAST=True)
with app.app_context():
    load_demo()
    db.session.commit()
print("demo data loaded (fast password hashes)")
"""


@pytest.fixture(scope="session")
def browser_available():
    if UNAVAILABLE:
        if REQUIRED:
            pytest.fail("REQUIRE_BROWSER=1: " + UNAVAILABLE, pytrace=False)
        pytest.skip(UNAVAILABLE)


def _start(tmp: Path, database_url: str, days_ahead: int = 0) -> LiveServer:
    """Migrate, load the demo and serve - all of it with the app's clock `days_ahead` of the
    suite's (CLOCK_OFFSET_DAYS, see tests/conftest.py)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "APP_CONFIG": "development",
        "FLASK_APP": "wsgi",
        "INSTANCE_PATH": str(tmp),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "LOGIN_RATE_LIMIT": "1000 per minute",
        "BASE_URL": url,
        "REDIS_URL": "",
        "STORAGE_URL": "",
        "SMTP_HOST": "",
        "WEBHOOK_ALLOW_PRIVATE": "1",  # the journeys' webhook receiver listens on 127.0.0.1
        "PYTHONUNBUFFERED": "1",
        "CLOCK_OFFSET_DAYS": str(SUITE_CLOCK_OFFSET_DAYS + days_ahead),
    }
    log = tmp / "server.log"
    _run([sys.executable, "-m", "flask", "db", "upgrade"], env, log)
    _run([sys.executable, "-c", SEED], env, log)
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", "1", "--threads", "8", "--worker-class", "gthread",
             "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "3", "wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )
    try:
        _wait_until_serving(url, process, log)
    except BaseException:
        _stop(process)
        raise
    return LiveServer(url=url, database_url=database_url, log=log, process=process)


@pytest.fixture(scope="package")
def live_server(browser_available, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser-instance")
    database_url = _database_url(tmp)
    if database_url.startswith("postgresql"):
        _reset_postgres_schema(database_url)
    server = _start(tmp, database_url)
    try:
        yield server
    finally:
        _stop(server.process)


# The demo and the pages a year and a month from now: the server (and the demo it loads) runs with
# its clock FUTURE_DAYS ahead (CLOCK_OFFSET_DAYS moves app.models.base.utcnow, the app's one clock).
FUTURE_DAYS = 400


@pytest.fixture(scope="package")
def future_server(browser_available, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("future-instance")
    database_url, drop = _database_url(tmp), None
    if database_url.startswith("postgresql"):  # its own database: the package's live server keeps `public`
        database_url, drop = _new_postgres_database(database_url)
    server = _start(tmp, database_url, days_ahead=FUTURE_DAYS)
    try:
        yield server
    finally:
        _stop(server.process)
        if drop:
            drop()


def _new_postgres_database(url: str):
    from sqlalchemy import create_engine, text

    name = f"wb_future_{secrets.token_hex(5)}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()

    return url.rsplit("/", 1)[0] + "/" + name, drop


# ----------------------------------------------------------------------------------- the browser
@pytest.fixture(scope="package")
def browser(browser_available):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _on_dialog(dialog) -> None:
    # "Leave the page with unsaved changes?" (static/js/app.js): a person leaving means it.
    if dialog.type == "beforeunload":
        dialog.accept()
    else:
        dialog.dismiss()


def _signed_in_pages(request, browser, server):
    """open(email) -> a page of a fresh browser context (its own cookies) on `server`, signed in
    through the real form at /login and showing the dashboard; the contexts close afterwards."""
    from playwright.sync_api import expect

    from tests.browser.support import DEMO_PASSWORD, login

    expect.set_options(timeout=10_000)
    contexts = []
    request.node._browser_pages = pages = []  # for the screenshots of a failure
    request.node._live_server = server

    def open_page(email: str, password: str = DEMO_PASSWORD, locale: str = "en-GB"):
        """`locale` is the browser's language (Accept-Language): de-DE or zh-CN see those pages."""
        context = browser.new_context(base_url=server.url, locale=locale, timezone_id="UTC", viewport={"width": 1366, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", _on_dialog)
        pages.append((email.split("@")[0], page))
        login(page, email, password, locale[:2])
        return page

    return open_page, contexts


@pytest.fixture
def open_as(request, browser, live_server):
    """open_as(email) -> a signed-in page of the package's live server."""
    open_page, contexts = _signed_in_pages(request, browser, live_server)
    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def open_future_as(request, browser, future_server):
    """The same on the server whose clock runs FUTURE_DAYS ahead."""
    open_page, contexts = _signed_in_pages(request, browser, future_server)
    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="package")
def _tokens():
    return {}


@pytest.fixture
def api(live_server, _tokens):
    """api(email) -> a JSON API client of that user (one token per user and server)."""

    def client(email: str) -> Api:
        if email not in _tokens:
            _tokens[email] = Api(live_server.url, email)
        return _tokens[email]

    return client
