"""`make bench`: seeds data, serves the app with gunicorn on 127.0.0.1, drives load from this
(separate) process and prints one table; also written to bench/RESULTS.md. Every timing is a
ratio against a baseline measured in the same run, next to the absolute figure."""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.extra import MailSink, delivery, upload_throughput  # noqa: E402
from bench.wrk import wrk  # noqa: E402
from tests.support.live_server import BIN, LiveServer  # noqa: E402

DURATION = float(os.environ.get("BENCH_SECONDS", "6"))
PASSWORD = "demo-password-8d"
WORKERS, THREADS = 4, 4


# ------------------------------------------------------------------------------ load generator
class Client:
    """Keep-alive HTTP client with a cookie jar, enough for a load test on loopback."""

    def __init__(self, port: int, cookie: str = "", headers: dict | None = None):
        self.port, self.cookie, self.headers = port, cookie, headers or {}
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        h = {**self.headers, **(headers or {})}
        if self.cookie:
            h["Cookie"] = self.cookie
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, data, r
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        raise AssertionError


def login_cookie(port: int, email: str) -> str:
    c = Client(port)
    status, page, r = c.request("GET", "/login")
    cookie = r.getheader("Set-Cookie").split(";")[0]
    token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page).group(1).decode()
    c.cookie = cookie
    status, _, r = c.request("POST", "/login", urlencode({"email": email, "password": PASSWORD, "csrf_token": token}).encode(),
                             {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 302, status
    c.cookie = r.getheader("Set-Cookie").split(";")[0]
    # follow the redirect as a browser does: the welcome message is shown and leaves the session
    status, _, r = c.request("GET", "/")
    assert status == 200, status
    fresh = r.getheader("Set-Cookie")
    return fresh.split(";")[0] if fresh else c.cookie


def api_token(port: int, email: str) -> str:
    c = Client(port)
    status, body, _ = c.request("POST", "/api/v1/tokens", json.dumps({"email": email, "password": PASSWORD}).encode(), {"Content-Type": "application/json"})
    assert status == 201, body
    return json.loads(body)["token"]


def load(port: int, path: str, concurrency: int, cookie: str = "", seconds: float = DURATION) -> dict:
    """GET `path` from `concurrency` keep-alive connections for `seconds`, driven by wrk."""
    return wrk(f"http://127.0.0.1:{port}{path}", {"Cookie": cookie} if cookie else None, seconds=seconds, connections=concurrency)


def saves(port: int, tokens: list[str], report_id: int, seconds: float = DURATION) -> dict:
    fields = ["problem_statement", "customer_description", "supplier_description", "effect_field"]
    counts = {"ok": 0, "bad": 0}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(i: int):
        c = Client(port, headers={"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"})
        status, body, _ = c.request("GET", f"/api/v1/reports/{report_id}/disciplines/D2")
        version = json.loads(body)["version"]
        ok = bad = 0
        k = 0
        while time.perf_counter() < stop:
            k += 1
            status, body, _ = c.request("PATCH", f"/api/v1/reports/{report_id}/disciplines/D2",
                                        json.dumps({"base_version": version, "fields": {fields[i]: f"save {k} by {i} with 37 parts"}}).encode())
            if status == 200:
                ok += 1
                version = json.loads(body)["version"]
            else:
                bad += 1
        with lock:
            counts["ok"] += ok
            counts["bad"] += bad

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(tokens))]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {"per_s": counts["ok"] / elapsed, "errors": counts["bad"]}


# ------------------------------------------------------------------------------------ one database
def run_python(server: LiveServer, *args: str) -> str:
    out = subprocess.run([str(BIN / "python"), *args], cwd=ROOT, env=server.env, capture_output=True, text=True, timeout=1200)
    if out.returncode:
        raise RuntimeError(out.stdout + out.stderr)
    return out.stdout.strip()


