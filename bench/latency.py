"""Save latency of concurrent editors (issue 17, item 4): p95 of a discipline save with 8 editors
on one report against 1 editor, on SQLite and on PostgreSQL, through gunicorn on 127.0.0.1.

Each editor saves a field of its own in D2 of one report (so every save merges with the others'),
pausing a random think time between saves (LATENCY_THINK_MS, "50-350": editors who save several
times a second, far more often than people do); a second run without pauses shows the server
saturated. Run alone: `.venv/bin/python bench/latency.py` (BENCH_SKIP_POSTGRES=1 or BENCH_SKIP_SQLITE=1 for one database,
BENCH_POSTGRES_URL for another server); `make bench` runs it too (bench/run.py)."""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import THREADS, WORKERS, Client, api_token, run_python  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402

SECONDS = float(os.environ.get("LATENCY_SECONDS", "20"))
THINK_MS = tuple(int(v) for v in os.environ.get("LATENCY_THINK_MS", "50-350").split("-"))
FIELDS = ["problem_statement", "customer_description", "supplier_description", "effect_customer_plant",
          "effect_vehicle", "effect_field", "other_parts_at_risk", "preliminary_risk"]
PASSWORD = "demo-password-8d"


def editors(port: int, report_id: int, n: int = 8) -> list[str]:
    """Tokens of `n` new engineers (both companies) on the report's team."""
    admin = Client(port, headers={"Authorization": f"Bearer {api_token(port, 'operator@8d-workbench.example')}", "Content-Type": "application/json"})
    lead = Client(port, headers={"Authorization": f"Bearer {api_token(port, 'lukas.brandt@celltech.example')}", "Content-Type": "application/json"})
    companies = {c["name"]: c["id"] for c in json.loads(admin.request("GET", "/api/v1/companies")[1])["items"]}
    tokens = []
    for i in range(n):
        company, domain = ("Volta Motors AG", "volta") if i % 2 else ("CellTech Modules GmbH", "celltech")
        email = f"latency{i}.{random.randrange(10**6)}@{domain}.example"
        status, body, _ = admin.request("POST", "/api/v1/admin/users", json.dumps(
            {"email": email, "name": f"Editor {i}", "company_id": companies[company], "role": "engineer", "password": PASSWORD}).encode())
        assert status == 201, body
        status, body, _ = lead.request("POST", f"/api/v1/reports/{report_id}/team", json.dumps({"user_id": json.loads(body)["id"], "role": "member"}).encode())
        assert status == 201, body
        tokens.append(api_token(port, email))
    return tokens


def session(port: int, tokens: list[str], report_id: int, think_ms: tuple[int, int] | None, seconds: float = SECONDS) -> dict:
    """Every editor saves its own field until time is up; latencies in ms and answers by status."""
    url = f"/api/v1/reports/{report_id}/disciplines/D2"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        c = Client(port, headers={"Authorization": f"Bearer {tokens[i]}", "Content-Type": "application/json"})
        version = json.loads(c.request("GET", url)[1])["version"]
        rng, mine, codes, k = random.Random(i), [], [], 0
        while time.perf_counter() < stop:
            if think_ms:
                time.sleep(rng.uniform(*think_ms) / 1000)
            k += 1
            t0 = time.perf_counter()
            status, body, _ = c.request("PATCH", url, json.dumps({"base_version": version, "fields": {FIELDS[i]: f"save {k} by editor {i}"}}).encode())
            mine.append((time.perf_counter() - t0) * 1000)
            codes.append(status)
            if status == 200:
                version = json.loads(body)["version"]
        with lock:
            latencies.extend(mine)
            for s in codes:
                statuses[s] = statuses.get(s, 0) + 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))]  # noqa: E731
    return {"n": len(latencies), "p50": pick(0.5), "p95": pick(0.95), "max": latencies[-1], "statuses": statuses,
            "per_s": len(latencies) / seconds}


def measure(label: str, server: LiveServer) -> list[tuple]:
    """Rows (database, figure, absolute, value, goal) for one running server."""
    report_id = int(run_python(server, "bench/seed.py", "full"))
    tokens = editors(server.port, report_id)
    session(server.port, tokens[:2], report_id, THINK_MS, seconds=2)  # warm every process up
    rows = []
    for name, think in ((f"think {THINK_MS[0]}-{THINK_MS[1]} ms", THINK_MS), ("back to back", None)):
        one = session(server.port, tokens[:1], report_id, think)
        eight = session(server.port, tokens, report_id, think)
        errors = sum(v for k, v in {**one["statuses"]}.items() if k != 200) + sum(v for k, v in eight["statuses"].items() if k != 200)
        absolute = (f"p95 {eight['p95']:.1f} / {one['p95']:.1f} ms (p50 {eight['p50']:.1f} / {one['p50']:.1f}, saves {eight['n']} / {one['n']}, "
                    f"not 200: {errors})")
        rows.append((label, f"R8 save latency p95, 8 editors / 1 editor, {name}", absolute, eight["p95"] / one["p95"],
                     "<= 3" if think else "(saturated: for information)"))
    return rows


def bench_latency(label: str, pg_url: str | None) -> list[tuple]:
    if pg_url:
        os.environ["TEST_DATABASE_URL"] = pg_url
    else:
        os.environ.pop("TEST_DATABASE_URL", None)
    server = LiveServer(Path(tempfile.mkdtemp(prefix="bench-latency-")), workers=WORKERS, threads=THREADS).start()
    try:
        rows = measure(label, server)
        log = server.server_log()
    finally:
        server.stop()
    if "database is locked" in log:
        rows.append((label, "\"database is locked\" in the server log", "", float(log.count("database is locked")), "0"))
    return rows


def table(rows: list[tuple]) -> str:
    lines = ["| database | figure | absolute | ratio / value | goal |", "|---|---|---|---|---|"]
    lines += [f"| {d} | {name} | {absolute} | {value:.2f} | {goal} |" for d, name, absolute, value, goal in rows]
    return "\n".join(lines)


def main() -> None:
    rows = bench_latency("SQLite", None) if os.environ.get("BENCH_SKIP_SQLITE") != "1" else []
    if os.environ.get("BENCH_SKIP_POSTGRES") != "1":
        rows += bench_latency("PostgreSQL", os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    print(f"Save latency: gunicorn gthread {WORKERS} x {THREADS} on 127.0.0.1, {SECONDS:.0f} s per run, editors in threads of this process")
    print(table(rows))


if __name__ == "__main__":
    main()
