"""R5 (evidence upload throughput and server memory) and R6 (e-mail delivery) for bench/run.py."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

MB = 1024 * 1024


def _worker_pids(master_pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def _hwm_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _post_file(port: int, token: str, report_id: int, source: Path) -> tuple[float, int, bytes]:
    """One upload through the API, streamed from `source`; (seconds, status, body)."""
    size = source.stat().st_size
    boundary = "benchboundary" + uuid.uuid4().hex
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"discipline\"\r\n\r\nD6\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big-measurements.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.perf_counter()
    conn.putrequest("POST", f"/api/v1/reports/{report_id}/attachments")
    conn.putheader("Authorization", f"Bearer {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    conn.send(head)
    with open(source, "rb") as f:
        while chunk := f.read(MB):
            conn.send(chunk)
    conn.send(tail)
    r = conn.getresponse()
    body = r.read()
    seconds = time.perf_counter() - t0
    conn.close()
    return seconds, r.status, body


def upload_throughput(server, token: str, report_id: int, size_mb: int = 200, runs: int = 5) -> dict:
    """Best of `runs` for both sides: a plain copy of the file (shutil.copyfile + fsync, on the same
    disk) and an upload of it through the API (new content each time, so nothing is deduplicated).
    Dirty pages are written back (sync) before every timed run so that no run pays for another's."""
    tmp = Path(server.tmp)
    source = tmp / "big-measurements.csv"
    line = b"2611-03;module;0.1423;mOhm;ok;" + uuid.uuid4().hex.encode() + b"\n"
    with open(source, "wb") as f:
        block = line * (MB // len(line) + 1)
        for _ in range(size_mb):
            f.write(block[:MB])
    size = source.stat().st_size
    copies = []
    for _ in range(runs):
        os.sync()
        t0 = time.perf_counter()
        shutil.copyfile(source, tmp / "copy.csv")
        with open(tmp / "copy.csv", "rb") as f:
            os.fsync(f.fileno())
        copies.append(time.perf_counter() - t0)
        (tmp / "copy.csv").unlink()
    pids = _worker_pids(server.proc.pid)
    before = {p: _rss_kb(p) for p in pids}
    peak = {"kb": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            for p in pids:
                try:
                    peak["kb"] = max(peak["kb"], _rss_kb(p) - before[p])
                except OSError:
                    pass
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    uploads = []
    try:
        for run in range(runs):
            with open(source, "r+b") as f:  # new content: a different first line
                f.write(f"run {run} {uuid.uuid4().hex}\n".encode().ljust(len(line) - 1, b" "))
            os.sync()
            seconds, status, body = _post_file(server.port, token, report_id, source)
            if status != 201:
                raise RuntimeError(f"upload failed: {status} {body[:300]!r}")
            uploads.append(seconds)
            # Like the copy, the stored file is removed after its run (this benchmark's own instance):
            # on this VM, page-cache memory touched for the first time is slow to hand out, and no run
            # should pay for memory the previous one kept.
            sha = json.loads(body)["sha256"]
            (tmp / "instance" / "evidence" / sha[:2] / sha[2:4] / sha).unlink()
    finally:
        stop.set()
        sampler.join()
        source.unlink()
    return {"copy_mbs": size / MB / min(copies), "upload_mbs": size / MB / min(uploads), "peak_growth_mb": peak["kb"] / 1024,
            "size_mb": size / MB, "runs": runs}


class MailSink:
    def __init__(self):
        from aiosmtpd.controller import Controller

        self.arrivals: list[tuple[float, str]] = []
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                subject = ""
                for raw in envelope.content.split(b"\r\n"):
                    if raw.lower().startswith(b"subject:"):
                        subject = raw[8:].decode(errors="replace").strip()
                        break
                with sink.lock:
                    sink.arrivals.append((time.perf_counter(), subject))
                return "250 OK"

        from tests.support.live_server import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)

    def stop(self):
        self.controller.stop()


def delivery(server, sink: MailSink, api, report_id: int, n: int = 1000) -> dict:
    """Rate: n rows queued at once, time until all arrived. Latency: stage changes through the API,
    time from the API's answer to the first mail of that change at the SMTP server."""
    code = (
        "from app import create_app\nfrom app.extensions import db\nfrom app.models import OutboxMessage\n"
        "app = create_app()\nwith app.app_context():\n"
        f"    db.session.add_all([OutboxMessage(category='stage', event='bench', to_email=f'r{{i}}@bench.example', subject=f'bench {{i}}', body_text='x', body_html='<p>x</p>') for i in range({n})])\n"
        "    db.session.commit()\n"
    )
    start_count = sink.count()
    subprocess.run([sys.executable, "-c", code], cwd=str(Path(__file__).resolve().parent.parent), env=server.env, check=True)
    t0 = time.perf_counter()
    deadline = t0 + 300
    while sink.count() - start_count < n and time.perf_counter() < deadline:
        time.sleep(0.05)
    rate = (sink.count() - start_count) / (time.perf_counter() - t0)
    latencies = []
    for i in range(20):
        before = sink.count()
        if i % 2 == 0:
            status, body = api("POST", f"/api/v1/reports/{report_id}/advance", {"comment": f"bench {i}"})
        else:
            status, body = api("POST", f"/api/v1/reports/{report_id}/return", {"to": "D0", "comment": f"bench {i}"})
        sent = time.perf_counter()
        if status != 200:
            raise RuntimeError(f"stage change failed: {status} {body[:200]}")
        while sink.count() == before and time.perf_counter() - sent < 30:
            time.sleep(0.005)
        with sink.lock:
            first = sink.arrivals[before][0] if len(sink.arrivals) > before else None
        latencies.append((first - sent) if first else 30.0)
        time.sleep(0.2)
    latencies.sort()
    return {"rate": rate, "p95": latencies[int(len(latencies) * 0.95) - 1], "median": statistics.median(latencies)}



