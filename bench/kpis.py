"""KPI query at scale: p50/p95 of `app.services.kpis.compute` (the query behind GET /api/v1/kpis,
/kpis, /kpis.csv) over 100,000 reports, on SQLite and on PostgreSQL. Goal (issue 19): p95 <= 200 ms.

Seeds with bulk INSERTs: 20 suppliers of one OEM, 100,000 reports over 24 months (containment,
root cause, closure, declines, repeats and quantities as in real life), ~230,000 review rows and
100,000 actions. Measures the OEM's quality lead (all 100,000 reports in scope) and one supplier's
engineer (5,000), a 12-month period, and counts the SQL statements of one computation.

    python bench/kpis.py                   # SQLite in a temporary directory
    BENCH_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres python bench/kpis.py
      (creates and drops a scratch database next to the one named)
    BENCH_REPORTS=20000 BENCH_ROUNDS=30 ...
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

N = int(os.environ.get("BENCH_REPORTS", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "30"))
SUPPLIERS = 20


def _reports(rng: random.Random, oem_id: int, suppliers: list[int], creator: int, now: dt.datetime):
    day = dt.timedelta(days=1)
    for i in range(N):
        created = now - dt.timedelta(minutes=rng.randrange(730 * 24 * 60))
        contained = created + dt.timedelta(hours=rng.randrange(6, 120)) if rng.random() < 0.8 else None
        root = contained + dt.timedelta(days=rng.uniform(2, 15)) if contained and rng.random() < 0.8 else None
        fate = rng.random()
        closed = root + dt.timedelta(days=rng.uniform(10, 60)) if root and fate < 0.7 else None
        declined = not contained and fate < 0.3
        if closed and closed > now or contained and contained > now or root and root > now:
            closed = None if closed and closed > now else closed
            root = None if root and root > now else root
            contained = None if contained and contained > now else contained
        yield {
            "number": f"B-{i:07d}", "year": created.year, "seq": i + 1, "oem_id": oem_id, "supplier_id": suppliers[i % len(suppliers)],
            "stage": "D8" if closed else ("D5" if root else ("D4" if contained else "D2")),
            "status": "closed" if closed or declined else "open", "revision": 0, "created_at": created, "updated_at": created,
            "contained_at": contained, "root_cause_at": root, "closed_at": closed or (created + 3 * day if declined else None),
            "outcome": "resolved" if closed else ("declined" if declined else None),
            "due": {"D3": (created + day).date().isoformat()}, "change_counter": 0, "audit_seq": 0, "lots": [], "created_by_id": creator,
            "title": f"Bulk report {i}", "repeat_failure": rng.random() < 0.1,
            "qty_complained": rng.randrange(1, 50) if i % 3 == 0 else None, "qty_delivered": rng.randrange(10_000, 500_000) if i % 3 == 0 else None,
        }


def seed(rng: random.Random) -> tuple[int, int]:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Action, Report, Review, utcnow
    from app.services import accounts

    oem = accounts.create_company(None, "Volta Motors AG", "oem")
    sups = [accounts.create_company(None, f"Supplier {i:02d}", "supplier") for i in range(SUPPLIERS)]
    lead = accounts.create_user(None, "lead@volta.example", "Lead", oem.id, "quality_lead", "bench-password-8d")
    eng = accounts.create_user(None, "eng@s00.example", "Eng", sups[0].id, "engineer", "bench-password-8d")
    db.session.commit()
    now = utcnow()
    chunk: list[dict] = []
    for row in _reports(rng, oem.id, [s.id for s in sups], lead.id, now):
        chunk.append(row)
        if len(chunk) == 5000:
            db.session.execute(insert(Report), chunk)
            chunk = []
    if chunk:
        db.session.execute(insert(Report), chunk)
    db.session.commit()
    rows = db.session.execute(select(Report.id, Report.created_at, Report.contained_at, Report.closed_at, Report.outcome)).all()
    reviews, actions = [], []
    for rid, created, contained, closed, outcome in rows:
        if contained:
            if rng.random() < 0.2:
                reviews.append({"report_id": rid, "stage": "D3", "requested_at": contained - dt.timedelta(hours=8),
                                "decided_at": contained - dt.timedelta(hours=4), "decision": "reject", "revision": 0, "kind": "stage"})
            reviews.append({"report_id": rid, "stage": "D3", "requested_at": contained - dt.timedelta(hours=2), "decided_at": contained,
                            "decision": "approve", "revision": 0, "kind": "stage"})
        if closed and outcome == "resolved":
            reviews.append({"report_id": rid, "stage": "D8", "requested_at": closed - dt.timedelta(days=1), "decided_at": closed,
                            "decision": "approve", "revision": 0, "kind": "stage"})
        if rid % 2 == 0:
            for k in (1, 2):
                status = rng.choice(["open", "in_progress", "verified", "verified", "cancelled"])
                actions.append({"report_id": rid, "kind": "corrective", "title": "Fix", "owner_id": eng.id, "ref": f"PCA{k}",
                                "due_date": (created + dt.timedelta(days=20 * k)).date(), "status": status, "version": 1, "created_at": created,
                                "updated_at": created + dt.timedelta(days=10), "causes": [], "evidence": [], "pre_verification_evidence": [],
                                "implementation_evidence": [],
                                "verified_at": created + dt.timedelta(days=15 * k) if status == "verified" else None})
    for model, data in ((Review, reviews), (Action, actions)):
        for i in range(0, len(data), 5000):
            db.session.execute(insert(model), data[i:i + 5000])
    db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    print(f"  seeded {N:,} reports, {len(reviews):,} reviews, {len(actions):,} actions", flush=True)
    return lead.id, eng.id


def measure(url: str, label: str) -> list[tuple]:
    from sqlalchemy import event

    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.services import kpis
    from config import TestingConfig

    tmp = Path(tempfile.mkdtemp(prefix="kpi-bench-"))
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=str(tmp))
    out = []
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        lead_id, eng_id = seed(random.Random(19))
        out.append((label, f"seeding {N:,} reports + reviews + actions (s)", "bulk insert", f"{time.perf_counter() - started:.1f}", ""))
        period = kpis.parse_period(None, None)
        for who, uid in (("OEM quality lead (all reports)", lead_id), ("one supplier's engineer", eng_id)):
            user = db.session.get(User, uid)
            kpis.compute(user, period)  # warm
            times = []
            for _ in range(ROUNDS):
                t0 = time.perf_counter()
                kpis.compute(user, period)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
            out.append((label, f"KPI computation p95 (ms), 12 months, {who}", f"p50 {statistics.median(times):.0f}, {ROUNDS} rounds",
                        f"{p95:.0f}", "<= 200"))
        count = {"n": 0}

        def before(*_a, **_k):
            count["n"] += 1

        event.listen(db.engine, "before_cursor_execute", before)
        kpis.compute(db.session.get(User, lead_id), period)
        event.remove(db.engine, "before_cursor_execute", before)
        out.append((label, "SQL statements of one computation", "any number of reports", str(count["n"]), "constant"))
        db.session.remove()
        db.drop_all()
        db.engine.dispose()
    return out


def _pg(base: str):
    from sqlalchemy import create_engine, text

    name = f"kpi_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return base.rsplit("/", 1)[0] + "/" + name, lambda: _drop(admin, name)


def _drop(admin, name: str) -> None:
    from sqlalchemy import text

    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    rows = []
    tmp = Path(tempfile.mkdtemp(prefix="kpi-bench-sqlite-"))
    print("SQLite ...", flush=True)
    rows += measure(f"sqlite:///{tmp / 'bench.db'}", "SQLite")
    pg = os.environ.get("BENCH_PG_URL")
    if pg:
        print("PostgreSQL ...", flush=True)
        url, drop = _pg(pg)
        try:
            rows += measure(url, "PostgreSQL")
        finally:
            drop()
    print("\n| database | figure | absolute | value | goal |\n|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
