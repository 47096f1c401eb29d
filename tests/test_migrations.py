"""Migrations are the schema: one head, and upgrading an empty database builds exactly the
models' schema (Redash tests/test_migrations.py)."""

from __future__ import annotations

import os
import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from app import ROOT, create_app
from app.extensions import db
from app.method import CODES
from config import TestingConfig


def _script() -> ScriptDirectory:
    cfg = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg)


def _not_engine_table(name, type_, _parent_names) -> bool:
    """The SQLite FTS5 table of the search index and its shadow tables are the engine's, not the models'."""
    from app.models.search import is_engine_table

    return not (type_ == "table" and is_engine_table(name))


def test_alembic_has_exactly_one_head():
    assert len(_script().get_heads()) == 1


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"wb_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_from_empty_gives_the_models_schema(empty_database_url, tmp_path):
    from flask_migrate import upgrade

    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True, "include_name": _not_engine_table})
            diff = compare_metadata(ctx, db.metadata)
        db.engine.dispose()
    assert diff == [], diff


def test_an_existing_installation_keeps_its_accounts_and_its_trail_through_the_upgrade(empty_database_url, tmp_path):
    """Upgrading from 0005: existing accounts are no platform admins; the existing trail, hashed
    before AUDIT_KEY existed, verifies once it is sealed (and the verifier says so before)."""
    import datetime as dt

    from flask_migrate import upgrade
    from sqlalchemy import column, table

    from app.models import AuditEvent
    from app.models.base import JSONType

    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    at = dt.datetime(2026, 11, 2, 8, 30, 0, 123456)
    event = AuditEvent(chain="global", seq=1, report_id=None, at=at, actor_id=None, actor_name="system", actor_company=None,
                       action="company.created", discipline=None, changes={"company": [None, "Volta Motors AG"]}, comment=None,
                       prev_hash="0" * 64)
    event.hash = event.legacy_hash()  # as the code before AUDIT_KEY hashed it
    events = table("audit_event", *(column(c) for c in ("chain", "seq", "report_id", "at", "actor_id", "actor_name", "actor_company", "action",
                                                         "discipline", "comment", "prev_hash", "hash")), column("changes", JSONType))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0005")
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO company (id, name, kind, active, created_at) VALUES (1, 'Volta Motors AG', 'oem', TRUE, :at)"), {"at": at})
            conn.execute(text("INSERT INTO user_account (id, email, name, company_id, role, password_hash, active, failed_signatures, created_at) "
                              "VALUES (1, 'admin@volta.example', 'Clara', 1, 'admin', 'x', TRUE, 0, :at)"), {"at": at})
            conn.execute(events.insert().values({c: getattr(event, c) for c in (
                "chain", "seq", "report_id", "at", "actor_id", "actor_name", "actor_company", "action", "discipline", "changes", "comment",
                "prev_hash", "hash")}))
            conn.execute(text("INSERT INTO audit_anchor (chain, seq, hash) VALUES ('global', 1, :h)"), {"h": event.hash})
        upgrade(directory=str(ROOT / "migrations"))
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT platform_admin FROM user_account WHERE id = 1")).scalar_one() in (False, 0)
        runner = app.test_cli_runner()
        before = runner.invoke(args=["audit", "verify"])
        assert before.exit_code != 0 and "flask audit seal-legacy" in before.output, before.output
        sealed = runner.invoke(args=["audit", "seal-legacy"])
        assert sealed.exit_code == 0 and "Sealed 1 chains." in sealed.output, sealed.output
        after = runner.invoke(args=["audit", "verify"])
        assert after.exit_code == 0 and "1 events verified" in after.output, after.output
        db.session.remove()
        db.engine.dispose()


