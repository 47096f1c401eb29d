"""The one locking rule (app/db.py): a write holds its lock before it reads what it decides on.

SQLite: a request that may write begins with BEGIN IMMEDIATE, so nothing can commit between its
first read and its commit; reads never wait; writers queue in SQLite's busy handler and none fails
with "database is locked". PostgreSQL: a discipline save checks its values without a lock, then
locks the report's row (services/locking.py) and reads the discipline: what another user
committed before the lock - a save, a closure - is seen, nothing is lost and nothing is written
into a closed report. Driven through the API."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError

from app.db import configure_engine, writes_expected
from app.extensions import db
from app.models import AuditEvent, DisciplineEntry, Report, Status
from app.services import disciplines, reports, team


# ------------------------------------------------------------------------------- SQLite's engine
@pytest.fixture
def engine(tmp_path):
    eng = create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    configure_engine(eng)
    with eng.begin() as conn:
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER)"))
    yield eng
    eng.dispose()


def _other_writer(path) -> bool:
    """Whether a second connection that does not wait can write at once."""
    import sqlite3

    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        conn.close()


def test_writers_take_turns_in_the_busy_handler_and_nothing_is_lost(engine):
    failures: list[Exception] = []

    def work(i: int) -> None:
        try:
            for _ in range(50):
                with engine.begin() as conn:  # outside a request: a writer, BEGIN IMMEDIATE
                    n = conn.execute(text("SELECT count(*) FROM t")).scalar()
                    conn.execute(text("INSERT INTO t (n) VALUES (:n)"), {"n": n})
        except OperationalError as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    with engine.connect() as conn:
        # each writer read the count under the write lock: 300 distinct values, none read twice
        assert conn.execute(text("SELECT count(*), count(DISTINCT n) FROM t")).one() == (300, 300)


def test_a_writing_request_holds_the_lock_from_its_first_read_and_a_reading_one_never(app, engine, tmp_path):
    path = tmp_path / "w.db"
    with app.test_request_context(method="POST"):
        assert writes_expected()
        with engine.begin() as conn:
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            assert not _other_writer(path)  # nobody commits between this read and the commit
        assert _other_writer(path)  # given back at the commit
    with app.test_request_context(method="GET"):
        assert not writes_expected()
        with engine.connect() as conn, conn.begin():
            conn.execute(text("SELECT count(*) FROM t")).scalar()
            assert _other_writer(path)  # a read holds no write lock (WAL: nor does it wait)
    conn = engine.connect()
    conn.begin()
    conn.execute(text("INSERT INTO t (n) VALUES (2)"))
    conn.close()  # back to the pool without COMMIT: rolled back, the lock given back
    assert _other_writer(path)


# ------------------------------------------------------------------------ a save and its meanwhile
@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Locking", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.sup_eng2.id, "member")
    db.session.commit()
    return r


def _meanwhile(monkeypatch, statement) -> dict:
    """Try to commit `statement` on a connection of its own, without waiting, after the save has
    read the report and checked its values; {"committed": bool} says whether it could."""
    original = disciplines.clean_values
    outcome: dict = {}

    def clean_then_interfere(*args, **kwargs):
        out = original(*args, **kwargs)
        url = db.engine.url
        other = create_engine(url, connect_args={"timeout": 0}) if url.get_backend_name() == "sqlite" else create_engine(url)
        try:
            with other.begin() as conn:
                conn.execute(statement)
            outcome["committed"] = True
        except OperationalError as exc:
            assert "database is locked" in str(exc)
            outcome["committed"] = False
        other.dispose()
        return out

    monkeypatch.setattr(disciplines, "clean_values", clean_then_interfere)
    return outcome


def _entry(report_id: int) -> dict:
    """D2 as stored, read in a transaction that is over when this returns (the test client's
    requests share this session: a transaction of the test left open would hold the write lock)."""
    db.session.expire_all()
    entry = db.session.scalars(select(DisciplineEntry).where(DisciplineEntry.report_id == report_id, DisciplineEntry.code == "D2")).one()
    out = {"id": entry.id, "version": entry.version, "values": dict(entry.values or {})}
    db.session.commit()
    return out


def _events(report_id: int) -> list[int]:
    ids = db.session.scalars(select(AuditEvent.id).where(AuditEvent.report_id == report_id)).all()
    db.session.commit()
    return ids


def _sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def test_a_save_merges_with_a_save_committed_before_its_lock(api, report, parties, monkeypatch):
    report_id, editor = report.id, api(parties.sup_eng2)
    entry = _entry(report_id)
    entries = DisciplineEntry.__table__
    outcome = _meanwhile(monkeypatch, update(entries).where(entries.c.id == entry["id"]).values(
        version=1, values={"problem_statement": "theirs"}, field_versions={"problem_statement": 1}))
    r = editor.patch(f"/api/v1/reports/{report_id}/disciplines/D2", json={"base_version": 0, "fields": {"trend": "rising since week 12"}})
    assert r.status_code == 200, r.get_json()
    fresh = _entry(report_id)
    if _sqlite():  # the request held the write lock from its first read: the other writer had to wait
        assert outcome == {"committed": False}
        assert r.get_json()["version"] == 1 and fresh["version"] == 1 and fresh["values"] == {"trend": "rising since week 12"}
    else:  # the other save came in before the report's lock: merged, not overwritten
        assert outcome == {"committed": True}
        assert r.get_json()["version"] == 2
        assert fresh["version"] == 2 and fresh["values"]["problem_statement"] == "theirs" and fresh["values"]["trend"] == "rising since week 12"


def test_a_save_into_a_report_closed_before_its_lock_writes_nothing(api, report, parties, monkeypatch):
    report_id, editor = report.id, api(parties.sup_eng2)
    events_before = _events(report_id)
    reports_table = Report.__table__
    outcome = _meanwhile(monkeypatch, update(reports_table).where(reports_table.c.id == report_id).values(status=Status.closed))
    r = editor.patch(f"/api/v1/reports/{report_id}/disciplines/D2", json={"base_version": 0, "fields": {"trend": "rising"}})
    if _sqlite():  # the closure could not come in between; the save went first
        assert outcome == {"committed": False}
        assert r.status_code == 200, r.get_json()
        return
    assert outcome == {"committed": True}
    assert r.status_code == 409 and r.get_json()["details"] == {"rule": "closed"}, r.get_json()
    entry = _entry(report_id)
    assert entry["version"] == 0 and not entry["values"].get("trend")
    assert _events(report_id) == events_before
