"""`flask storage ...`: housekeeping of the evidence store. Register with
`app.cli.add_command(storage_cli)`."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from app.storage import get_store

storage_cli = AppGroup("storage", help="Evidence file store: sweep temporary files, check integrity.")


@storage_cli.command("info")
def storage_info() -> None:
    """Show where evidence files are stored."""
    click.echo(get_store(current_app).describe())


@storage_cli.command("sweep")
@click.option("--older-than", "older_than", default=3600, show_default=True, type=click.IntRange(min=0), help="Age in seconds.")
def storage_sweep(older_than: int) -> None:
    """Remove temporary files (and abandoned S3 multipart uploads) left by crashed uploads."""
    removed = get_store(current_app).sweep_temp(older_than_seconds=older_than)
    click.echo(f"removed {removed} orphaned temporary file(s)")


@storage_cli.command("fsck")
def storage_fsck() -> None:
    """Re-hash every stored file against its SHA-256 name; exit 1 if any is damaged."""
    store = get_store(current_app)
    total = bad = 0
    for key, ok in store.fsck():
        total += 1
        if not ok:
            bad += 1
            click.echo(f"CORRUPT {key}", err=True)
    click.echo(f"checked {total} file(s), {bad} corrupt")
    if bad:
        raise SystemExit(1)
