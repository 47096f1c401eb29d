"""Full-text search at scale: p95 of a two-word query (count + one page of hits + snippets, the
work of GET /api/v1/search) on SQLite FTS5 and PostgreSQL tsvector/GIN.

    .venv/bin/python bench/search.py --db sqlite --reports 100000
    .venv/bin/python bench/search.py --db postgresql+psycopg://postgres@127.0.0.1:5432/DB --reports 100000

The database is emptied and seeded: one OEM, 50 suppliers, N reports, and 12 index rows per
report (header, D0-D8, actions, comments - the rows the app writes, seeded directly with bulk
INSERTs; the discipline table itself is not read by a search and is left empty). The text is
drawn from a Zipf distribution over 30,000 words whose 400 most frequent are 8D vocabulary, ~40
words per row. Queries: 200 pairs of words of middling frequency (ranks 40-400), as a quality
engineer types them ("clamp gap"). Measured in process (no HTTP), for the OEM's quality lead (sees
every report) and for one supplier's engineer (sees 1/50 of them). Prints a table; the figures
go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, insert, select, text  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Report, User, utcnow  # noqa: E402
from app.models.search import PARTS, PG_CONFIG, SearchDoc  # noqa: E402
from app.services import accounts  # noqa: E402
from app.services import search as search_service  # noqa: E402
from config import TestingConfig  # noqa: E402

DOMAIN = """weld crack cell tab busbar clamp fixture gap laser seam resistance joint monitor station line shift lot serial module
housing connector pin seal leak porous casting pump burr edge bracket torque screw thread coating paint corrosion rust
scratch dent deformation dimension tolerance drawing revision gauge calibration measurement sensor cable harness crimp
terminal solder void short circuit open insulation moisture contamination particle dust chip crackle fracture fatigue
vibration temperature humidity cure adhesive bond delamination label barcode packaging transport damage handling
operator training instruction procedure maintenance tool wear die mould mold injection shot flash sink warp shrink
hardness heat treatment quench temper grinding machining cnc spindle feed speed coolant lubricant oil grease bearing
shaft gear tooth spline key fit press interference clearance alignment misalignment position offset spacer shim washer
nut bolt rivet clip spring valve orifice filter nozzle pressure flow leakage test eol inline audit sample inspection
visual camera vision reject sorting containment quarantine block stock warehouse customer supplier plant assembly
station fixture pallet conveyor robot gripper vacuum suction glue dispense bead width height thickness flatness
roughness surface finish plating nickel tin zinc silver whisker oxidation discolouration stain residue flux wash
rinse dry oven furnace profile ramp dwell peak reflow wave selective rework repair scrap yield ppm capability cpk
spc chart control plan pfmea dfmea occurrence detection severity rpn action owner verification validation
implementation containment root cause why escape point systemic process change fixture replacement requalification
first article approval ppap sample layout dimensional report material certificate batch supplier sub mix mixup
wrong part missing part reversed orientation polarity swapped label mismatch count shortage overfill underfill
software firmware parameter setting recipe program version update glitch reset fault alarm interlock poka yoke
error proofing mistake human factor fatigue lighting ergonomics layout kanban fifo lifo expiry shelf life storage
condition dew point pallet wrapping foil carton tray blister esd grounding charge discharge static field return
warranty claim complaint notice quality engineer sqe resident engineer sort team rework area""".split()
VOCAB_SIZE = 30_000
WORDS_PER_ROW = 40
SUPPLIERS = 50


def _vocabulary() -> tuple[list[str], list[float]]:
    domain = list(dict.fromkeys(DOMAIN))[:400]
    filler = [f"w{i}x" for i in range(VOCAB_SIZE - len(domain))]
    words = domain + filler
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(words))]
    return words, list(itertools.accumulate(weights))


def _seed(n: int, rng: random.Random) -> tuple[User, User, float]:
    oem = accounts.create_company(None, "Volta Motors AG", "oem")
    sups = [accounts.create_company(None, f"Supplier {i:02d}", "supplier") for i in range(SUPPLIERS)]
    lead = accounts.create_user(None, "lead@volta.example", "Lead", oem.id, "quality_lead", "bench-password-8d-long")
    eng = accounts.create_user(None, "eng@sup00.example", "Engineer", sups[0].id, "engineer", "bench-password-8d-long")
    db.session.commit()
    words, cum = _vocabulary()
    started = time.perf_counter()
    now = utcnow()
    pg = db.engine.dialect.name == "postgresql"
    if pg:
        db.session.execute(text("DROP INDEX IF EXISTS ix_search_doc_tsv"))
    doc = SearchDoc.__table__
    stmt = insert(doc)
    for start in range(0, n, 5000):
        reports = [{"number": f"8D-B-{i:07d}", "year": 2025, "seq": i + 1, "oem_id": oem.id, "supplier_id": sups[i % SUPPLIERS].id, "stage": "D4",
                    "status": ["open", "in_review", "closed"][i % 3], "revision": 0, "created_at": now, "updated_at": now, "due": {},
                    "change_counter": 0, "audit_seq": 0, "title": " ".join(rng.choices(words, cum_weights=cum, k=6)), "part_number": f"PN-{i % 997}",
                    "lots": []} for i in range(start, min(n, start + 5000))]
        db.session.execute(insert(Report), reports)
        ids = db.session.scalars(select(Report.id).where(Report.seq > start, Report.seq <= start + 5000)).all()
        rows = [{"report_id": rid, "part": part, "body": " ".join(rng.choices(words, cum_weights=cum, k=rng.randint(WORDS_PER_ROW // 2, WORDS_PER_ROW * 3 // 2)))}
                for rid in ids for part in PARTS]
        if pg:
            db.session.execute(insert(doc).values(report_id=text(":report_id"), part=text(":part"), body=text(":body"),
                                                  tsv=func.to_tsvector(text(f"'{PG_CONFIG}'::regconfig"), text(":body"))), rows)
        else:
            db.session.execute(stmt, rows)
        db.session.commit()
    if pg:
        db.session.execute(text("CREATE INDEX ix_search_doc_tsv ON search_doc USING gin (tsv)"))
        db.session.commit()
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    return lead, eng, time.perf_counter() - started


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def _measure(user: User, queries: list[str]) -> tuple[float, float, int]:
    times, totals = [], []
    for q in queries[:5]:  # warm the caches
        search_service.search(user, q)
    for q in queries:
        t0 = time.perf_counter()
        found = search_service.search(user, q)
        times.append((time.perf_counter() - t0) * 1000)
        totals.append(found.total)
    return _p(times, 0.5), _p(times, 0.95), int(statistics.median(totals))


def _empty() -> None:
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
    db.create_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite", help="sqlite, or a PostgreSQL URL (the database is emptied)")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--reuse", help="measure again on the SQLite file of an earlier run (no seeding)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="bench-search-")
    url = f"sqlite:///{args.reuse or tmp + '/bench.db'}" if args.db == "sqlite" else args.db
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=url, INSTANCE_PATH=tmp)
    rng = random.Random(18)
    with app.app_context():
        if args.reuse:
            lead, eng, seconds = db.session.get(User, 1), db.session.get(User, 2), 0.0
            args.reports = db.session.scalar(select(func.count()).select_from(Report))
        else:
            _empty()
            lead, eng, seconds = _seed(args.reports, rng)
        rows = db.session.scalar(select(func.count()).select_from(SearchDoc))
        domain = list(dict.fromkeys(DOMAIN))[40:400]
        queries = [" ".join(rng.sample(domain, 2)) for _ in range(args.queries)]
        name = "PostgreSQL" if db.engine.dialect.name == "postgresql" else "SQLite"
        print(f"\n{name}: {args.reports:,} reports, {rows:,} index rows (12 per report), seeded in {seconds:.0f} s; {args.queries} two-word queries\n")
        print("| database | caller | reports visible | median hits | p50 ms | p95 ms | goal |")
        print("|---|---|---|---|---|---|---|")
        for label, user, visible in (("OEM quality lead", lead, args.reports), ("supplier engineer", eng, args.reports // SUPPLIERS)):
            user = db.session.get(User, user.id)
            p50, p95, hits = _measure(user, queries)
            print(f"| {name} | {label} | {visible:,} | {hits:,} | {p50:.1f} | {p95:.1f} | p95 <= 50 |")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
