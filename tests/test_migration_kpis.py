"""Migration 0010_kpis: existing reports get their containment and root-cause times from the audit
trail (the first time D3 and D4 were left forward), nothing else changes."""

from __future__ import annotations

import datetime as dt

from flask_migrate import upgrade
from sqlalchemy import MetaData, text

from app import ROOT, create_app
from app.extensions import db
from app.models import utcnow
from config import TestingConfig
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture


def test_0010_fills_the_milestones_from_the_trail(empty_database_url, tmp_path):  # noqa: F811
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    now = utcnow().replace(microsecond=0) - dt.timedelta(days=30)
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0008_generation")
        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        with db.engine.begin() as conn:
            conn.execute(t["company"].insert(), [{"id": 1, "name": "Volta", "kind": "oem", "active": True, "created_at": now},
                                                 {"id": 2, "name": "CellTech", "kind": "supplier", "active": True, "created_at": now}])
            base = {"year": now.year, "oem_id": 1, "supplier_id": 2, "revision": 0, "created_at": now, "updated_at": now, "due": {},
                    "change_counter": 0, "audit_seq": 0, "lots": [], "title": "Cracked welds", "status": "open"}
            conn.execute(t["report"].insert(), [{**base, "id": 1, "number": "A-1", "seq": 1, "stage": "D5"},
                                                {**base, "id": 2, "number": "A-2", "seq": 2, "stage": "D1"}])
            day = dt.timedelta(days=1)
            trail = [("review.rejected", "D3", now + day), ("review.approved", "D3", now + 2 * day), ("stage.advanced", "D4", now + 5 * day),
                     ("stage.returned", "D4", now + 6 * day), ("stage.advanced", "D4", now + 7 * day), ("stage.advanced", "D1", now + day)]
            conn.execute(t["audit_event"].insert(), [
                {"chain": "report:1", "seq": i + 1, "report_id": 1, "at": at, "action": action, "discipline": code, "changes": {},
                 "prev_hash": "0" * 64, "hash": "0" * 64} for i, (action, code, at) in enumerate(trail)])
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, contained_at, root_cause_at FROM report ORDER BY id")).all()
        as_dt = [(i, c if c is None or isinstance(c, dt.datetime) else dt.datetime.fromisoformat(c),
                  r if r is None or isinstance(r, dt.datetime) else dt.datetime.fromisoformat(r)) for i, c, r in rows]
        assert as_dt == [(1, now + 2 * day, now + 5 * day), (2, None, None)]
        db.session.remove()
        db.engine.dispose()
