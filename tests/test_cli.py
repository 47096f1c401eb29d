"""The command line of docs/api.md: companies, users (password from stdin, never an argument),
set-password, seed-demo, audit verify."""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Company, Report, User


def test_company_and_user_create_with_password_from_stdin(app, ctx):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["company", "create", "CellTech Modules GmbH", "--kind", "supplier"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(args=["user", "create", "Lukas@CellTech.example", "--name", "Lukas Brandt", "--company", "celltech modules gmbh", "--role", "engineer"],
                      input="a-long-secret-password\n")
    assert r.exit_code == 0, r.output
    user = db.session.scalar(select(User).where(User.email == "lukas@celltech.example"))
    assert user is not None and user.check_password("a-long-secret-password") and user.role.value == "engineer"
    assert "a-long-secret-password" not in r.output


def test_user_create_refuses_weak_password_duplicates_and_unknown_company(app, ctx):
    runner = app.test_cli_runner()
    runner.invoke(args=["company", "create", "Volta Motors AG", "--kind", "oem"])
    r = runner.invoke(args=["user", "create", "a@volta.example", "--name", "A", "--company", "Volta Motors AG", "--role", "engineer"], input="short\n")
    assert r.exit_code != 0 and "12 characters" in r.output
    r = runner.invoke(args=["user", "create", "a@volta.example", "--name", "A", "--company", "Nope", "--role", "engineer"], input="a-long-secret-password\n")
    assert r.exit_code != 0 and "No company" in r.output
    assert runner.invoke(args=["company", "create", "volta motors ag", "--kind", "oem"]).exit_code != 0
    assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_set_password_changes_it_and_ends_sessions(app, ctx, make_user):
    user = make_user("engineer")
    r = app.test_cli_runner().invoke(args=["user", "set-password", user.email], input="another-long-password\n")
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("another-long-password")


def test_seed_demo_loads_once_and_the_audit_trail_verifies(app, ctx):
    runner = app.test_cli_runner()
    r = runner.invoke(args=["seed-demo", "--if-empty"])
    assert r.exit_code == 0, r.output
    assert db.session.scalar(select(func.count()).select_from(Report)) == 4  # three reports and a cascade of the coolant leak
    assert db.session.scalar(select(func.count()).select_from(Company)) == 5  # OEM, two suppliers, a sub-supplier, the platform's operator
    statuses = sorted((r.stage, r.status.value, r.parent_id is not None) for r in db.session.scalars(select(Report)))
    assert statuses == [("D0", "open", True), ("D1", "open", False), ("D3", "in_review", False), ("D8", "closed", False)]
    r = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has data" in r.output
    assert db.session.scalar(select(func.count()).select_from(Report)) == 4
    r = runner.invoke(args=["audit", "verify"])
    assert r.exit_code == 0 and "intact" in r.output


def test_production_config_refuses_a_missing_or_weak_secret_key(monkeypatch):
    import pytest

    from config import ProductionConfig

    monkeypatch.setenv("AUDIT_KEY", "a" * 64)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "change-me")
    with pytest.raises(RuntimeError):
        ProductionConfig()
    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    assert ProductionConfig().SECRET_KEY == "x" * 64


def test_production_config_refuses_a_missing_weak_or_reused_audit_key(monkeypatch):
    import pytest

    from config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "x" * 64)
    for value in (None, "short", "x" * 64):  # missing, weak, the secret key again
        if value is None:
            monkeypatch.delenv("AUDIT_KEY", raising=False)
        else:
            monkeypatch.setenv("AUDIT_KEY", value)
        with pytest.raises(RuntimeError, match="AUDIT_KEY"):
            ProductionConfig()
    monkeypatch.setenv("AUDIT_KEY", "k" * 64)
    assert ProductionConfig().AUDIT_KEY == "k" * 64


def test_development_keeps_a_generated_audit_key_in_the_instance_folder(tmp_path, monkeypatch):
    import stat

    from app import create_app
    from config import TestingConfig

    monkeypatch.delenv("AUDIT_KEY", raising=False)
    config = TestingConfig()
    config.AUDIT_KEY = None
    first = create_app(config, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_PATH=str(tmp_path)).config["AUDIT_KEY"]
    again = create_app(config, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_PATH=str(tmp_path)).config["AUDIT_KEY"]
    key_file = tmp_path / "audit_key"
    assert first == again == key_file.read_text().strip() and len(first) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
