"""The read path against the open peer, measured side by side in one run (issue 17, "Speed").

On PostgreSQL: 8D Workbench's `GET /api/v1/reports/{id}` (the demo's closed report, the whole 8D
as JSON, bearer token) and the peer stand-in's `GET /api/capa/{id}` (bench/peer/app.py: FastAPI,
async SQLAlchemy on asyncpg, JWT, pydantic - OpenQMS's request path) with the same content, both
served by 2 processes on this machine, the load from wrk (Debian's package; a Python client would
saturate first on 2 cores). Also a bare Flask hello-world under the same gunicorn settings as the
app (R1's denominator) and the app's conditional GET (If-None-Match -> 304).

    python bench/readpath.py            # BENCH_DATABASE_URL or TEST_DATABASE_URL (PostgreSQL)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.wrk import wrk as _wrk  # noqa: E402
from tests.support.live_server import BIN, LiveServer, free_port  # noqa: E402

SECONDS = float(os.environ.get("READPATH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("READPATH_CONNECTIONS", "16"))
PROCESSES = 2  # both sides: one process per core
THREADS = 4
PASSWORD = "demo-password-8d"


def wrk(url: str, headers: dict[str, str] | None = None) -> dict:
    return _wrk(url, headers, seconds=SECONDS, connections=CONNECTIONS)


def _get(url: str, headers: dict) -> tuple[int, bytes, dict]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, r.read(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read(), dict(e.headers)


def _token(url: str, email: str) -> str:
    body = json.dumps({"email": email, "password": PASSWORD}).encode()
    request = urllib.request.Request(url + "/api/v1/tokens", data=body, headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.build_opener(urllib.request.ProxyHandler({})).open(request, timeout=30) as r:
        return json.loads(r.read())["token"]


# ----------------------------------------------------------------------------------- the peer
def _admin_url(url: str) -> str:
    return re.sub(r"^postgresql(\+\w+)?://", "postgresql://", url)


def seed_peer(database_url: str, document: dict) -> tuple[str, str]:
    """Create the peer's tables and one 8D record holding `document`'s content; (record id, JWT)."""
    import jwt
    import psycopg

    user_id, factory_id, record_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    texts = {code: json.dumps(document["disciplines"][code]["fields"], ensure_ascii=False) for code in ("D2", "D3", "D4", "D5", "D6", "D7", "D8")}
    team = document["team"]
    ddl = (ROOT / "bench" / "peer" / "schema.sql").read_text()
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
        conn.execute(ddl)
        conn.execute("INSERT INTO tenant_volta.users (user_id, username, role, is_active) VALUES (%s, 'jana.weber', 'engineer', true)", (user_id,))
        conn.execute("INSERT INTO tenant_volta.user_factories (user_id, factory_id) VALUES (%s, %s)", (user_id, factory_id))
        conn.execute("INSERT INTO tenant_volta.user_product_lines (user_id, product_line_code) VALUES (%s, 'BM-12S')", (user_id,))
        conn.execute("INSERT INTO tenant_volta.module_permissions (role, module, level) VALUES ('engineer', 'capa', 2), ('engineer', 'group', 1)")
        conn.execute(
            "INSERT INTO tenant_volta.capa_eightd (report_id, document_no, title, product_line_code, factory_id, status, severity, d1_team,"
            " d2_description, d3_interim, d4_root_cause, d5_correction, d6_verification, d7_prevention, d8_closure, due_date, created_by,"
            " created_at, updated_at) VALUES (%s, %s, %s, 'BM-12S', %s, 'D8_CLOSURE', 'critical', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (record_id, document["number"], document["title"], factory_id, json.dumps(team), texts["D2"], texts["D3"], texts["D4"], texts["D5"],
             texts["D6"], texts["D7"], texts["D8"], dt.date.today() + dt.timedelta(days=30), user_id, now, now),  # machine-clock: intended
        )
    secret = "peer-secret-for-the-bench-only-0123456789"
    token = jwt.encode({"sub": str(user_id), "aud": "tenant", "exp": int(time.time()) + 3600}, secret, algorithm="HS256")
    return str(record_id), token


def start_peer(database_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PEER_DATABASE_URL": re.sub(r"^postgresql(\+\w+)?://", "postgresql+asyncpg://", database_url)}
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([str(BIN / "uvicorn"), "bench.peer.app:app", "--host", "127.0.0.1", "--port", str(port), "--workers", str(PROCESSES),
                             "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            _get(url + "/docs", {})
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the peer did not start: " + log.read_text()[-2000:])


def _stop(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------------- the run
def measure(database_url: str) -> dict:
    """Serve both sides on PostgreSQL and measure them one after the other with wrk."""
    tmp = Path(tempfile.mkdtemp(prefix="readpath-"))
    os.environ["TEST_DATABASE_URL"] = database_url  # LiveServer makes its own database from it
    app = LiveServer(tmp / "app", workers=PROCESSES, threads=THREADS, extra_env={"EMBEDDED_WORKER": "0"}).start()
    try:
        token = _token(app.url, "jana.weber@volta.example")
        auth = {"Authorization": f"Bearer {token}"}
        status, body, headers = _get(app.url + "/api/v1/reports/1", auth)
        assert status == 200, (status, body[:300])
        document = json.loads(body)
        results = {"app_bytes": len(body)}
        results["app"] = wrk(app.url + "/api/v1/reports/1", auth)
        if headers.get("ETag"):
            results["app_304"] = wrk(app.url + "/api/v1/reports/1", {**auth, "If-None-Match": headers["ETag"]})
        peer_db = app.db_name + "_peer"
        import psycopg

        with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{peer_db}"')
        peer_url = database_url.rsplit("/", 1)[0] + "/" + peer_db
        try:
            record, jwt_token = seed_peer(peer_url, document)
            peer, purl = start_peer(peer_url, tmp / "peer.log")
            try:
                status, pbody, _ = _get(f"{purl}/api/capa/{record}", {"Authorization": f"Bearer {jwt_token}"})
                assert status == 200, (status, pbody[:300])
                results["peer_bytes"] = len(pbody)
                results["peer"] = wrk(f"{purl}/api/capa/{record}", {"Authorization": f"Bearer {jwt_token}"})
            finally:
                _stop(peer)
        finally:
            with psycopg.connect(_admin_url(database_url), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{peer_db}" WITH (FORCE)')
        results["hello"] = hello(tmp)
    finally:
        app.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


def hello(tmp: Path) -> dict:
    """A bare Flask hello-world (bench/hello.py) under the app's gunicorn settings."""
    port = free_port()
    with open(tmp / "hello.log", "w") as log:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread", "--workers", str(PROCESSES),
                                 "--threads", str(THREADS), "bench.hello:app"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            for _ in range(300):
                try:
                    _get(f"http://127.0.0.1:{port}/", {})
                    break
                except OSError:
                    time.sleep(0.1)
            return wrk(f"http://127.0.0.1:{port}/")
        finally:
            _stop(proc)


