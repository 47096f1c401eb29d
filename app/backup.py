"""`flask backup DIR` and `flask restore DIR`: a consistent copy while the app runs (SQLite's
online backup API or pg_dump), the evidence files, and a manifest of their SHA-256 and the row
counts; restore brings it back into an empty instance and checks everything it restored."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from flask import current_app
from sqlalchemy import func, inspect, select

from app.extensions import db
from app.models import Attachment, utcnow
from app.storage import get_store
from app.storage.base import hash_file

FORMAT = 1


class BackupError(Exception):
    pass


def _libpq_url(url) -> str:
    """postgresql+psycopg://... -> postgresql://... for pg_dump / pg_restore."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hash_file(f)[0]


def row_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def backup(target: Path) -> dict:
    target = Path(target)
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty; choose a new directory.")
    target.mkdir(parents=True, exist_ok=True)
    url = db.engine.url
    manifest: dict = {"format": FORMAT, "created_at": utcnow().isoformat() + "Z", "dialect": url.get_backend_name(), "files": {}}
    if url.get_backend_name() == "sqlite":
        dest = target / "database.sqlite3"
        src = sqlite3.connect(url.database)
        try:
            out = sqlite3.connect(dest)
            with out:
                src.backup(out)  # the online backup API: a consistent snapshot while others write
            out.close()
        finally:
            src.close()
        manifest["database"] = {"file": dest.name, "sha256": _sha256_file(dest)}
        manifest["counts"] = _counts_of(target, manifest)
        blobs = _blobs_of(target / dest.name)
    else:
        # One snapshot for the dump, the counts and the list of files: exported from a
        # repeatable-read transaction and handed to pg_dump.
        dest = target / "database.dump"
        with db.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
                manifest["counts"] = {t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in db.metadata.sorted_tables}
                blobs = conn.execute(select(Attachment.sha256, Attachment.storage_key).where(Attachment.purged_at.is_(None)).distinct()).all()
                subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--snapshot={snapshot}", "--file", str(dest), _libpq_url(url)],
                               check=True, capture_output=True)
        manifest["database"] = {"file": dest.name, "sha256": _sha256_file(dest)}
    store = get_store(current_app)
    files_dir = target / "evidence"
    for sha, key in blobs:
        dest_file = files_dir / key
        dest_file.parent.mkdir(parents=True, exist_ok=True)
        with store.open_verified(key, sha) as reader, open(dest_file, "wb") as f:
            for chunk in reader:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        manifest["files"][key] = {"sha256": sha, "size": dest_file.stat().st_size}
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def _counts_of(target: Path, manifest: dict) -> dict[str, int]:
    conn = sqlite3.connect(target / manifest["database"]["file"])
    try:
        return {t.name: conn.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0] for t in db.metadata.sorted_tables}
    finally:
        conn.close()


def _blobs_of(copy: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(copy)
    try:
        return conn.execute("SELECT DISTINCT sha256, storage_key FROM attachment WHERE purged_at IS NULL").fetchall()
    finally:
        conn.close()


def restore(source: Path) -> dict:
    source = Path(source)
    manifest = json.loads((source / "manifest.json").read_text())
    if manifest.get("format") != FORMAT:
        raise BackupError("Unknown backup format.")
    db_file = source / manifest["database"]["file"]
    if _sha256_file(db_file) != manifest["database"]["sha256"]:
        raise BackupError("The database copy in the backup is damaged (SHA-256 mismatch).")
    url = db.engine.url
    if url.get_backend_name() != manifest["dialect"]:
        raise BackupError(f"The backup is of a {manifest['dialect']} database; this instance uses {url.get_backend_name()}.")
    existing = inspect(db.engine).get_table_names()
    if "report" in existing and db.session.scalar(select(func.count()).select_from(db.metadata.tables["report"])):
        raise BackupError("This instance is not empty; restore into an empty instance.")
    db.session.remove()
    db.engine.dispose()
    if manifest["dialect"] == "sqlite":
        path = Path(url.database)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.copyfile(db_file, path)
    else:
        if existing:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            db.engine.dispose()
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", _libpq_url(url), str(db_file)], check=True, capture_output=True)
    store = get_store(current_app)
    for key, info in manifest["files"].items():
        with open(source / "evidence" / key, "rb") as f:
            blob = store.ingest(f, max(info["size"], 1) + 1, enforce_types=False)
        if blob.sha256 != info["sha256"] or blob.key != key:
            raise BackupError(f"Evidence file {key} is damaged in the backup.")
    return verify_restore(manifest)


def verify_restore(manifest: dict) -> dict:
    from app.services.audit import verify_chains

    counts = row_counts()
    wrong = {t: (n, counts.get(t)) for t, n in manifest["counts"].items() if counts.get(t) != n}
    if wrong:
        raise BackupError(f"Row counts differ after restore: {wrong}")
    checked, breaks = verify_chains()
    if breaks:
        raise BackupError("The audit trail does not verify after restore: " + "; ".join(map(str, breaks)))
    store = get_store(current_app)
    bad = [key for key, info in manifest["files"].items() if not store.verify(key, info["sha256"])]
    if bad:
        raise BackupError(f"Evidence files fail their SHA-256 check: {bad[:5]}")
    if manifest["dialect"] == "sqlite":
        result = db.session.execute(db.text("PRAGMA integrity_check")).scalar()
        if result != "ok":
            raise BackupError(f"SQLite integrity check: {result}")
    return {"rows": sum(counts.values()), "events": checked, "files": len(manifest["files"])}



