"""`make drill`: the production layout on loopback (bench/stack.py) under load and faults.

200 simulated users for 5 minutes (DRILL_USERS, DRILL_SECONDS) work through nginx as people do:
they sign in (the login form with its CSRF token, or an API token), open the dashboard and
reports (pages, the live poll, the JSON API), co-edit disciplines (PATCH with base_version: a 409
conflict is an expected answer, counted, and half the time resolved by saving again on the new
version), upload evidence (random CSV content; each file's SHA-256 and attachment id are kept) and
download it again, and the teams' leaders fill the current discipline and advance while the OEM's
quality leads approve or reject what waits for them.

Meanwhile, at fixed times: kill -9 of app process 1 (gunicorn arbiter and workers; the stack's
supervisor restarts it), kill -9 of mail worker 1 (restarted likewise), `pg_ctl restart -m fast`
of the PostgreSQL, and the S3 server stopped for 30 s.

A request that fails in flight (connection cut, 502/503/504) is retried by the client, up to six
times over about 30 s: a save with the same body (same base_version, so it is stored once or
answered 409, after which the client reads whether its value is there), an upload only after
looking whether the first try was stored after all (its description carries a one-off token).

Afterwards: requests served, latency per kind, every 5xx put next to the fault that explains it,
saves lost (every save answered 200 must be in the audit trail and either still be the value or
have been overwritten by a later recorded write), files lost or corrupted (every 201 downloaded
and hashed, every new row's blob re-hashed by the store, `flask storage fsck`), mails lost or
duplicated (every outbox row sent must have arrived exactly once at the SMTP sink by Message-ID,
and nothing may be left pending) and `flask audit verify`. The table is printed and written to
the "Drill" section of bench/RESULTS.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import http.client
import json
import os
import random
import re
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stack import Stack, machine_summary  # noqa: E402

USERS = int(os.environ.get("DRILL_USERS", "200"))
SECONDS = float(os.environ.get("DRILL_SECONDS", "300"))
THINK = tuple(float(x) for x in os.environ.get("DRILL_THINK", "1-4").split("-"))
WEB_CONCURRENCY = int(os.environ.get("DRILL_WEB_CONCURRENCY", "4"))
RETRYABLE = {None, 502, 503, 504}
BACKOFF = [0.5, 1, 2, 4, 8, 12]  # about 27 s in all: a client that waits out a short outage
EVIDENCE_KINDS = {"upload", "download"}


# ------------------------------------------------------------------------------- what happened
@dataclasses.dataclass
class Attempt:
    kind: str
    method: str
    status: int | None
    t0: float
    t1: float
    attempt: int
    error: str = ""


class Journal:
    """Everything the clients did and were told, shared by the user threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.saves: list[dict] = []
        self.uploads: list[dict] = []
        self.outcomes: Counter = Counter()
        self.downloads: Counter = Counter()
        self.client_errors: list[str] = []

    def attempt(self, a: Attempt) -> None:
        with self.lock:
            self.attempts.append(a)

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.outcomes[what] += n

    def save(self, **s) -> None:
        with self.lock:
            self.saves.append(s)

    def upload(self, **u) -> None:
        with self.lock:
            self.uploads.append(u)


# ------------------------------------------------------------------------------------ a client
class Client:
    """One person's keep-alive connection to nginx: cookie jar of one, CSRF token, or a token."""

    def __init__(self, port: int, journal: Journal):
        self.port, self.journal = port, journal
        self.conn: http.client.HTTPConnection | None = None
        self.cookie = ""
        self.csrf = ""
        self.token = ""

    def _raw(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int | None, dict, bytes, str]:
        h = dict(headers)
        if self.cookie:
            h["Cookie"] = self.cookie
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        for fresh in (False, True):  # a keep-alive connection nginx closed meanwhile is not a failure
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=90)
                fresh = True
            try:
                self.conn.request(method, path, body=body, headers=h)
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if "set-cookie" in hdrs:
                    m = re.match(r"\s*(session=[^;]*)", hdrs["set-cookie"])
                    if m:
                        self.cookie = m.group(1)
                if r.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return r.status, hdrs, data, ""
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.conn.close()
                self.conn = None
                if fresh:
                    return None, {}, b"", type(exc).__name__
            except (OSError, http.client.HTTPException) as exc:
                if self.conn:
                    self.conn.close()
                self.conn = None
                return None, {}, b"", type(exc).__name__
        return None, {}, b"", "unreachable"

    def call(self, kind: str, method: str, path: str, body: bytes | dict | None = None, headers: dict | None = None, *,
             retry: bool = True, stored=None) -> tuple[int | None, bytes, dict, int]:
        """(status, body, headers, attempts). `stored()` is asked before a retry whether the failed
        attempt took effect after all; a truthy answer ends the retries with that answer."""
        headers = dict(headers or {})
        if isinstance(body, dict):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if method not in ("GET", "HEAD") and self.csrf and not self.token:
            headers["X-CSRFToken"] = self.csrf
        for attempt in range(1, len(BACKOFF) + 2):
            t0 = time.time()
            status, hdrs, data, error = self._raw(method, path, body, headers)
            if status == 500:  # never expected: keep what the server said
                error = f"{path} {hdrs.get('server', '')} {data[:300]!r}"
            self.journal.attempt(Attempt(kind, method, status, t0, time.time(), attempt, error))
            if status not in RETRYABLE or not retry or attempt > len(BACKOFF):
                return status, data, hdrs, attempt
            time.sleep(BACKOFF[attempt - 1] * random.uniform(0.8, 1.2))
            if stored is not None:
                found = stored()
                if found:
                    return found[0], found[1], {}, attempt
        raise AssertionError("unreachable")

    def json(self, kind: str, method: str, path: str, body: dict | None = None, **kw):
        status, data, _h, attempts = self.call(kind, method, path, body, **kw)
        try:
            payload = json.loads(data) if data else None
        except ValueError:
            payload = None
        return status, payload, attempts


