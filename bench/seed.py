"""Bulk seeding for the benchmarks: many reports fast (core INSERTs in chunks), and one "full"
report with every discipline filled, 20 actions, 10 evidence rows and 200 audit events."""

from __future__ import annotations

import copy
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from app import create_app
from app.extensions import db
from app.method import CODES, EXAMPLE_EVIDENCE, EXAMPLES, HEADER_EXAMPLE
from app.method.examples import replace_evidence
from app.models import Company, Report, User, utcnow
from app.services import actions, audit, disciplines, reports, team


def bulk_reports(n: int) -> None:
    oem = db.session.scalar(select(Company).where(Company.name == "Volta Motors AG"))
    sups = db.session.scalars(select(Company).where(Company.kind == "supplier")).all()
    year = 2025
    start = (db.session.scalar(select(db.func.max(Report.seq)).where(Report.year == year)) or 0) + 1
    now = utcnow()
    chunk = []
    for i in range(n):
        seq = start + i
        chunk.append({
            "number": f"8D-{year}-{seq:06d}", "year": year, "seq": seq, "oem_id": oem.id, "supplier_id": sups[i % len(sups)].id,
            "stage": CODES[i % 9], "status": ["open", "in_review", "closed"][i % 3], "revision": 0,
            "created_at": now - dt.timedelta(minutes=i), "updated_at": now - dt.timedelta(minutes=i),
            "due": {"D3": "2025-06-01", "D8": "2025-07-01"}, "change_counter": 0, "audit_seq": 0,
            "title": f"Bulk report {seq}: cell-tab weld resistance", "part_number": f"BM-{seq % 97}", "complaint_ref": f"QN-{seq}", "lots": [],
        })
        if len(chunk) == 5000:
            db.session.execute(insert(Report), chunk)
            chunk = []
    if chunk:
        db.session.execute(insert(Report), chunk)
    db.session.commit()
    # Planner statistics, as the worker's periodic `PRAGMA optimize` / PostgreSQL's autovacuum keep them.
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def full_report() -> int:
    """Report 8D-...: all disciplines filled, 20 actions, 10 evidence rows, 200+ audit events."""
    lukas = db.session.scalar(select(User).where(User.email == "lukas.brandt@celltech.example"))
    mia = db.session.scalar(select(User).where(User.email == "mia.schulz@celltech.example"))
    oem = db.session.scalar(select(Company).where(Company.name == "Volta Motors AG"))
    sup = db.session.scalar(select(Company).where(Company.name == "CellTech Modules GmbH"))
    r = reports.create_report(lukas, {**HEADER_EXAMPLE, "title": "Bench: full report", "oem_id": oem.id, "supplier_id": sup.id})
    team.add_member(lukas, r, mia.id, "member")
    from app.models import Attachment

    rows = [Attachment(report_id=r.id, discipline=CODES[i % 9], filename=f"evidence-{i}.pdf", size=1000 + i, sha256=f"{i:064x}",
                       content_type="application/pdf", storage_key=f"00/00/{i:064x}", uploaded_by_id=lukas.id) for i in range(10)]
    db.session.add_all(rows)
    db.session.flush()
    # the examples' evidence placeholders stand for these rows
    files = {placeholder: rows[i % len(rows)].id for i, placeholder in enumerate(EXAMPLE_EVIDENCE)}
    for code in CODES:
        if code in EXAMPLES and code != "D1":
            disciplines.save_discipline(lukas, r, code, 0, replace_evidence(copy.deepcopy(EXAMPLES[code]), files))
    for i in range(20):
        actions.create_action(lukas, r, {"kind": ["containment", "corrective", "preventive"][i % 3], "title": f"Bench action {i}",
                                         "owner_id": mia.id, "due_date": "2026-12-31", "location": "supplier_stock" if i % 3 == 0 else None})
    while db.session.scalar(select(Report.audit_seq).where(Report.id == r.id)) < 200:
        audit.record("bench.note", lukas, r, discipline="D4", changes={"note": [None, "x"]})
        db.session.flush()
    db.session.commit()
    return r.id


def add_actions(report_id: int, n: int) -> None:
    lukas = db.session.scalar(select(User).where(User.email == "lukas.brandt@celltech.example"))
    r = db.session.get(Report, report_id)
    for i in range(n):
        actions.create_action(lukas, r, {"kind": "corrective", "title": f"More action {i}", "owner_id": lukas.id, "due_date": "2026-12-31"})
    db.session.commit()


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        what = sys.argv[1]
        if what == "reports":
            bulk_reports(int(sys.argv[2]))
        elif what == "full":
            print(full_report())
        elif what == "actions":
            add_actions(int(sys.argv[2]), int(sys.argv[3]))

