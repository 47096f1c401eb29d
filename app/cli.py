"""Command line (`flask --app wsgi ...`): companies, users, demo data, audit verification."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.errors import DomainError
from app.extensions import db
from app.models import Company, Report

company_cli = AppGroup("company", help="Manage companies.")
user_cli = AppGroup("user", help="Manage users.")
audit_cli = AppGroup("audit", help="Check the audit trail.")
search_cli = AppGroup("search", help="The full-text index of the reports.")


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the full-text index of every report (one transaction)."""
    from app.models import search

    count = search.reindex(db.session.connection())
    db.session.commit()
    click.echo(f"Indexed {count} report{'s' if count != 1 else ''}.")


def _fail(exc: DomainError) -> None:
    db.session.rollback()
    detail = "; ".join(f"{k} {v}" for k, v in (exc.details.get("fields") or {}).items())
    raise click.ClickException(exc.message + (f" ({detail})" if detail else ""))


def _read_password(prompt: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


@company_cli.command("create")
@click.argument("name")
@click.option("--kind", type=click.Choice(["oem", "supplier"]), required=True)
def company_create(name: str, kind: str) -> None:
    """Create a company (kind oem or supplier)."""
    from app.services import accounts

    try:
        company = accounts.create_company(None, name, kind)
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created company {company.name} ({company.kind.value}), id {company.id}.")


@company_cli.command("link")
@click.argument("customer")
@click.argument("supplier")
def company_link(customer: str, supplier: str) -> None:
    """Record that CUSTOMER buys from SUPPLIER (its 8Ds may cascade there)."""
    from app.services import accounts

    found = {n: db.session.scalar(select(Company).where(Company.name == n)) for n in (customer, supplier)}
    missing = [n for n, c in found.items() if c is None]
    if missing:
        raise click.ClickException(f"No company named {missing[0]!r}.")
    try:
        new = accounts.link_supplier(None, found[customer], found[supplier])
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"{customer} buys from {supplier}" + ("." if new else " (recorded before)."))


@user_cli.command("create")
@click.argument("email")
@click.option("--name", required=True)
@click.option("--company", "company_name", required=True, help="Company name.")
@click.option("--role", type=click.Choice(["admin", "quality_lead", "engineer", "viewer"]), required=True)
@click.option("--platform-admin", "platform_admin", is_flag=True,
              help="A platform administrator: creates companies and manages any account (no report content of other companies).")
def user_create(email: str, name: str, company_name: str, role: str, platform_admin: bool) -> None:
    """Create a user; the password is asked for (or read as one line from stdin)."""
    from app.services import accounts

    company = db.session.scalar(select(Company).where(func.lower(Company.name) == company_name.strip().lower()))
    if company is None:
        raise click.ClickException(f"No company named {company_name!r}.")
    password = _read_password("Password")
    try:
        user = accounts.create_user(None, email, name, company.id, role, password, platform_admin=platform_admin)
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Created user {user.email} ({user.role.value}{', platform admin' if user.platform_admin else ''}) at {company.name}.")


@user_cli.command("platform-admin")
@click.argument("email")
@click.option("--grant/--revoke", required=True, help="Grant or revoke platform administration.")
def user_platform_admin(email: str, grant: bool) -> None:
    """Grant or revoke platform administration - only ever from the command line. Revoking ends
    the user's sessions and tokens."""
    from app.services import accounts

    user = accounts.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email!r}.")
    changed = accounts.set_platform_admin(user, grant)
    db.session.commit()
    state = "is now" if grant else "is no longer"
    click.echo(f"{user.email} {state} a platform administrator." if changed else f"{user.email} was already {'' if grant else 'not '}a platform administrator.")