# ------------------------------------------------------------------ 0007: table rows become actions
OLD_D3 = {
    "containment": [
        {"id": "r1", "ref": "ICA1", "location": "supplier_wip", "action": "100 % re-test of all WIP modules on line M2", "owner": "Lukas Brandt",
         "introduced_on": "2026-09-02", "effective_from": "2026-09-03", "verification": "Re-test of 10 known NOK modules: all 10 detected",
         "effective_pct": 100, "status": "verified", "evidence": "ICA1-retest-report.pdf"},
        {"id": "r2", "ref": "ICA2", "location": "customer_stock", "action": "Resident sorting team at the Volta warehouse", "owner": "Sorting service Chemnitz GmbH",
         "introduced_on": "2026-09-03", "effective_from": "03.09.2026", "verification": "Daily sheets countersigned", "status": "in_progress",
         "remark": "paid by CellTech"},
    ],
    "ledger": [{"id": "l1", "location": "supplier_wip", "suspect": 180, "checked": 180, "nok": 2, "ok": 178, "disposition": "scrap"}],
    "clean_point": "Serial BM12S-2609-05-1201",
}
OLD_D4 = {"causes": [
    {"id": "c1", "ref": "C1", "kind": "occurrence", "statement": "Clamp gap", "verification_method": "reproduction", "verification_result": "12 of 12 cracked",
     "conclusion": "passed", "evidence": "C1-trial.pdf"},
    {"id": "c2", "ref": "C2", "kind": "non_detection", "statement": "No resistance test", "verification_method": "measurement",
     "verification_result": "All 37 passed the monitor", "conclusion": "passed", "evidence": "detection study in the lab binder"},
], "escape_point": "W3 exit"}
LONG_ACTION = "Replace the clamping fixture " + "and requalify every weld station of line M2 " * 15
OLD_D5 = {"pcas": [
    {"id": "p1", "ref": "PCA1", "causes": "C1", "kind": "occurrence", "action": LONG_ACTION, "owner": "Mia Schulz", "target_date": "2026-09-14",
     "pre_verification": "Trial of 200 modules, 0 cracks", "error_proofing": "Coding pin", "status": "verified", "evidence": "PCA1-trial.pdf"},
    {"id": "p2", "ref": "PCA2", "causes": "C1, C2", "kind": "detection", "action": "4-wire resistance test at W3 exit with MES interlock",
     "owner": "Jana Weber (Volta SQE)", "target_date": "2026-09-18", "pre_verification": "Gauge R&R 6.2 %", "status": "open"},
], "validation_plan": "30 days of production"}
OLD_D6 = {
    "implementation": [
        {"id": "i1", "pca": "PCA2", "implemented_on": "2026-09-17", "evidence": "MES-release-note.pdf"},
        {"id": "i2", "pca": "PCA9", "implemented_on": "2026-09-19", "evidence": "unknown-record.pdf"},
    ],
    "ica_removal": [
        {"id": "x1", "ica": "ICA1", "removed_on": "2026-10-19", "removed_by": "Lukas Brandt"},
        {"id": "x2", "ica": "ICA7", "removed_on": "2026-10-20", "removed_by": "Werner Unknown"},
    ],
    "validation_method": "EOL results over 4 weeks",
}


def _words(value) -> list[str]:
    """Every piece of text a table row holds (lists of refs split as the migration splits them)."""
    out = []
    for key, cell in value.items():
        if key == "id" or cell in (None, ""):
            continue
        if key == "causes":
            out += [t for t in str(cell).replace(",", " ").split() if t]
        else:
            out.append(str(cell))
    return out


