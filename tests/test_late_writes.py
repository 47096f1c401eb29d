"""Discipline saves check their values without a lock and take the report's lock only to write
(app/db.py "late writes", services/reports.save_discipline). What another user commits in between
- a save, a closure - is seen under the lock: nothing is lost and nothing is written into a closed
report. Driven through the API, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, update

from app.extensions import db
from app.models import AuditEvent, DisciplineEntry, Report, Status
from app.services import reports, team


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Late writes", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.sup_eng2.id, "member")
    db.session.commit()
    return r


def _meanwhile(monkeypatch, statement) -> None:
    """Commit `statement` on a connection of its own between the save's checks and its lock."""
    original = reports.clean_values

    def clean_then_interfere(*args, **kwargs):
        out = original(*args, **kwargs)
        other = create_engine(db.engine.url)
        with other.begin() as conn:
            conn.execute(statement)
        other.dispose()
        return out

    monkeypatch.setattr(reports, "clean_values", clean_then_interfere)


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


def test_a_save_merges_with_a_save_that_came_in_between(api, report, parties, monkeypatch):
    report_id, editor = report.id, api(parties.sup_eng2)
    entry = _entry(report_id)
    entries = DisciplineEntry.__table__
    _meanwhile(monkeypatch, update(entries).where(entries.c.id == entry["id"]).values(
        version=1, values={"problem_statement": "theirs"}, field_versions={"problem_statement": 1}))
    r = editor.patch(f"/api/v1/reports/{report_id}/disciplines/D2", json={"base_version": 0, "fields": {"trend": "rising since week 12"}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["version"] == 2
    fresh = _entry(report_id)
    assert fresh["version"] == 2 and fresh["values"]["problem_statement"] == "theirs" and fresh["values"]["trend"] == "rising since week 12"


def test_a_save_into_a_report_closed_in_between_writes_nothing(api, report, parties, monkeypatch):
    report_id, editor = report.id, api(parties.sup_eng2)
    events_before = _events(report_id)
    reports_table = Report.__table__
    _meanwhile(monkeypatch, update(reports_table).where(reports_table.c.id == report_id).values(status=Status.closed))
    r = editor.patch(f"/api/v1/reports/{report_id}/disciplines/D2", json={"base_version": 0, "fields": {"trend": "rising"}})
    assert r.status_code == 409 and r.get_json()["details"] == {"rule": "closed"}, r.get_json()
    entry = _entry(report_id)
    assert entry["version"] == 0 and not entry["values"].get("trend")
    assert _events(report_id) == events_before
