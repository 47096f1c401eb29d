"""Discipline saves check their values without a lock and take the report's lock only to write
(app/db.py "late writes", services/reports.save_discipline). What changes in between - another
save, a closure - is seen under the lock: nothing is lost and nothing is written into a closed
report."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from app.errors import Conflict
from app.extensions import db
from app.models import DisciplineEntry, Report
from app.services import reports, team


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Late writes", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, r, p.sup_eng2.id, "member")
    db.session.commit()
    return r


def _meanwhile(monkeypatch, sql: str, params: dict):
    """Run `sql` on another connection, committed, between the save's checks and its lock."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: nothing can come in between")
    original = reports.clean_values

    def clean_then_interfere(*args, **kwargs):
        out = original(*args, **kwargs)
        other = create_engine(db.engine.url)
        with other.begin() as conn:
            conn.execute(text(sql), params)
        other.dispose()
        return out

    monkeypatch.setattr(reports, "clean_values", clean_then_interfere)


def test_a_save_merges_with_a_save_that_came_in_between(report, parties, monkeypatch):
    entry = db.session.query(DisciplineEntry).filter_by(report_id=report.id, code="D2").one()
    db.session.commit()
    _meanwhile(monkeypatch, "UPDATE discipline SET version = version + 1, values = CAST(:v AS JSONB), "
               "field_versions = CAST(:fv AS JSONB) WHERE id = :id",
               {"v": '{"problem_statement": "theirs"}', "fv": '{"problem_statement": 1}', "id": entry.id})
    saved, _notes = reports.save_discipline(parties.sup_eng2, report, "D2", 0, {"trend": "rising since week 12"})
    db.session.commit()
    fresh = db.session.get(DisciplineEntry, entry.id)
    db.session.refresh(fresh)
    assert fresh.version == 2 and fresh.values["problem_statement"] == "theirs" and fresh.values["trend"] == "rising since week 12"


def test_a_save_into_a_report_closed_in_between_writes_nothing(report, parties, monkeypatch):
    _meanwhile(monkeypatch, "UPDATE report SET status = 'closed' WHERE id = :id", {"id": report.id})
    with pytest.raises(Conflict) as caught:
        reports.save_discipline(parties.sup_eng2, report, "D2", 0, {"trend": "rising"})
    db.session.rollback()
    assert caught.value.details == {"rule": "closed"}
    entry = db.session.query(DisciplineEntry).filter_by(report_id=report.id, code="D2").one()
    assert entry.version == 0 and not entry.values.get("trend")
    assert db.session.get(Report, report.id).audit_seq == db.session.execute(
        text("SELECT max(seq) FROM audit_event WHERE chain = :c"), {"c": f"report:{report.id}"}).scalar()