def test_0007_turns_table_rows_into_actions_without_losing_a_word(empty_database_url, tmp_path):
    import datetime as dt

    from flask_migrate import upgrade
    from sqlalchemy import MetaData, select

    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0005")
        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        now = dt.datetime(2026, 11, 1, 12, 0)
        with db.engine.begin() as conn:
            conn.execute(t["company"].insert(), [{"id": 1, "name": "Volta", "kind": "oem", "active": True, "created_at": now},
                                                 {"id": 2, "name": "CellTech", "kind": "supplier", "active": True, "created_at": now}])
            people = [(1, "lukas@c.example", "Lukas Brandt", 2), (2, "mia@c.example", "Mia Schulz", 2), (3, "jana@v.example", "Jana Weber", 1),
                      (4, "petra@c.example", "Petra Vogel", 2)]
            conn.execute(t["user_account"].insert(), [{"id": i, "email": e, "name": n, "company_id": c, "role": "engineer", "password_hash": "x",
                                                       "active": True, "failed_signatures": 0, "created_at": now} for i, e, n, c in people])
            base = {"year": 2026, "oem_id": 1, "supplier_id": 2, "revision": 0, "created_at": now, "updated_at": now, "due": {}, "change_counter": 0,
                    "audit_seq": 0, "lots": [], "created_by_id": 3}
            conn.execute(t["report"].insert().values(**base, id=1, number="8D-2026-0001", seq=1, stage="D7", status="open", title="Cracked welds",
                                                     detected_on=dt.date(2026, 9, 2)))
            conn.execute(t["report"].insert().values(**base, id=2, number="8D-2026-0002", seq=2, stage="D8", status="closed", title="Cracked welds again",
                                                     repeat_failure=True, related_report="8D-2026-0001"))
            conn.execute(t["team_member"].insert(), [{"report_id": 1, "user_id": u, "role": r, "added_at": now}
                                                     for u, r in ((3, "member"), (1, "leader"), (4, "champion"), (2, "member"))])
            old = {"D3": OLD_D3, "D4": OLD_D4, "D5": OLD_D5, "D6": OLD_D6}
            conn.execute(t["discipline"].insert(), [{"report_id": 1, "code": c, "version": 3 if c in old else 0, "values": old.get(c, {}),
                                                     "field_versions": {k: 3 for k in old.get(c, {})}, "updated_at": now, "updated_by_id": 1}
                                                    for c in CODES])
            conn.execute(t["discipline_revision"].insert(), [{"report_id": 1, "code": c, "version": 3, "values": v, "created_at": now, "created_by_id": 1}
                                                             for c, v in old.items()])
            conn.execute(t["attachment"].insert(), [
                {"id": 7, "report_id": 1, "discipline": "D4", "filename": "C1-trial.pdf", "size": 10, "sha256": "a" * 64, "content_type": "application/pdf",
                 "storage_key": "aa/aa/" + "a" * 64, "uploaded_by_id": 1, "uploaded_at": now},
                {"id": 8, "report_id": 1, "discipline": "D6", "filename": "MES-release-note.pdf", "size": 10, "sha256": "b" * 64,
                 "content_type": "application/pdf", "storage_key": "bb/bb/" + "b" * 64, "uploaded_by_id": 1, "uploaded_at": now},
            ])
            conn.execute(t["action"].insert(), [{"id": 50, "report_id": 1, "kind": "corrective", "title": "Tracked before: shim the clamp", "owner_id": 2,
                                                 "due_date": dt.date(2026, 9, 10), "cause": "occurrence", "cause_ref": "C1", "status": "in_progress",
                                                 "version": 2, "created_at": now, "updated_at": now}])
            conn.execute(t["review"].insert(), [{"report_id": 2, "stage": "D8", "revision": 0, "requested_at": now, "decision": "approve"}])

        upgrade(directory=str(ROOT / "migrations"))

        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        with db.engine.connect() as conn:
            actions = [dict(r._mapping) for r in conn.execute(select(t["action"]).where(t["action"].c.report_id == 1).order_by(t["action"].c.id))]
            disciplines = {r.code: r for r in conn.execute(select(t["discipline"]).where(t["discipline"].c.report_id == 1))}
            revisions = {(r.code, r.version): r.values for r in conn.execute(select(t["discipline_revision"]).where(t["discipline_revision"].c.report_id == 1))}
            reports = {r.id: r for r in conn.execute(select(t["report"]))}
            review = conn.execute(select(t["review"])).one()
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True, "include_name": _not_engine_table})
            diff = compare_metadata(ctx, db.metadata)
        db.engine.dispose()
    assert diff == [], diff

    by_ref = {(a["kind"], a["ref"]): a for a in actions}
    names = {i: n for i, _e, n, _c in ((1, 0, "Lukas Brandt", 0), (2, 0, "Mia Schulz", 0), (3, 0, "Jana Weber", 0), (4, 0, "Petra Vogel", 0))}
    # the words of a row, as stored now: the columns, and the people its owner and remover columns name
    text = "\n".join([str(v) for a in actions for v in a.values() if v is not None]
                     + [names[a[k]] for a in actions for k in ("owner_id", "removed_by_id") if a[k]])
    # every word of every moved row arrived
    for rows in (OLD_D3["containment"], OLD_D5["pcas"], OLD_D6["implementation"], OLD_D6["ica_removal"]):
        for row in rows:
            for word in _words(row):
                assert word in text, (row["id"], word)
    # containment: location, dates, % effective, verification; "verified" with nobody recorded is not verified
    ica1 = by_ref[("containment", "ICA1")]
    assert (ica1["location"], str(ica1["introduced_on"]), str(ica1["effective_from"]), ica1["effective_pct"]) == ("supplier_wip", "2026-09-02", "2026-09-03", 100)
    assert ica1["status"] == "implemented" and ica1["verified_by_id"] is None and "who verified it was not recorded" in ica1["description"]
    assert ica1["owner_id"] == 1 and ica1["verification"] == "Re-test of 10 known NOK modules: all 10 detected"
    assert str(ica1["removed_at"])[:10] == "2026-10-19" and ica1["removed_by_id"] == 1
    ica2 = by_ref[("containment", "ICA2")]
    assert ica2["owner_id"] == 1 and "Owner named in the table: Sorting service Chemnitz GmbH" in ica2["description"]  # the leader owns it now
    assert ica2["effective_from"] is None and "effective_from (as written): 03.09.2026" in ica2["description"] and "remark: paid by CellTech" in ica2["description"]
    # corrective: causes, kind, owner, target date, pre-verification, error-proofing; D6 implementation on the matching PCA
    pca1, pca2 = by_ref[("corrective", "PCA1")], by_ref[("corrective", "PCA2")]
    assert pca1["causes"] == ["C1"] and pca1["cause"] == "occurrence" and pca1["owner_id"] == 2 and str(pca1["due_date"]) == "2026-09-14"
    assert len(pca1["title"]) == 500 and f"Full text: {LONG_ACTION}" in pca1["description"]
    assert (pca1["pre_verification"], pca1["error_proofing"], pca1["status"]) == ("Trial of 200 modules, 0 cracks", "Coding pin", "implemented")
    assert pca2["causes"] == ["C1", "C2"] and pca2["cause"] == "non_detection" and pca2["owner_id"] == 3
    assert str(pca2["implemented_on"]) == "2026-09-17" and pca2["status"] == "implemented" and pca2["implementation_evidence"] == [8]
    # rows without a match in D3/D5 are not dropped
    assert by_ref[("corrective", "PCA9")]["title"] == "PCA PCA9 (recorded only in D6)" and str(by_ref[("corrective", "PCA9")]["implemented_on"]) == "2026-09-19"
    assert str(by_ref[("containment", "ICA7")]["removed_at"])[:10] == "2026-10-20" and by_ref[("containment", "ICA7")]["removed_by_id"] is None
    # the action tracked before keeps everything: its cause moves into causes, it gets the next free reference
    tracked = next(a for a in actions if a["id"] == 50)
    assert tracked["causes"] == ["C1"] and tracked["ref"] == "PCA3" and tracked["status"] == "in_progress" and tracked["title"] == "Tracked before: shim the clamp"
    assert "cause_ref" not in tracked
    # the disciplines: the tables left the current values (new version), the old revision keeps them
    assert "containment" not in disciplines["D3"].values and disciplines["D3"].values["ledger"] == OLD_D3["ledger"] and disciplines["D3"].version == 4
    assert "pcas" not in disciplines["D5"].values and disciplines["D5"].values["validation_plan"] == "30 days of production"
    assert set(disciplines["D6"].values) == {"validation_method"} and "implementation" not in disciplines["D6"].field_versions
    assert revisions[("D3", 3)] == OLD_D3 and revisions[("D6", 3)] == OLD_D6 and ("D3", 4) in revisions
    # D4: evidence named in text becomes the matching file; the text stays with the cause
    c1, c2 = disciplines["D4"].values["causes"]
    assert c1["evidence"] == [7] and "[Evidence named before files were required: C1-trial.pdf]" in c1["verification_result"]
    assert "evidence" not in c2 and c2["verification_result"].endswith("[Evidence named before files were required: detection study in the lab binder]")
    # reports: the closed one resolved, its free-text related report linked; reviews are stage reviews
    assert reports[2].outcome == "resolved" and reports[2].related_report_id == 1 and reports[1].outcome is None
    assert review.kind == "stage"


