"""Database engine settings: SQLite as a multi-user default (WAL, busy_timeout, foreign keys,
BEGIN IMMEDIATE for writes) and PostgreSQL as it comes."""

from __future__ import annotations

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _writes_expected() -> bool:
    """Requests that may write take SQLite's write lock when their transaction begins, so two
    writers queue on busy_timeout instead of failing with "database is locked" on upgrade."""
    if has_request_context():
        return request.method not in SAFE_METHODS
    return True  # command line and workers


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _writes_expected() else "BEGIN")
