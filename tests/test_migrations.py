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
from config import TestingConfig


def _script() -> ScriptDirectory:
    cfg = AlembicConfig(str(ROOT / "migrations" / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return ScriptDirectory.from_config(cfg)


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
            ctx = MigrationContext.configure(conn, opts={"compare_type": True, "render_as_batch": True})
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