# ------------------------------------------------------------------ 0011: languages
def test_0011_keeps_users_without_a_choice_and_states_english_as_the_record_of_old_reports(empty_database_url, tmp_path):
    """Existing users have chosen no language (Accept-Language decides for them); reports written
    before languages existed were written in English, their language of record."""
    import datetime as dt

    from flask_migrate import downgrade, upgrade
    from sqlalchemy import MetaData

    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0008_generation")
        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        now = dt.datetime(2026, 11, 1, 12, 0)
        with db.engine.begin() as conn:
            conn.execute(t["company"].insert(), [{"id": 1, "name": "Volta", "kind": "oem", "active": True, "created_at": now},
                                                 {"id": 2, "name": "CellTech", "kind": "supplier", "active": True, "created_at": now}])
            conn.execute(t["user_account"].insert(), [{"id": 1, "email": "jana@v.example", "name": "Jana Weber", "company_id": 1, "role": "engineer",
                                                       "password_hash": "x", "active": True, "failed_signatures": 0, "created_at": now}])
            conn.execute(t["report"].insert().values(id=1, number="8D-2026-0001", year=2026, seq=1, oem_id=1, supplier_id=2, stage="D2", status="open",
                                                     revision=0, created_at=now, updated_at=now, due={}, change_counter=0, audit_seq=0, lots=[],
                                                     created_by_id=1, title="Cracked welds"))
        upgrade(directory=str(ROOT / "migrations"), revision="0011_language")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT language FROM user_account WHERE id = 1")).scalar_one() is None
            assert conn.execute(text("SELECT language, title FROM report WHERE id = 1")).one() == ("en", "Cracked welds")
        downgrade(directory=str(ROOT / "migrations"), revision="0008_generation")
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT title FROM report WHERE id = 1")).scalar_one() == "Cracked welds"
        db.session.remove()
        db.engine.dispose()