def table(r: dict) -> str:
    rows = [
        ("8D Workbench GET /api/v1/reports/{id}", r["app"], f"{r['app_bytes'] / 1024:.0f} KB"),
        *([("  the same, If-None-Match (304)", r["app_304"], "0 KB")] if "app_304" in r else []),
        ("peer stand-in GET /api/capa/{id}", r["peer"], f"{r['peer_bytes'] / 1024:.0f} KB"),
        ("bare Flask hello-world (gunicorn, same settings)", r["hello"], ""),
    ]
    lines = ["| what | req/s | p50 ms | p99 ms | errors | body |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {m['rps']:.0f} | {m['p50']:.2f} | {m['p99']:.2f} | {m['errors']} | {size} |" for name, m, size in rows]
    lines.append(f"\nratio app / peer: **{r['app']['rps'] / r['peer']['rps']:.2f}** (goal >= 3); "
                 f"app / hello-world: {r['app']['rps'] / r['hello']['rps']:.2f}")
    return "\n".join(lines)


def rows(label: str, database_url: str) -> list[tuple]:
    """The read path's lines of `make bench`'s table (bench/run.py)."""
    r = measure(database_url)
    out = [(label, "S1 API report read req/s: app / peer stand-in (FastAPI + asyncpg + JWT), wrk",
            f"{r['app']['rps']:.0f} / {r['peer']['rps']:.0f} ({r['app_bytes'] / 1024:.0f} KB / {r['peer_bytes'] / 1024:.0f} KB)",
            r["app"]["rps"] / r["peer"]["rps"], ">= 3")]
    if "app_304" in r:
        out.append((label, "S1 the same read revalidated (If-None-Match, 304) req/s / peer", f"{r['app_304']['rps']:.0f} / {r['peer']['rps']:.0f}",
                    r["app_304"]["rps"] / r["peer"]["rps"], ""))
    return out


if __name__ == "__main__":
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    print(table(measure(url)))