def bench_database(label: str, pg_url: str | None) -> list[tuple]:
    rows: list[tuple] = []
    if pg_url:
        os.environ["TEST_DATABASE_URL"] = pg_url
    else:
        os.environ.pop("TEST_DATABASE_URL", None)
    tmp = Path(tempfile.mkdtemp(prefix="bench-"))
    sink = MailSink()
    server = LiveServer(tmp, workers=WORKERS, threads=THREADS, extra_env={
        "MAX_UPLOAD_MB": "300", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(sink.port), "EMBEDDED_WORKER": "1"}).start()
    try:
        port = server.port
        t0 = time.perf_counter()
        report_id = int(run_python(server, "bench/seed.py", "full"))
        cookie = login_cookie(port, "lukas.brandt@celltech.example")
        hello = hello_world(tmp, port_env=server.env)
        page = load(port, f"/reports/{report_id}?d=D4", 8, cookie)
        rows.append((label, "R1 report page req/s / bare Flask hello-world req/s", f"{page['rps']:.0f} / {hello['rps']:.0f}", page["rps"] / hello["rps"], ">= 0.15"))
        rows.append((label, "R2 report page p95 at 8 connections (ms)", f"p50 {page['p50']:.0f}, errors {page['errors']}", page["p95"], "<= 60"))

        lukas_token = api_token(port, "lukas.brandt@celltech.example")
        up = upload_throughput(server, lukas_token, report_id)
        rows.append((label, f"R5 {up['size_mb']:.0f} MB upload MB/s / plain copy MB/s (best of {up['runs']})", f"{up['upload_mbs']:.0f} / {up['copy_mbs']:.0f}",
                     up["upload_mbs"] / up["copy_mbs"], ">= 0.5"))
        rows.append((label, "R5 server peak memory growth during the upload (MB)", "RSS of the gunicorn workers", up["peak_growth_mb"], "< 32"))

        one = json.loads(run_python(server, "bench/querycount.py", "lukas.brandt@celltech.example", f"/reports/{report_id}?d=D3", "/actions", "/"))
        run_python(server, "bench/seed.py", "actions", str(report_id), "80")
        many = json.loads(run_python(server, "bench/querycount.py", "lukas.brandt@celltech.example", f"/reports/{report_id}?d=D3", "/actions", "/"))
        for path in one:
            rows.append((label, f"R3 SQL statements {path.split('?')[0]} (100 vs 20 actions)", f"{many[path]} vs {one[path]}", many[path] / one[path], "1.0 and <= 15"))

        seed_t0 = time.perf_counter()
        run_python(server, "bench/seed.py", "reports", "1000")
        dash_small = load(port, "/", 8, cookie)
        list_small = load(port, "/actions", 8, cookie)
        run_python(server, "bench/seed.py", "reports", "99000")
        seed_time = time.perf_counter() - seed_t0
        dash_big = load(port, "/", 8, cookie)
        list_big = load(port, "/actions", 8, cookie)
        rows.append((label, "R4 dashboard req/s 100k / 1k reports", f"{dash_big['rps']:.0f} / {dash_small['rps']:.0f}", dash_big["rps"] / dash_small["rps"], ">= 0.8"))
        rows.append((label, "R4 action list req/s 100k / 1k reports", f"{list_big['rps']:.0f} / {list_small['rps']:.0f}", list_big["rps"] / list_small["rps"], ">= 0.8"))
        rows.append((label, "seeding 100,000 reports (s)", "bulk insert", seed_time, "minutes, not hours"))

        tokens = [api_token(port, e) for e in ("lukas.brandt@celltech.example", "mia.schulz@celltech.example",
                                                "jana.weber@volta.example", "petra.vogel@celltech.example")]
        add_team(server, report_id)
        single = saves(port, tokens[:1], report_id)
        quad = saves(port, tokens, report_id)
        goal = ">= 1.5" if pg_url else ">= 1.0"
        rows.append((label, f"R7 discipline saves/s 4 editors / 1 editor (gthread {WORKERS} x {THREADS})",
                     f"{quad['per_s']:.0f} / {single['per_s']:.0f}, errors {quad['errors'] + single['errors']}", quad["per_s"] / single["per_s"], goal))

        def call(method, path, body):
            c = Client(port, headers={"Authorization": f"Bearer {lukas_token}", "Content-Type": "application/json"})
            status, data, _ = c.request(method, path, json.dumps(body).encode())
            return status, data

        mail = delivery(server, sink, call, report_id)
        rows.append((label, "R6 e-mail delivery to a local SMTP server (messages/s)", "1,000 queued at once", mail["rate"], ">= 200"))
        rows.append((label, "R6 stage change to mail arrival, p95 (s)", f"median {mail['median']:.2f} s, 20 changes", mail["p95"], "< 2"))
    finally:
        server.stop()
        sink.stop()
    rows.append(r7_behind_a_proxy(label, tmp, goal))
    rows.append((label, "bench time for this database (s)", "", time.perf_counter() - t0, ""))
    return rows


