"""Database engine settings and the one locking rule for writes.

The rule: a transaction that may write holds the lock of what it changes before it reads the
values it decides on, and holds it to its commit.

- SQLite has one lock, the database's: a request that may write (any method but GET, HEAD and
  OPTIONS; the command line and the workers alike) begins its transaction with BEGIN IMMEDIATE, so
  it takes the write lock before its first read, and no writer fails with "database is locked"
  when a read transaction tries to become a write one. A writer that finds the lock taken asks
  again every WRITER_STEP seconds for up to BUSY_TIMEOUT_MS: SQLite's own busy handler (still the
  generous busy_timeout of every other statement) sleeps 1, 2, 5, 10 ... 100 ms between tries, which
  with a few editors on one report made the slowest saves wait several times longer than the
  lock was held (bench/RESULTS.md, "Save latency"). Reads begin a deferred transaction and never
  wait (WAL).
- PostgreSQL locks rows: a change to a report locks the report's row first
  (`app.services.locking.lock_report`, SELECT ... FOR UPDATE); everything of the report is read
  after that, so two saves of one report take turns and the second sees the first's commit.
"""

from __future__ import annotations

import sqlite3
import time

from flask import current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for SQLite's write lock before "database is locked"
WRITER_STEP = 0.0005  # seconds between a waiting writer's tries for the write lock


def writes_expected() -> bool:
    """Whether the current transaction may write: every request but a safe one, and everything
    outside a request (command line, outbox worker)."""
    if has_request_context():
        return request.method not in SAFE_METHODS
    return True


def _sqlite_connect(engine: Engine):
    def on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # the driver leaves BEGIN to us (see _sqlite_begin)
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    return on_connect


def _sqlite_begin(conn) -> None:
    if not writes_expected():
        conn.exec_driver_sql("BEGIN")
        return
    dbapi = conn.connection.driver_connection
    dbapi.execute("PRAGMA busy_timeout=0")  # this one statement waits here, in fine steps
    try:
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        while True:
            try:
                dbapi.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(WRITER_STEP)
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def configure_engine(engine: Engine) -> None:
    """SQLite: foreign keys, WAL, a generous busy_timeout, and BEGIN IMMEDIATE for writers.
    PostgreSQL needs nothing here (its writers lock rows, see the module's docstring)."""
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _sqlite_connect(engine))
    event.listen(engine, "begin", _sqlite_begin)


def end_session(_exc=None) -> None:
    """End the request's session even when its connection died after the response was made (the
    database restarted, a failover): the transaction went with the connection, the response
    stands. Otherwise the failed ROLLBACK would turn a finished request into gunicorn's 500."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from app.extensions import db

    try:
        db.session.remove()
    except (OperationalError, InterfaceError) as exc:
        current_app.logger.warning("database connection lost while ending the session: %s", str(exc).splitlines()[0][:200])
        db.session.registry.clear()
