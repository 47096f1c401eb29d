"""A real server process for tests and benchmarks: gunicorn (gthread) on 127.0.0.1, its own
fresh database (a SQLite file, or a new PostgreSQL database when TEST_DATABASE_URL points at
PostgreSQL), migrated with `flask db upgrade` and loaded with the demo data."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, tmp: Path, workers: int = 2, threads: int = 8, extra_env: dict | None = None, seed: bool = True,
                 worker_class: str = "gthread", database_of: LiveServer | None = None):
        """`database_of`: another live server whose database this one shares (a second machine)."""
        self.tmp = Path(tmp)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workers, self.threads, self.seed, self.worker_class = workers, threads, seed, worker_class
        self.pg_admin_url = None
        self.db_name = None
        base = os.environ.get("TEST_DATABASE_URL", "")
        if database_of is not None:
            database_url = database_of.env["DATABASE_URL"]
        elif base.startswith("postgresql"):
            self.db_name = f"wb_live_{uuid.uuid4().hex[:10]}"
            self.pg_admin_url = base
            database_url = base.rsplit("/", 1)[0] + "/" + self.db_name
        else:
            database_url = f"sqlite:///{self.tmp / 'live.db'}"
        self.env = {
            **os.environ,
            "APP_CONFIG": "development",
            "FLASK_APP": "wsgi",
            "INSTANCE_PATH": str(self.tmp / "instance"),
            "DATABASE_URL": database_url,
            "SECRET_KEY": "live-server-secret-key-for-tests-only-0123456789",
            "AUDIT_KEY": "live-server-audit-key-for-tests-only-9876543210",
            "LOGIN_RATE_LIMIT": "100000 per minute",
            "BASE_URL": self.url,
            **(extra_env or {}),
        }
        self.env.pop("TEST_DATABASE_URL", None)
        self.proc: subprocess.Popen | None = None

    def _create_database(self) -> None:
        if not self.db_name:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        engine.dispose()

    def _drop_database(self) -> None:
        if not self.db_name:
            return
        from sqlalchemy import create_engine, text

        engine = create_engine(self.pg_admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        engine.dispose()

    def flask(self, *args: str, input: str | None = None) -> str:
        out = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=self.env, input=input, capture_output=True, text=True, timeout=300)
        if out.returncode != 0:
            raise RuntimeError(f"flask {' '.join(args)} failed: {out.stdout}\n{out.stderr}")
        return out.stdout

    def start(self) -> LiveServer:
        self._create_database()
        self.flask("db", "upgrade")
        if self.seed:
            self.flask("seed-demo")
        self.log = open(self.tmp / "server.log", "w")
        self.proc = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--worker-class", self.worker_class, "--workers", str(self.workers), "--threads", str(self.threads),
             "--access-logfile", "-", "wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + (self.tmp / "server.log").read_text()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if getattr(self, "log", None):
            self.log.close()
        self._drop_database()

    def server_log(self) -> str:
        return (self.tmp / "server.log").read_text()