# ---------------------------------------------------------------------------------- the people
class Person(threading.Thread):
    def __init__(self, drill: Drill, person: dict, browser: bool):
        super().__init__(name=person["email"], daemon=True)
        self.d, self.p, self.browser = drill, person, browser
        self.c = Client(drill.port, drill.journal)
        self.rng = random.Random(person["email"])

    # -- signing in -----------------------------------------------------------------------------
    def login(self) -> bool:
        if self.browser:
            status, page, _h, _n = self.c.call("login", "GET", "/login")
            m = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page or b"")
            if status != 200 or not m:
                return False
            form = urlencode({"email": self.p["email"], "password": self.d.password, "csrf_token": m.group(1).decode()}).encode()
            status, _b, hdrs, _n = self.c.call("login", "POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
            if status != 302:
                self.d.journal.count(f"login refused ({status})")
                return False
            status, page, _h, _n = self.c.call("dashboard", "GET", "/")
            m = re.search(rb'name="csrf-token" content="([^"]+)"', page or b"")
            self.c.csrf = m.group(1).decode() if m else ""
            return status == 200 and bool(self.c.csrf)
        status, body, _n = self.c.json("login", "POST", "/api/v1/tokens", {"email": self.p["email"], "password": self.d.password})
        if status != 201:
            self.d.journal.count(f"login refused ({status})")
            return False
        self.c.token = body["token"]
        return True

    # -- the journeys ---------------------------------------------------------------------------
    def dashboard(self) -> None:
        if self.browser:
            self.c.call("dashboard", "GET", "/")
        else:
            self.c.call("report list API", "GET", "/api/v1/reports?per_page=50")

    def open_report(self) -> None:
        rid = self.rng.choice(self.p["reports"])
        if self.browser:
            status, _b, _h, _n = self.c.call("report page", "GET", f"/reports/{rid}?d={self.rng.choice(self.d.codes)}")
            for _ in range(self.rng.randint(1, 2)):  # the page's live poll while the person reads
                if self.d.stopping():
                    break
                time.sleep(2)
                self.c.call("live poll", "GET", f"/reports/{rid}/live?since=0")
        else:
            self.c.call("report API", "GET", f"/api/v1/reports/{rid}")

    def _report(self, rid: int) -> dict | None:
        status, body, _n = self.c.json("report API", "GET", f"/api/v1/reports/{rid}")
        return body if status == 200 else None

    def _editable(self, report: dict) -> list[str]:
        codes = self.d.codes
        if report["status"] == "closed":
            return []
        start = codes.index(report["stage"]) + (1 if report["status"] == "in_review" else 0)
        return [c for c in codes[start:] if self.d.text_fields.get(c)]

    def save(self, rid: int, code: str, base: int, fields: dict, unique: bool) -> tuple[int | None, dict | None]:
        """One PATCH, retried as it is (same base_version) if it failed in flight; a retry answered
        409 is followed by a read: the first attempt may have stored it."""
        status, body, attempts = self.c.json("save", "PATCH", f"/api/v1/reports/{rid}/disciplines/{code}", {"base_version": base, "fields": fields})
        if status == 200:
            for name, value in fields.items():
                self.d.journal.save(report_id=rid, code=code, field=name, value=value, version=body["version"], unique=unique, t=time.time())
            return status, body
        if attempts > 1 and status == 409:
            st, current, _n = self.c.json("discipline GET", "GET", f"/api/v1/reports/{rid}/disciplines/{code}")
            if st == 200 and all(current["fields"].get(k) == v for k, v in fields.items()):
                self.d.journal.count("save stored by an attempt whose answer was lost (confirmed by reading)")
                for name, value in fields.items():
                    self.d.journal.save(report_id=rid, code=code, field=name, value=value, version=current["version"], unique=unique, t=time.time())
                return 200, current
        return status, body

    def co_edit(self) -> None:
        rid = self.rng.choice(self.p["reports"])
        report = self._report(rid)
        if not report:
            return
        codes = self._editable(report)
        if not codes:
            self.d.journal.count("co-edit skipped: report closed")
            return
        code = self.rng.choice(codes)
        name = self.rng.choice(self.d.text_fields[code])
        base = report["disciplines"][code]["version"]
        time.sleep(self.rng.uniform(0.5, 2.0))  # typing
        value = f"Drill note {uuid.uuid4().hex[:12]} by {self.p['email']}: lot 26{self.rng.randint(10, 99)} at {self.rng.uniform(0.1, 0.2):.4f} mOhm"
        status, body = self.save(rid, code, base, {name: value}, unique=True)
        if status == 200:
            self.d.journal.count("save 200")
        elif status == 409 and body and body.get("details", {}).get("fields"):
            self.d.journal.count("save 409 conflict (same field changed meanwhile)")
            if self.rng.random() < 0.5:  # the person keeps their own text: save again on the new version
                st, current, _n = self.c.json("discipline GET", "GET", f"/api/v1/reports/{rid}/disciplines/{code}")
                if st == 200:
                    again = f"{value} (kept after a conflict)"
                    status, _b = self.save(rid, code, current["version"], {name: again}, unique=True)
                    self.d.journal.count(f"save after resolving a conflict {status}")
        elif status == 409:
            self.d.journal.count("save 409 frozen (under review or closed meanwhile)")
        else:
            self.d.journal.count(f"save gave up ({status})")

    def upload(self) -> None:
        rid = self.rng.choice(self.p["reports"])
        roll = self.rng.random()
        size = self.rng.randint(2_000, 50_000) if roll < 0.7 else self.rng.randint(50_000, 500_000) if roll < 0.95 else self.rng.randint(1_000_000, 4_000_000)
        rows, total = ["lot,cell,resistance_mohm,note"], 0
        while total < size:
            rows.append(f"26{self.rng.randint(10, 99)},{self.rng.randint(1, 12)},{self.rng.uniform(0.1, 0.2):.5f},{os.urandom(16).hex()}")
            total += len(rows[-1]) + 1
        content = ("\n".join(rows) + "\n").encode()
        sha = hashlib.sha256(content).hexdigest()
        token = f"drill upload {uuid.uuid4().hex}"
        boundary = "drill" + uuid.uuid4().hex
        code = self.rng.choice(self.d.codes)
        body = b"".join([
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"discipline\"\r\n\r\n{code}\r\n".encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n\r\n{token}\r\n".encode(),
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"measurements-{token[-8:]}.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n".encode(), content, f"\r\n--{boundary}--\r\n".encode()])

        def stored():
            st, listing, _n = self.c.json("attachment list API", "GET", f"/api/v1/reports/{rid}/attachments?per_page=200", retry=False)
            if st != 200:
                return None
            total = listing["total"]
            pages = [listing] if total <= 200 else [self.c.json("attachment list API", "GET",
                                                                f"/api/v1/reports/{rid}/attachments?per_page=200&page={(total + 199) // 200}",
                                                                retry=False)[1] or {"items": []}]
            for item in (i for p in pages for i in p["items"]):
                if item.get("description") == token:
                    self.d.journal.count("upload stored by an attempt whose answer was lost (found by its token)")
                    return 201, json.dumps(item).encode()
            return None

        status, data, _h, _n = self.c.call("upload", "POST", f"/api/v1/reports/{rid}/attachments", body,
                                           {"Content-Type": f"multipart/form-data; boundary={boundary}"}, stored=stored)
        if status == 201:
            att = json.loads(data)
            if att["sha256"] != sha:
                self.d.journal.count("upload answered with another SHA-256")
            self.d.journal.upload(id=att["id"], sha256=sha, size=len(content), report_id=rid, t=time.time())
            self.d.journal.count("upload 201")
        else:
            self.d.journal.count(f"upload gave up ({status})")

    def download(self) -> None:
        mine = set(self.p["reports"])
        with self.d.journal.lock:
            candidates = [u for u in self.d.journal.uploads[-500:] if u["report_id"] in mine]
        if not candidates:
            return self.open_report()
        u = self.rng.choice(candidates)
        status, data, _h, _n = self.c.call("download", "GET", f"/api/v1/attachments/{u['id']}/content")
        if status == 200:
            ok = hashlib.sha256(data).hexdigest() == u["sha256"]
            self.d.journal.count("download verified" if ok else "download with another SHA-256")
        else:
            self.d.journal.count(f"download gave up ({status})")

    def steer(self) -> None:
        """The leader (or champion): fill the current discipline as the method's example does, then
        advance; at a review point the report waits for the customer's quality lead."""
        rid = self.rng.choice(self.p["steers"])
        report = self._report(rid)
        if not report or report["status"] != "open":
            return self.co_edit()
        stage = report["stage"]
        example = self.d.examples.get(stage) or {}
        current = report["disciplines"][stage]
        todo = {k: v for k, v in example.items() if current["fields"].get(k) != v and k not in self.d.text_fields.get(stage, [])}
        todo.update({k: v for k, v in example.items() if not current["fields"].get(k)})
        if todo:
            status, _b = self.save(rid, stage, current["version"], todo, unique=False)
            self.d.journal.count(f"fill {stage} {status}")
            if status != 200:
                return
        status, body, _n = self.c.json("advance", "POST", f"/api/v1/reports/{rid}/advance", {"comment": "Ready (drill).", "stage": stage})
        if status == 200:
            self.d.journal.count("advance 200" + (" -> in review" if body["status"] == "in_review" else ""))
        else:
            self.d.journal.count(f"advance {status} {(body or {}).get('error', '')}".rstrip())

    def review(self) -> None:
        status, listing, _n = self.c.json("report list API", "GET", "/api/v1/reports?status=in_review&per_page=50")
        if status != 200 or not listing["items"]:
            return self.open_report()
        item = self.rng.choice(listing["items"])
        report = self._report(item["id"])
        if not report or report["status"] != "in_review":
            return
        time.sleep(self.rng.uniform(1, 3))  # reading what was submitted
        stage = report["stage"]
        if self.rng.random() < 0.85:
            body = {"decision": "approve", "comment": "Accepted (drill).", "password": self.d.password, "stage": stage}
        else:
            body = {"decision": "reject", "comment": "Please add the measurement of the second lot (drill).", "stage": stage}
        status, answer, _n = self.c.json("review", "POST", f"/api/v1/reports/{item['id']}/review", body)
        self.d.journal.count(f"review {body['decision']} {status}" + (" -> closed" if status == 200 and answer["status"] == "closed" else ""))

    def run(self) -> None:
        try:
            time.sleep(self.rng.uniform(0, self.d.ramp))
            while not self.login():
                if self.d.stopping():
                    return
                time.sleep(2)
            if self.p["role"] == "quality_lead":
                choices = [(self.dashboard, 15), (self.open_report, 30), (self.review, 45), (self.download, 10)]
            else:
                choices = [(self.dashboard, 12), (self.open_report, 30), (self.co_edit, 30), (self.upload, 10), (self.download, 8)]
                if self.p["steers"]:
                    choices.append((self.steer, 12))
            actions, weights = zip(*choices, strict=True)
            while not self.d.stopping():
                action = self.rng.choices(actions, weights)[0]
                try:
                    action()
                except Exception as exc:  # noqa: BLE001 - a bug of the drill itself: counted, shown
                    with self.d.journal.lock:
                        self.d.journal.client_errors.append(f"{action.__name__}: {type(exc).__name__}: {exc}"[:300])
                time.sleep(self.rng.uniform(*THINK))
        finally:
            if self.c.conn:
                self.c.conn.close()


# --------------------------------------------------------------------------------------- faults
@dataclasses.dataclass
class Window:
    name: str
    start: float
    end: float
    kinds: set[str] | None = None  # None: every kind of request


class Faults(threading.Thread):
    def __init__(self, drill: Drill):
        super().__init__(name="faults", daemon=True)
        self.d = drill
        self.windows: list[Window] = []
        self.log: list[str] = []
        self.kill_times: list[float] = []
        self.s3_outage = min(30.0, SECONDS * 0.15)

    def at(self, fraction: float) -> None:
        target = self.d.t0 + SECONDS * fraction
        while time.time() < target and not self.d.stopping():
            time.sleep(0.1)

    def say(self, text: str) -> None:
        line = f"t+{time.time() - self.d.t0:5.1f}s {text}"
        self.log.append(line)
        print(f"[drill] {line}", flush=True)

    def run(self) -> None:
        stack = self.d.stack
        self.at(0.20)
        t = time.time()
        stack.kill("app-1")
        self.kill_times.append(t)
        self.say("kill -9 app-1 (gunicorn arbiter and its workers)")
        healthy = self._wait_restarted("app-1", t)
        self.windows.append(Window("app-1 killed: in flight on it, or until it was back", t, healthy + 1))
        self.say(f"app-1 restarted by the supervisor and healthy after {healthy - t:.1f} s")

        self.at(0.35)
        t = time.time()
        stack.kill("worker-1")
        self.say("kill -9 worker-1 (flask worker)")
        back = self._wait_restarted("worker-1", t)
        self.say(f"worker-1 running again after {back - t:.1f} s (its claimed rows return after NOTIFY_CLAIM_TIMEOUT_SECONDS)")

        self.at(0.50)
        t = time.time()
        self.say("pg_ctl restart -m fast")
        seconds = stack.restart_postgres()
        self.windows.append(Window("PostgreSQL restart", t, time.time() + 3))
        self.say(f"PostgreSQL accepting connections again after {seconds:.1f} s")

        self.at(0.70)
        t = time.time()
        stack.stop_s3()
        self.say(f"S3 server stopped for {self.s3_outage:.0f} s")
        while time.time() < t + self.s3_outage:
            time.sleep(0.1)
        stack.start_s3()
        # + the app's pause after a failed call to the store (S3Store.unreachable_pause, 5 s) + 3 s
        self.windows.append(Window("S3 outage", t, time.time() + 8, EVIDENCE_KINDS))
        self.say(f"S3 server started again after {time.time() - t:.1f} s")

    def _wait_restarted(self, name: str, since: float) -> float:
        m = self.d.stack.procs[name]
        deadline = time.time() + 120
        while time.time() < deadline:
            if m.alive and m.started_at > since:
                if not name.startswith("app-"):
                    return time.time()
                from bench.stack import http_status

                if http_status(m.port) == 200:
                    return time.time()
            time.sleep(0.05)
        return time.time()


# ---------------------------------------------------------------------------------------- drill
class Drill:
    def __init__(self):
        self.journal = Journal()
        self.stack = Stack(web_concurrency=WEB_CONCURRENCY, echo=False, extra_env={
            # every simulated person comes from 127.0.0.1: the per-address login limit would be hit
            "LOGIN_RATE_LIMIT": "100000 per minute",
            # rows claimed by the killed worker are delivered again after 30 s, not 10 minutes
            "NOTIFY_CLAIM_TIMEOUT_SECONDS": "30",
        })
        self.port = 0
        self.t0 = 0.0
        self.t_end = 0.0
        self.ramp = min(60.0, SECONDS / 5)
        self.loadavg: list[float] = []

    def stopping(self) -> bool:
        return time.time() >= self.t_end

    def run(self) -> dict:
        print(f"[drill] starting the stack in {self.stack.base} ...", flush=True)
        self.stack.start()
        self.port = self.stack.ports["nginx"]
        try:
            return self._run()
        finally:
            keep = os.environ.get("DRILL_KEEP") == "1"
            self.stack.stop(remove=not keep)
            if keep:
                print(f"[drill] kept {self.stack.base} (DRILL_KEEP=1)")

    def _run(self) -> dict:
        seed = json.loads(self.stack.python("bench/drill_data.py", "seed", str(USERS)))
        self.password = seed["password"]
        c = Client(self.port, Journal())
        status, body, _n = c.json("method", "GET", "/api/v1/method")
        assert status == 200, status
        self.codes = [d["code"] for d in body["disciplines"]]
        self.examples = {d["code"]: d.get("example") or {} for d in body["disciplines"]}
        for ex in self.examples.values():  # the examples' "actions" are not discipline fields
            ex.pop("actions", None)
        self.text_fields = {d["code"]: [f["name"] for f in d["fields"] if f["type"] == "text" and isinstance(self.examples[d["code"]].get(f["name"]), str)
                                        and self.examples[d["code"]].get(f["name"])] for d in body["disciplines"]}
        people = seed["people"]
        rng = random.Random(22)
        persons = [Person(self, p, browser=p["role"] != "quality_lead" and rng.random() < 0.6) for p in people[:USERS]]
        print(f"[drill] {len(persons)} people ({sum(p.browser for p in persons)} in a browser, the rest through the API), "
              f"{len(seed['reports'])} reports, {SECONDS:.0f} s, think {THINK[0]:g}-{THINK[1]:g} s, "
              f"{self.stack.app_processes} app processes x {WEB_CONCURRENCY} sync workers", flush=True)
        self.t0 = time.time()
        self.t_end = self.t0 + SECONDS
        faults = Faults(self)
        for p in persons:
            p.start()
        faults.start()
        last = self.t0
        while time.time() < self.t_end:
            time.sleep(1)
            if int(time.time() - self.t0) % 5 == 0:
                self.loadavg.append(os.getloadavg()[0])
            if time.time() - last >= 30:
                last = time.time()
                with self.journal.lock:
                    n = len(self.journal.attempts)
                print(f"[drill] t+{time.time() - self.t0:5.0f}s {n} requests so far", flush=True)
        for p in persons:
            p.join(timeout=max(1.0, self.t_end + 120 - time.time()))
        faults.join(timeout=120)
        load_end = time.time()
        self.loadavg.append(os.getloadavg()[0])
        print(f"[drill] load finished at t+{load_end - self.t0:.0f}s ({sum(p.is_alive() for p in persons)} people still busy); "
              "waiting for the mail workers to drain the outbox ...", flush=True)
        drained = self._drain()
        verify = self._verify_downloads(seed)
        records = self.stack.base / "drill-records.json"
        records.write_text(json.dumps({"saves": self.journal.saves, "uploads": self.journal.uploads,
                                       "first_new_attachment_id": seed["first_new_attachment_id"]}))
        checked = json.loads(self.stack.python("bench/drill_data.py", "check", str(records), str(self.stack.mail_log)))
        fsck = self.stack.flask("storage", "fsck", check=False)
        audit = self.stack.flask("audit", "verify", check=False)
        figures = self._figures(seed, faults, load_end, drained, verify, checked, fsck, audit)
        figures["app_logs"] = self._app_logs()
        return figures

    def _app_logs(self) -> dict:
        """What the app processes logged about failures: a 500 leaves "unhandled error" and a
        traceback; a 503 for a database that did not answer leaves "database unavailable"."""
        unhandled, db_away, tracebacks = 0, 0, []
        for log in sorted((self.stack.base / "logs").glob("app-*.log")):
            lines = log.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if "unhandled error on" in line:
                    unhandled += 1
                    if len(tracebacks) < 3:
                        tail = [x for x in lines[i:i + 60] if x.strip()][:60]
                        end = next((k for k, x in enumerate(tail[1:], 1) if not x.startswith((" ", "Traceback", "During", "The above"))), len(tail))
                        tracebacks.append("\n".join(tail[:end + 1]))
                elif "database unavailable on" in line:
                    db_away += 1
                elif "Error handling request" in line:  # gunicorn's own 500
                    unhandled += 1
                    if len(tracebacks) < 3:
                        tracebacks.append("\n".join(lines[i:i + 40]))
        nginx = Counter()
        own = []  # nginx's own failures, as opposed to an upstream that went away
        for line in (self.stack.base / "nginx" / "error.log").read_text(errors="replace").splitlines():
            m = re.search(r"\[(\w+)\]", line)
            if m:
                nginx[m.group(1)] += 1
                if m.group(1) in ("crit", "alert", "emerg") or (m.group(1) == "error" and "upstream" not in line):
                    own.append(line[:300])
        return {"unhandled_errors_500": unhandled, "database_unavailable_503": db_away, "first_tracebacks": tracebacks,
                "nginx_error_log": dict(nginx), "nginx_own_errors": own[:5]}

    def _drain(self, timeout: float = 240) -> dict:
        code = ("import json\nfrom collections import Counter\nfrom app import create_app\nfrom app.extensions import db\n"
                "from app.models import OutboxMessage\nfrom sqlalchemy import select\napp = create_app()\nwith app.app_context():\n"
                "    print(json.dumps(Counter(str(getattr(s, 'value', s)) for s in db.session.scalars(select(OutboxMessage.status)))))\n")
        t0 = time.time()
        while True:
            counts = json.loads(self.stack.python("-c", code))
            if not counts.get("pending") and not counts.get("sending") or time.time() - t0 > timeout:
                return {"seconds": time.time() - t0, "counts": counts}
            time.sleep(3)

    def _verify_downloads(self, seed: dict) -> dict:
        """Every attachment the client was told of (201), downloaded through nginx and hashed."""
        ql = next(p for p in seed["people"] if p["role"] == "quality_lead")
        c = Client(self.port, Journal())
        status, body, _n = c.json("login", "POST", "/api/v1/tokens", {"email": ql["email"], "password": self.password})
        c.token = body["token"]
        result = Counter()
        for u in self.journal.uploads:
            status, data, _h, _n = c.call("verify", "GET", f"/api/v1/attachments/{u['id']}/content")
            if status != 200:
                result["lost"] += 1
            elif hashlib.sha256(data).hexdigest() != u["sha256"] or len(data) != u["size"]:
                result["corrupted"] += 1
            else:
                result["intact"] += 1
        return dict(result)

    # -- figures ------------------------------------------------------------------------------------
    def _figures(self, seed, faults: Faults, load_end, drained, verify, checked, fsck, audit) -> dict:
        attempts = self.journal.attempts
        per_kind: dict[str, list[Attempt]] = defaultdict(list)
        for a in attempts:
            per_kind[a.kind].append(a)
        rows = []
        for kind in sorted(per_kind, key=lambda k: -len(per_kind[k])):
            items = per_kind[kind]
            served = sorted((a.t1 - a.t0) * 1000 for a in items if a.status is not None and a.status < 500)
            bad = [a for a in items if a.status is None or a.status >= 500]
            rows.append({"kind": kind, "requests": len(items), "served": len(served), "p50_ms": _pct(served, 50), "p95_ms": _pct(served, 95),
                         "max_ms": max(served) if served else None, "5xx_or_cut": len(bad),
                         "4xx": sum(1 for a in items if a.status is not None and 400 <= a.status < 500)})
        failures = [a for a in attempts if a.status is None or a.status >= 500]
        explained: Counter = Counter()
        unexplained: list[Attempt] = []
        for a in failures:
            reason = None
            for t in faults.kill_times:
                if a.t0 <= t + 0.05 and a.t1 >= t - 0.05:
                    reason = "in flight on the killed app process"
            if reason is None:
                for w in faults.windows:
                    if a.t1 >= w.start and a.t0 <= w.end and (w.kinds is None or a.kind in w.kinds):
                        reason = w.name
                        break
            if reason:
                explained[reason] += 1
            else:
                unexplained.append(a)
        statuses = Counter("cut" if a.status is None else a.status for a in failures)
        served_total = sum(1 for a in attempts if a.status is not None and a.status < 500)
        duration = load_end - self.t0
        return {
            "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": machine_summary(),
            "users": len(seed["people"][:USERS]), "seconds": SECONDS, "reports": len(seed["reports"]),
            "loadavg_mean_max": [round(sum(self.loadavg) / max(1, len(self.loadavg)), 1), round(max(self.loadavg, default=0), 1)],
            "layout": f"nginx + {self.stack.app_processes} app processes x {WEB_CONCURRENCY} gunicorn sync workers + "
                      f"{self.stack.mail_workers} mail workers + PostgreSQL {self.stack.pg.parent.name} + Redis + rclone serve s3 + SMTP sink",
            "requests": len(attempts), "served": served_total, "rps": served_total / duration,
            "kinds": rows,
            "answers_500": [f"{a.kind} t{a.t0 - self.t0:+.1f}s {a.error}" for a in failures if a.status == 500][:10],
            "failures": {"total": len(failures), "by_status": {str(k): v for k, v in statuses.items()}, "explained": dict(explained),
                         "unexplained": len(unexplained),
                         "unexplained_examples": [dataclasses.asdict(a) for a in unexplained[:10]]},
            "retries": sum(1 for a in attempts if a.attempt > 1),
            "outcomes": dict(sorted(self.journal.outcomes.items())),
            "client_errors": self.journal.client_errors[:10], "client_error_count": len(self.journal.client_errors),
            "faults": faults.log,
            "drain": drained,
            "downloads_after_the_run": verify,
            "checked": checked,
            "fsck": (fsck.stdout + fsck.stderr).strip().splitlines()[-1:] and (fsck.stdout + fsck.stderr).strip().splitlines()[-1],
            "fsck_ok": fsck.returncode == 0,
            "audit": (audit.stdout + audit.stderr).strip(),
            "audit_ok": audit.returncode == 0,
            "supervisor": [f"t{e.at - self.t0:+.1f}s {e.what} {e.detail}" for e in self.stack.events if e.at >= self.t0],
        }


def _pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# ------------------------------------------------------------------------------------- the table
def markdown(f: dict) -> str:
    c = f["checked"]
    saves, files, mails = c["saves"], c["files"], c["mails"]
    dl = f["downloads_after_the_run"]
    files_lost = dl.get("lost", 0) + files["rows_missing_for_a_201"] + files["rows_whose_blob_is_missing"]
    files_bad = dl.get("corrupted", 0) + files["rows_with_another_sha256"] + files["rows_whose_blob_is_corrupt"] + (0 if f["fsck_ok"] else 1)
    lines = [
        "## Drill",
        "",
        f"`make drill` - {f['when']} - {f['machine']}",
        f"{f['layout']}, all on 127.0.0.1; {f['users']} simulated people for {f['seconds']:.0f} s ({f['reports']} reports), "
        f"think time {THINK[0]:g}-{THINK[1]:g} s; load from the same machine.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| requests (attempts, retries included) | {f['requests']:,} ({f['retries']:,} retries) |",
        f"| requests served (any answer below 500) | {f['served']:,} ({f['rps']:.0f}/s) |",
        f"| 5xx or cut connections | {f['failures']['total']} ({', '.join(f'{k}: {v}' for k, v in f['failures']['by_status'].items()) or 'none'}) |",
        *[f"| - explained: {k} | {v} |" for k, v in f["failures"]["explained"].items()],
        f"| - unexplained | {f['failures']['unexplained']} |",
        f"| saves answered 200 | {saves['acknowledged']:,} ({saves['still_current']:,} still current, "
        f"{saves['superseded_by_a_later_recorded_write']:,} overwritten by a later recorded write) |",
        f"| **saves lost** | **{saves['lost']}** |",
        f"| uploads answered 201 | {files['client_told_201']:,} (rows created: {files['rows_created']:,}) |",
        f"| **files lost or corrupted** | **{files_lost + files_bad}** (downloaded and hashed after the run: {dl.get('intact', 0):,} intact; "
        f"every new row's blob re-hashed by the store; `flask storage fsck`: {f['fsck']}) |",
        f"| mails (outbox rows) | {mails['outbox_rows']:,}: {', '.join(f'{k} {v}' for k, v in mails['by_status'].items())}; "
        f"{mails['arrived_at_the_sink']:,} arrived at the sink; drained {f['drain']['seconds']:.0f} s after the load |",
        f"| **mails lost / duplicated** | **{mails['lost']} / {mails['duplicated']}** (by Message-ID; arrived without a row: "
        f"{mails['arrived_without_an_outbox_row']}) |",
        f"| **audit chains** | **{'verified' if f['audit_ok'] else 'BROKEN'}**: {f['audit'].splitlines()[-1] if f['audit'] else ''} |",
        f"| app logs: 500 with a traceback / 503 database unavailable | {f['app_logs']['unhandled_errors_500']} / "
        f"{f['app_logs']['database_unavailable_503']} |",
        f"| machine load during the run (1-minute load average, mean / max) | {f['loadavg_mean_max'][0]} / {f['loadavg_mean_max'][1]} "
        f"on {os.cpu_count()} cores |",
        "",
        "| kind | requests | p50 ms | p95 ms | max ms | 4xx | 5xx/cut |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in f["kinds"]:
        fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        lines.append(f"| {r['kind']} | {r['requests']:,} | {fmt(r['p50_ms'])} | {fmt(r['p95_ms'])} | {fmt(r['max_ms'])} | {r['4xx']} | {r['5xx_or_cut']} |")
    lines += ["", "How the checks are defined:", "",
              "- a 5xx or a cut connection is *explained* when it was in flight at the moment app-1 was killed, or fell in the "
              "window of a fault (app-1 down until healthy again; PostgreSQL restart + 3 s; S3 outage + 8 s - the app does not ask "
              "a store that failed again for 5 s - for uploads and downloads only); every other one is *unexplained*;",
              "- a save is *lost* when the client was answered 200 but no audit event wrote its value, or the discipline's final "
              "value is neither that value (with no later write of the field) nor the value of the last recorded write of that field;",
              "- a file is *lost or corrupted* when an upload answered 201 has no row, a row with another SHA-256, or content that does "
              "not download (through nginx) or re-hash (in the store) to its SHA-256 - every row the drill created is re-hashed, "
              "answered or not;",
              "- a mail is *lost* when an outbox row marked sent never arrived at the SMTP sink, *duplicated* when its Message-ID "
              "arrived more than once; the workers must leave no row pending or sending.",
              "", "Faults (times from the start of the load):", "", *[f"- {x}" for x in f["faults"]], "",
              "Outcomes as the simulated people saw them:", "", *[f"- {k}: {v}" for k, v in f["outcomes"].items()]]
    if f["client_error_count"]:
        lines += ["", f"Errors of the drill client itself: {f['client_error_count']}", *[f"- {e}" for e in f["client_errors"]]]
    if f["answers_500"]:
        lines += ["", "Answers 500 (first ten):", "", *[f"- `{e}`" for e in f["answers_500"]]]
    if f["app_logs"]["nginx_own_errors"]:
        lines += ["", "nginx's own errors (first five):", "", *[f"- `{e}`" for e in f["app_logs"]["nginx_own_errors"]]]
    if f["app_logs"]["first_tracebacks"]:
        lines += ["", "First tracebacks in the app logs:", "", *[f"```\n{t}\n```" for t in f["app_logs"]["first_tracebacks"]]]
    if f["failures"]["unexplained"]:
        lines += ["", "Unexplained 5xx (first ten):", *[f"- {e}" for e in f["failures"]["unexplained_examples"]]]
    return "\n".join(lines) + "\n"


def write_results(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    head = text.split("\n## Drill\n")[0].rstrip("\n")
    path.write_text(f"{head}\n\n{section}")


def main() -> None:
    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the stack is stopped on the way out
    figures = Drill().run()
    section = markdown(figures)
    print()
    print(section)
    write_results(section)
    (ROOT / "bench" / "drill-figures.json").write_text(json.dumps(figures, indent=1, default=str) + "\n")
    c = figures["checked"]
    ok = (c["saves"]["lost"] == 0 and c["mails"]["lost"] == 0 and c["mails"]["duplicated"] == 0 and figures["audit_ok"] and figures["fsck_ok"]
          and figures["failures"]["unexplained"] == 0 and not figures["downloads_after_the_run"].get("lost")
          and not figures["downloads_after_the_run"].get("corrupted"))
    print("drill:", "every check holds" if ok else "A CHECK FAILED (see above)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
