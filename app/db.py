"""Database engine settings: SQLite as a multi-user default (WAL, busy_timeout, foreign keys,
BEGIN IMMEDIATE for writes) and PostgreSQL as it comes.

Late writes: a view marked `@late_writes` reads and checks first and takes the write lock only for
its last step (`begin_writes()`), so that concurrent editors of one report do their parsing,
validation and merging side by side and queue only for the write itself. On SQLite its first
transaction is a shared read; `begin_writes()` ends it and the next statement begins BEGIN
IMMEDIATE. (PostgreSQL callers lock the rows they change; see services/reports.lock_for_write.)"""

from __future__ import annotations

from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def late_writes(view):
    """Mark a view whose writes all happen after `begin_writes()` (place it under @route)."""
    view.late_writes = True
    return view


def _late_read_phase() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "late_writes", False) and not g.get("_write_phase", False)


def _writes_expected() -> bool:
    """Requests that may write take SQLite's write lock when their transaction begins, so two
    writers queue on busy_timeout instead of failing with "database is locked" on upgrade."""
    if has_request_context():
        return request.method not in SAFE_METHODS and not _late_read_phase()
    return True  # command line and workers


def begin_writes(session: Session | scoped_session) -> None:
    """From here on the request writes. Outside a @late_writes request this does nothing."""
    if not has_request_context() or not _late_read_phase():
        return
    if isinstance(session, scoped_session):
        session = session()
    g._write_phase = True
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a @late_writes view changed data before begin_writes()")
    if session.get_bind().dialect.name == "sqlite" and session.in_transaction():
        session.commit()  # ends the shared read; the next statement begins the write transaction


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
