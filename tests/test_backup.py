"""`flask backup` while the app is in use, `flask restore` into an empty instance: database
integrity, row counts, the audit chain and every evidence file's hash come back."""

from __future__ import annotations

import json
import threading
import time

import requests

from app.method import EXAMPLE_EVIDENCE
from tests.support.live_server import ROOT, LiveServer

ADD_EVIDENCE = """
import io
from app import create_app
from app.extensions import db
from app.models import Report
from app.services import accounts, evidence
app = create_app()
with app.app_context():
    lukas = accounts.find_user_by_email('lukas.brandt@celltech.example')
    r = db.session.get(Report, 2)
    for i in range(3):
        evidence.upload(lukas, r, io.BytesIO(f'lot;nok\\n2611-{i};{i}\\n'.encode()), f'ledger-{i}.csv', 'D3')
    db.session.commit()
"""


def test_backup_while_running_and_restore_into_an_empty_instance(tmp_path):
    source = LiveServer(tmp_path / "source").start()
    try:
        import subprocess
        import sys

        subprocess.run([sys.executable, "-c", ADD_EVIDENCE], env=source.env, cwd=str(ROOT), check=True)
        # somebody keeps working while the backup runs
        stop = threading.Event()
        token = requests.post(f"{source.url}/api/v1/tokens", json={"email": "sven.lind@nordpack.example", "password": "demo-password-8d"}, timeout=30).json()["token"]

        # Nordpack's report (the only one Sven sees), read from the data
        [report_id] = [r["id"] for r in requests.get(f"{source.url}/api/v1/reports", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()["items"]]
        saves: list[tuple[float, int]] = []  # (when, status) of every edit
        failures: list[BaseException] = []

        def keep_editing():
            k = 0
            try:
                while not stop.is_set():
                    k += 1
                    cur = requests.get(f"{source.url}/api/v1/reports/{report_id}", headers={"Authorization": f"Bearer {token}"}, timeout=30).json()
                    r = requests.patch(f"{source.url}/api/v1/reports/{report_id}/disciplines/D2", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                                       json={"base_version": cur["disciplines"]["D2"]["version"], "fields": {"trend": f"edit {k}"}})
                    saves.append((time.monotonic(), r.status_code))
                    time.sleep(0.02)
            except BaseException as exc:  # reported below, not lost with the thread
                failures.append(exc)

        worker = threading.Thread(target=keep_editing)
        worker.start()
        time.sleep(0.5)
        started = time.monotonic()
        out = source.flask("backup", str(tmp_path / "backup"))
        finished = time.monotonic()
        stop.set()
        worker.join()
        assert "Backup written" in out
        assert not failures, failures
        assert {status for _, status in saves} == {200}, saves
        assert any(started <= at <= finished for at, _ in saves), "nobody could save while the backup ran"
        manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
        # the demo's evidence files (one per file of the method's example) and the three uploaded above
        assert len(manifest["files"]) == len(EXAMPLE_EVIDENCE) + 3 and manifest["counts"]["report"] == 4
    finally:
        source.stop()

    target = LiveServer(tmp_path / "target", seed=False)
    target._create_database()
    try:
        out = target.flask("restore", str(tmp_path / "backup"))
        assert "Restored and verified" in out, out
        assert "intact" in target.flask("audit", "verify")
        assert target.flask("storage", "fsck").strip() == f"checked {len(EXAMPLE_EVIDENCE) + 3} file(s), 0 corrupt"
        # a second restore into the now non-empty instance is refused
        try:
            target.flask("restore", str(tmp_path / "backup"))
            raise AssertionError("restore into a non-empty instance must fail")
        except RuntimeError as exc:
            assert "not empty" in str(exc)
    finally:
        target._drop_database()


def test_a_damaged_backup_is_refused(tmp_path):
    source = LiveServer(tmp_path / "source")
    source._create_database()
    try:
        source.flask("db", "upgrade")
        source.flask("seed-demo")
        source.flask("backup", str(tmp_path / "backup"))
    finally:
        source._drop_database()
    db_file = next((tmp_path / "backup").glob("database.*"))
    data = bytearray(db_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    db_file.write_bytes(bytes(data))
    target = LiveServer(tmp_path / "target", seed=False)
    target._create_database()
    try:
        try:
            target.flask("restore", str(tmp_path / "backup"))
            raise AssertionError("a damaged backup must be refused")
        except RuntimeError as exc:
            assert "damaged" in str(exc)
    finally:
        target._drop_database()
