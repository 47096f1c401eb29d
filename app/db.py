"""Database engine settings: SQLite as a multi-user default (WAL, busy_timeout, foreign keys,
BEGIN IMMEDIATE for writes) and PostgreSQL as it comes.

Late writes: a view marked `@late_writes` reads and checks first and takes the write lock only for
its last step (`begin_writes()`), so that concurrent editors of one report do their parsing,
validation and merging side by side and queue only for the write itself. On SQLite its first
transaction is a shared read; `begin_writes()` ends it and the next statement begins BEGIN
IMMEDIATE. (PostgreSQL callers lock the rows they change; see services/reports._write_state.)"""

from __future__ import annotations

import os
import threading
import time

try:
    import fcntl
except ImportError:  # not on Windows: there SQLite's busy handler alone queues the writers
    fcntl = None

from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, scoped_session

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
WRITER_WAIT = 10.0  # seconds a thread waits for its process's SQLite writer mutex


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

    # Writers queue for SQLite's write lock before they ask for it: threads of one process on a
    # mutex, processes on a file lock (`<database>.writer`, tried every 0.2 ms). SQLite's own busy
    # handler, still there behind it, polls with sleeps of 1, 2, 5, 10... ms, which under contention
    # costs more than the writes (bench R7). Both are released as soon as the COMMIT is done (or
    # the rollback, or - should those be missed - when the connection goes back to the pool).
    writer = threading.Lock()
    lock_path = engine.url.database + ".writer" if engine.url.database not in (None, "", ":memory:") and fcntl else None
    lock_files: dict[int, object] = {}  # per process: a lock file opened before a fork is shared

    def _lock_file():
        if lock_path is None:
            return None
        pid = os.getpid()
        if pid not in lock_files:
            try:
                lock_files[pid] = open(lock_path, "a+b")  # noqa: SIM115 - held for the process's life
            except OSError:
                lock_files[pid] = None  # e.g. a read-only directory: SQLite's busy handler alone
        return lock_files[pid]

    def _acquire() -> bool:
        if not writer.acquire(timeout=WRITER_WAIT):
            return False
        lock_file = _lock_file()
        if lock_file is None:
            return True
        deadline = time.monotonic() + WRITER_WAIT
        while True:  # other processes: the kernel's lock, tried every 0.2 ms (a far finer step than SQLite's)
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    writer.release()
                    return False
                time.sleep(0.0002)

    def _release(conn_or_record) -> None:
        if conn_or_record.info.pop("sqlite_writer", False):
            lock_file = _lock_file()
            if lock_file is not None:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
            writer.release()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        if not _writes_expected():
            conn.exec_driver_sql("BEGIN")
            return
        if _acquire():  # on timeout, SQLite's busy handler decides
            conn.info["sqlite_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    @event.listens_for(engine, "commit")
    def _on_commit(conn):
        if conn.info.get("sqlite_writer"):
            conn.connection.driver_connection.execute("COMMIT")  # done now, so the next writer finds the lock free
            _release(conn)

    @event.listens_for(engine, "rollback")
    def _on_rollback(conn):
        if conn.info.get("sqlite_writer"):
            try:
                conn.connection.driver_connection.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - not in a transaction any more; SQLAlchemy's own rollback follows
                pass
            _release(conn)
    event.listen(engine.pool, "checkin", lambda _dbapi, record: _release(record))


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