def hello_world(tmp: Path, port_env: dict) -> dict:
    """R1's baseline: a bare Flask hello-world (bench/hello.py) under the same gunicorn settings
    as the app server (gthread, WORKERS x THREADS), measured while the app server idles. /healthz
    is no baseline any more: it asks the database."""
    from tests.support.live_server import free_port

    port = free_port()
    env = {**port_env, "EMBEDDED_WORKER": "0"}
    with open(tmp / "hello.log", "w") as log:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "--config", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "--worker-class", "gthread",
                                 "--workers", str(WORKERS), "--threads", str(THREADS), "bench.hello:app"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                if Client(port).request("GET", "/")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        load(port, "/", 4, seconds=1)  # warm up
        return load(port, "/", 8)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def r7_behind_a_proxy(label: str, tmp: Path, goal: str) -> tuple:
    """R7 again on the configuration for a deployment behind a buffering proxy: sync workers, 2 x
    cores + 1. A busy process takes no new connection, so no two saves share one interpreter lock;
    with gthread, keep-alive connections stay with the process that accepted them."""
    workers = 2 * (os.cpu_count() or 1) + 1
    (tmp / "sync").mkdir(exist_ok=True)
    server = LiveServer(tmp / "sync", workers=workers, threads=1, worker_class="sync").start()
    try:
        report_id = int(run_python(server, "bench/seed.py", "full"))
        tokens = [api_token(server.port, e) for e in ("lukas.brandt@celltech.example", "mia.schulz@celltech.example",
                                                       "jana.weber@volta.example", "petra.vogel@celltech.example")]
        add_team(server, report_id)
        single = saves(server.port, tokens[:1], report_id)
        quad = saves(server.port, tokens, report_id)
    finally:
        server.stop()
    return (label, f"R7 discipline saves/s 4 editors / 1 editor (sync {workers} x 1, as behind a proxy)",
            f"{quad['per_s']:.0f} / {single['per_s']:.0f}, errors {quad['errors'] + single['errors']}", quad["per_s"] / single["per_s"], goal)


def add_team(server: LiveServer, report_id: int) -> None:
    code = (
        "from app import create_app\nfrom app.extensions import db\nfrom app.models import Report\nfrom app.services import accounts, team\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    r = db.session.get(Report, {report_id})\n"
        "    lead = accounts.find_user_by_email('lukas.brandt@celltech.example')\n"
        "    for e in ('jana.weber@volta.example', 'petra.vogel@celltech.example'):\n"
        "        team.add_member(lead, r, accounts.find_user_by_email(e).id, 'member')\n"
        "    db.session.commit()\n"
    )
    run_python(server, "-c", code)


def machine() -> str:
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores, {mem}, {platform.platform()}, Python {platform.python_version()}"


def main() -> None:
    from bench.latency import bench_latency  # R8, save latency of concurrent editors (bench/latency.py)

    pg = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    rows = bench_database("SQLite", None) + bench_latency("SQLite", None)
    if os.environ.get("BENCH_SKIP_POSTGRES") != "1":
        try:
            rows += bench_database("PostgreSQL", pg) + bench_latency("PostgreSQL", pg)
        except Exception as exc:  # report it in the table rather than hide it
            rows.append(("PostgreSQL", "not measured", str(exc)[:120], float("nan"), ""))
        try:
            from bench import readpath

            rows += readpath.rows("PostgreSQL", pg)
        except Exception as exc:
            rows.append(("PostgreSQL", "S1 read path not measured", str(exc)[:120], float("nan"), ""))
    header = f"8D Workbench benchmark - {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC - {machine()}\n" \
             f"Server: gunicorn gthread, {WORKERS} workers x {THREADS} threads on 127.0.0.1; load from a separate process, {DURATION:.0f} s per measurement.\n"
    lines = ["| database | figure | absolute | ratio / value | goal |", "|---|---|---|---|---|"]
    for db_, name, absolute, value, goal in rows:
        lines.append(f"| {db_} | {name} | {absolute} | {value:.2f} | {goal} |")
    table = "\n".join(lines)
    print(header)
    print(table)
    notes = (ROOT / "bench" / "NOTES.md").read_text() if (ROOT / "bench" / "NOTES.md").exists() else ""
    results = ROOT / "bench" / "RESULTS.md"
    # The "Drill" section is `make drill`'s (bench/drill.py): kept as it is, at the end.
    previous = results.read_text() if results.exists() else ""
    drill = "## Drill\n" + previous.split("\n## Drill\n", 1)[1] if "\n## Drill\n" in previous else ""
    results.write_text(f"# Benchmark results\n\n{header}\n{table}\n\n{notes}" + (f"\n{drill}" if drill else ""))


if __name__ == "__main__":
    main()