@user_cli.command("set-password")
@click.argument("email")
def user_set_password(email: str) -> None:
    """Set a user's password (asked for, or read from stdin); ends their sessions and tokens."""
    from app.services import accounts

    user = accounts.find_user_by_email(email)
    if user is None:
        raise click.ClickException(f"No user {email!r}.")
    password = _read_password("New password")
    try:
        accounts.set_password(None, user, password)
        db.session.commit()
    except DomainError as exc:
        _fail(exc)
    click.echo(f"Password of {user.email} changed.")


@audit_cli.command("verify")
@click.option("--anchors", "anchors_file", type=click.Path(exists=True, dir_okay=False),
              help="A file of `flask audit anchor` lines kept outside: history before them must be unchanged.")
def audit_verify(anchors_file: str | None) -> None:
    """Check every keyed hash chain of the audit trail and every review and signature row;
    names the first broken link of each chain."""
    from pathlib import Path

    from app.services.audit import parse_anchors, verify_chains

    anchors = None
    if anchors_file:
        try:
            anchors = parse_anchors(Path(anchors_file).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise click.ClickException(f"{anchors_file}: {exc}") from None
    checked, breaks = verify_chains(anchors)
    if breaks:
        for b in breaks:
            click.echo(f"BROKEN {b}", err=True)
        raise SystemExit(1)
    suffix = f"; {len(anchors)} anchors match" if anchors is not None else ""
    click.echo(f"Audit trail intact: {checked} events verified{suffix}.")


@audit_cli.command("anchor")
@click.option("--out", "out_file", type=click.Path(dir_okay=False), help="Also append the lines to this file.")
def audit_anchor(out_file: str | None) -> None:
    """Print the head of every chain (`<UTC time> <chain> <seq> <hash>`), after checking the trail.
    Keep the lines outside this machine; `audit verify --anchors FILE` proves later that nothing
    before them was rewritten."""
    from app.services.audit import anchor_lines, verify_chains

    _checked, breaks = verify_chains()
    if breaks:
        for b in breaks:
            click.echo(f"BROKEN {b}", err=True)
        raise click.ClickException("The audit trail does not verify; nothing was anchored.")
    lines = anchor_lines()
    for line in lines:
        click.echo(line)
    if out_file:
        with open(out_file, "a", encoding="utf-8") as f:
            f.writelines(line + "\n" for line in lines)


@audit_cli.command("seal-legacy")
def audit_seal_legacy() -> None:
    """Once, after upgrading an installation whose trail predates AUDIT_KEY: seal each chain's
    unkeyed events with a keyed MAC of the last one."""
    from app.services.audit import seal_legacy

    try:
        sealed = seal_legacy()
    except ValueError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Sealed {len(sealed)} chains." if sealed else "Nothing to seal: every chain is keyed or sealed already.")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only when the database has no reports yet.")
def seed_demo(if_empty: bool) -> None:
    """Load the demo companies, users and three reports."""
    from app.demo import load_demo

    if if_empty and (db.session.scalar(select(func.count()).select_from(Report)) or db.session.scalar(select(func.count()).select_from(Company))):
        click.echo("Demo data not loaded: the database already has data.")
        return
    load_demo()
    click.echo(f"Demo data loaded. Sign in with any demo user, password: {current_app.config['DEMO_PASSWORD']}")


@click.command("backup")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_command(directory: str) -> None:
    """Consistent copy of the database and the evidence files, with a SHA-256 manifest."""
    from app.backup import BackupError, backup

    try:
        manifest = backup(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {directory}: {sum(manifest['counts'].values())} rows, {len(manifest['files'])} evidence files.")


@click.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
def restore_command(directory: str) -> None:
    """Restore a backup into an empty instance, then check rows, audit trail and file hashes."""
    from app.backup import BackupError, restore

    try:
        result = restore(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Restored and verified: {result['rows']} rows, {result['events']} audit events, {result['files']} evidence files.")


def register(app) -> None:
    app.cli.add_command(company_cli)
    app.cli.add_command(user_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(seed_demo)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from app.storage.cli import storage_cli

    app.cli.add_command(storage_cli)
