"""The one locking rule's helpers (see app/db.py): a change to a report holds the report's lock
before it reads what it decides on.

On PostgreSQL that is the report's row, locked with SELECT ... FOR UPDATE. On SQLite a writing
transaction holds the database's write lock from its BEGIN IMMEDIATE, so there is nothing left to
take here."""

from __future__ import annotations

from sqlalchemy import Select, select

from app.db import writes_expected
from app.extensions import db
from app.models import Report


def _row_locks() -> bool:
    return db.engine.dialect.name == "postgresql"


def locked(stmt: Select) -> Select:
    """A SELECT of reports that takes their rows' write locks (PostgreSQL)."""
    return stmt.with_for_update(of=Report) if _row_locks() else stmt


def lock_report(report: Report) -> Report:
    """Hold `report`'s write lock to the end of the transaction and make what the session holds of
    the report current: what another writer committed before the lock was granted is read, not
    what this transaction happened to read before it asked for the lock."""
    if not _row_locks():
        if not writes_expected():
            raise RuntimeError("a change to a report in a read-only request (GET): SQLite would not hold the write lock")
        return report
    session = db.session
    session.flush()  # what this transaction changed already stays changed
    session.scalars(locked(select(Report).where(Report.id == report.id)).execution_options(populate_existing=True)).one()
    for obj in list(session.identity_map.values()):
        if obj is not report and getattr(obj, "report_id", None) == report.id:
            session.expire(obj)  # a discipline, review, member... read again after the lock
    return report