# ------------------------------------------------------------ 0009: the reports already there are searchable
def test_0009_indexes_the_existing_reports(empty_database_url, tmp_path):
    import datetime as dt

    from flask_migrate import upgrade
    from sqlalchemy import MetaData

    from app.models import User
    from app.services import search

    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=empty_database_url, INSTANCE_PATH=str(tmp_path))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"), revision="0008_generation")
        meta = MetaData()
        meta.reflect(db.engine)
        t = meta.tables
        now = dt.datetime(2026, 11, 1, 12, 0)
        with db.engine.begin() as conn:
            conn.execute(t["company"].insert(), [{"id": i, "name": n, "kind": k, "active": True, "created_at": now}
                                                 for i, n, k in ((1, "Volta", "oem"), (2, "CellTech", "supplier"), (3, "Nordpack", "supplier"))])
            conn.execute(t["user_account"].insert(), [{"id": i, "email": f"u{i}@x.example", "name": f"U{i}", "company_id": i, "role": "engineer",
                                                       "password_hash": "x", "active": True, "failed_signatures": 0, "created_at": now} for i in (1, 2, 3)])
            conn.execute(t["report"].insert().values(id=1, number="8D-X-0001", year=2026, seq=1, oem_id=1, supplier_id=2, revision=0, created_at=now,
                                                     updated_at=now, due={}, change_counter=0, audit_seq=0, lots=[], stage="D5", status="open",
                                                     title="Cracked welds", part_number="BM-1"))
            conn.execute(t["discipline"].insert(), [{"report_id": 1, "code": c, "version": 1, "values": OLD_D4 if c == "D4" else {},
                                                     "field_versions": {}, "updated_at": now} for c in CODES])
        upgrade(directory=str(ROOT / "migrations"))
        supplier, other = db.session.get(User, 2), db.session.get(User, 3)
        found = search.search(supplier, "clamp gap")
        assert [(h.report_id, h.discipline) for h in found.items] == [(1, "D4")]
        assert search.search(other, "clamp gap").total == 0
        db.session.remove()
        db.engine.dispose()
