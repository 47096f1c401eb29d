"""The production layout on loopback, with a small process manager: `make prod-demo` runs it until
Ctrl-C, `make drill` (bench/drill.py) puts it under load and breaks parts of it.

    nginx (deploy/nginx/workbench.conf.template)  ->  app-1, app-2 (the Procfile's `web`: gunicorn,
    sync workers)  ->  PostgreSQL (a cluster of its own), Redis, an S3 server (`rclone serve s3`);
    worker-1, worker-2 (the Procfile's `worker`: `flask worker`)  ->  a local SMTP sink.

Every service is a process of this stack, on free ports of 127.0.0.1, with its data in one
temporary directory: the machine's own PostgreSQL, Redis or nginx are never touched. The app is
configured only through the environment, as in production (APP_CONFIG=production). Like systemd
with Restart=always, the supervisor restarts a process that died after one second.
"""

from __future__ import annotations

import argparse
import http.client
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
S3_ACCESS_KEY = "workbench-drill-access"
S3_SECRET_KEY = "workbench-drill-secret-0123456789"
BUCKET = "8d-evidence"
MAX_UPLOAD_MB = 100
RESTART_DELAY = 1.0  # systemd's RestartSec=1


def free_port(preferred: int | None = None) -> int:
    if preferred:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", preferred))
                return preferred
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def http_status(port: int, path: str = "/healthz", timeout: float = 3.0) -> int | None:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        status = conn.getresponse().status
        conn.close()
        return status
    except (OSError, http.client.HTTPException):
        return None


def machine_summary() -> str:
    import platform

    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores{mem}, {platform.platform()}, Python {platform.python_version()}"


def pg_bin() -> Path:
    configured = os.environ.get("PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if not found:
        raise SystemExit("PostgreSQL's server binaries are missing: apt-get install postgresql (the Makefile does it)")
    return found[-1].parent


def tool(name: str) -> str:
    beside = BIN / name
    path = str(beside) if beside.exists() else shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not path:
        raise SystemExit(f"{name} is missing: `make prod-demo` / `make drill` install nginx, redis-server and postgresql")
    return path


def procfile() -> dict[str, str]:
    """The Procfile's commands: the stack runs exactly what a platform would."""
    lines = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        m = re.match(r"^([a-z0-9_]+):\s*(.+)$", line)
        if m:
            lines[m.group(1)] = m.group(2).strip()
    return lines


def render(template: str, values: dict[str, str]) -> str:
    """envsubst for ${WB_*} only (nginx's own $variables stay), as the nginx image does it."""
    out = re.sub(r"\$\{(WB_[A-Z0-9_]+)\}", lambda m: values[m.group(1)], template)
    left = re.findall(r"\$\{WB_[A-Z0-9_]+\}", out)
    if left:
        raise ValueError(f"unfilled placeholders: {left}")
    return out


# ----------------------------------------------------------------------------------- processes
@dataclass
class Managed:
    """One supervised process (its own session, so a kill reaches its children too)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    restart: bool = True
    port: int | None = None
    user: str | None = None
    proc: subprocess.Popen | None = None
    held: bool = False  # stopped on purpose: the supervisor leaves it down
    restarts: int = 0
    started_at: float = 0.0
    exited_at: float | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, user=self.user)
        self.started_at, self.exited_at, self.held = time.time(), None, False

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def signal(self, sig: int) -> None:
        if self.alive:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, timeout: float = 20.0) -> None:
        self.held = True
        if not self.alive:
            return
        self.signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        # the session may hold children that outlived the leader (gunicorn workers)
        self._reap_group()

    def _reap_group(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


@dataclass
class Event:
    at: float
    what: str
    detail: str = ""


@dataclass
class Stack:
    base: Path | None = None
    port: int | None = None
    app_processes: int = 2
    web_concurrency: int = 4
    mail_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    echo: bool = False

    def __post_init__(self) -> None:
        self.own_base = self.base is None
        self.base = Path(self.base or tempfile.mkdtemp(prefix="8d-stack-"))
        self.base.chmod(0o755)  # postgres and nginx's workers run as their own users
        self.procs: dict[str, Managed] = {}
        self.events: list[Event] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.root = os.geteuid() == 0
        self.pg_user = "postgres" if self.root else None
        self.pg = pg_bin()
        self.ports = {"pg": free_port(), "redis": free_port(), "s3": free_port(), "smtp": free_port(),
                      "nginx": free_port(self.port)}
        for i in range(1, self.app_processes + 1):
            self.ports[f"app-{i}"] = free_port()
        self.url = f"http://localhost:{self.ports['nginx']}"
        self.database_url = f"postgresql+psycopg://postgres@127.0.0.1:{self.ports['pg']}/workbench"
        self.secret_key = secrets.token_hex(32)
        self.audit_key = secrets.token_hex(32)
        self._supervisor: threading.Thread | None = None

    # -- bookkeeping ---------------------------------------------------------------------------
    def note(self, what: str, detail: str = "") -> None:
        with self.lock:
            self.events.append(Event(time.time(), what, detail))
        if self.echo:
            print(f"[stack {time.strftime('%H:%M:%S')}] {what} {detail}".rstrip(), flush=True)

    def app_env(self, name: str) -> dict[str, str]:
        """What a host of this deployment has in its environment: nothing else configures the app."""
        drop = ("APP_CONFIG", "DATABASE_URL", "TEST_DATABASE_URL", "STORAGE_URL", "REDIS_URL", "SECRET_KEY", "AUDIT_KEY", "INSTANCE_PATH", "BIND",
                "WEB_CONCURRENCY", "WORKER_CLASS", "THREADS", "EMBEDDED_WORKER", "GUNICORN_CMD_ARGS", "CLOCK_OFFSET_DAYS", "FLASK_APP",
                "BASE_URL", "MAX_UPLOAD_MB", "PROXY_COUNT", "FORWARDED_ALLOW_IPS", "LOGIN_RATE_LIMIT")
        env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith(("SMTP_", "NOTIFY_", "AWS_"))}
        env.update({
            "PATH": f"{BIN}:{env.get('PATH', '/usr/bin:/bin')}",
            "APP_CONFIG": "production",
            "SECRET_KEY": self.secret_key,
            "AUDIT_KEY": self.audit_key,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
            "STORAGE_URL": f"s3://{BUCKET}?endpoint=http://127.0.0.1:{self.ports['s3']}&region=us-east-1",
            "AWS_ACCESS_KEY_ID": S3_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.ports["smtp"]),
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "8D Workbench <noreply@8d-workbench.local>",
            "BASE_URL": self.url,
            "MAX_UPLOAD_MB": str(MAX_UPLOAD_MB),
            "INSTANCE_PATH": str(self.base / name / "instance"),
            "EMBEDDED_WORKER": "0",
            "WORKER_CLASS": "sync",
            "WEB_CONCURRENCY": str(self.web_concurrency),
            "PROXY_COUNT": "1",
            "FORWARDED_ALLOW_IPS": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self.extra_env)
        return env

    def flask(self, *args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
        out = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=ROOT, env=self.app_env("admin"), capture_output=True, text=True,
                             timeout=timeout)
        if check and out.returncode:
            raise RuntimeError(f"flask {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def python(self, *args: str, timeout: float = 600) -> str:
        out = subprocess.run([sys.executable, *args], cwd=ROOT, env=self.app_env("admin"), capture_output=True, text=True, timeout=timeout)
        if out.returncode:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr[-4000:]}")
        return out.stdout

    def _as_pg(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.pg / args[0]), *args[1:]], capture_output=True, text=True, timeout=timeout, user=self.pg_user,
                              cwd=str(self.base / "pg"))

    def _add(self, m: Managed) -> Managed:
        self.procs[m.name] = m
        m.start()
        self.note("started", f"{m.name} pid {m.pid}" + (f" port {m.port}" if m.port else ""))
        return m

    # -- services ------------------------------------------------------------------------------
    def start_postgres(self) -> None:
        pg_dir = self.base / "pg"
        pg_dir.mkdir()
        if self.pg_user:
            pw = pwd.getpwnam(self.pg_user)
            os.chown(pg_dir, pw.pw_uid, pw.pw_gid)
        out = self._as_pg("initdb", "-D", str(pg_dir / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-instructions")
        if out.returncode:
            raise RuntimeError("initdb failed: " + out.stdout + out.stderr)
        with open(pg_dir / "data" / "postgresql.conf", "a") as conf:
            conf.write(f"\n# 8D Workbench stack\nport = {self.ports['pg']}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
                       "max_connections = 100\nshared_buffers = 128MB\nfsync = on\nsynchronous_commit = on\n")
        out = self._as_pg("pg_ctl", "-D", str(pg_dir / "data"), "-l", str(pg_dir / "postgres.log"), "-w", "-t", "60", "start")
        if out.returncode:
            raise RuntimeError("PostgreSQL did not start: " + out.stdout + out.stderr + (pg_dir / "postgres.log").read_text()[-2000:])
        out = self._as_pg("createdb", "-h", "127.0.0.1", "-p", str(self.ports["pg"]), "-U", "postgres", "workbench")
        if out.returncode:
            raise RuntimeError("createdb failed: " + out.stdout + out.stderr)
        self.note("started", f"postgres port {self.ports['pg']}")

    def restart_postgres(self) -> float:
        """`pg_ctl restart -m fast`: every connection is cut, the server is away for a moment."""
        t0 = time.time()
        self.note("fault", "postgres restart -m fast")
        out = self._as_pg("pg_ctl", "-D", str(self.base / "pg" / "data"), "-l", str(self.base / "pg" / "postgres.log"), "-w", "-t", "60",
                          "-m", "fast", "restart")
        if out.returncode:
            raise RuntimeError("PostgreSQL restart failed: " + out.stdout + out.stderr)
        self.note("recovered", f"postgres accepting connections again after {time.time() - t0:.1f} s")
        return time.time() - t0

    def stop_postgres(self) -> None:
        if (self.base / "pg" / "data" / "postmaster.pid").exists():
            self._as_pg("pg_ctl", "-D", str(self.base / "pg" / "data"), "-m", "fast", "-w", "stop")

    def start_redis(self) -> None:
        (self.base / "redis").mkdir()
        self._add(Managed("redis", [tool("redis-server"), "--port", str(self.ports["redis"]), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                                    "--dir", str(self.base / "redis"), "--logfile", ""], dict(os.environ), self.base / "logs" / "redis.log",
                          port=self.ports["redis"]))
        if not wait_for_port(self.ports["redis"]):
            raise RuntimeError("redis-server did not start")

    def start_s3(self) -> None:
        if "s3" not in self.procs:
            (self.base / "s3" / BUCKET).mkdir(parents=True)
            (self.base / "s3" / "rclone.conf").write_text("")
            m = Managed("s3", [tool("rclone"), "serve", "s3", "--config", str(self.base / "s3" / "rclone.conf"), "--auth-key",
                               f"{S3_ACCESS_KEY},{S3_SECRET_KEY}", "--addr", f"127.0.0.1:{self.ports['s3']}", "--log-level", "NOTICE",
                               str(self.base / "s3")], dict(os.environ), self.base / "logs" / "s3.log", port=self.ports["s3"])
            self._add(m)
        else:
            self.procs["s3"].start()
            self.note("recovered", f"s3 started again, pid {self.procs['s3'].pid}")
        if not wait_for_port(self.ports["s3"]):
            raise RuntimeError("rclone serve s3 did not start")

    def stop_s3(self) -> None:
        self.note("fault", "s3 stopped")
        self.procs["s3"].stop()

    def start_smtp(self) -> None:
        self._add(Managed("smtp", [sys.executable, str(ROOT / "bench" / "mailsink.py"), "--port", str(self.ports["smtp"]), "--out",
                                   str(self.mail_log)], dict(os.environ), self.base / "logs" / "smtp.log", port=self.ports["smtp"]))
        if not wait_for_port(self.ports["smtp"]):
            raise RuntimeError("the SMTP sink did not start")

    @property
    def mail_log(self) -> Path:
        return self.base / "mail" / "received.jsonl"

    def migrate_and_seed(self) -> None:
        release = procfile()["release"]
        out = subprocess.run(["/bin/sh", "-c", release], cwd=ROOT, env=self.app_env("admin"), capture_output=True, text=True, timeout=600)
        if out.returncode:
            raise RuntimeError(f"{release} failed: {out.stdout}\n{out.stderr}")
        self.note("migrated", release)
        self.flask("seed-demo", "--if-empty")
        self.note("seeded", "demo data")

    def start_apps(self) -> None:
        web = procfile()["web"]
        for i in range(1, self.app_processes + 1):
            name = f"app-{i}"
            env = {**self.app_env(name), "BIND": f"127.0.0.1:{self.ports[name]}"}
            self._add(Managed(name, ["/bin/sh", "-c", f"exec {web}"], env, self.base / "logs" / f"{name}.log", port=self.ports[name]))
        for i in range(1, self.app_processes + 1):
            self.wait_healthy(f"app-{i}")

    def wait_healthy(self, name: str, timeout: float = 60.0) -> float:
        port = self.procs[name].port
        t0 = time.time()
        while time.time() - t0 < timeout:
            if http_status(port) == 200:
                return time.time() - t0
            if not self.procs[name].alive and self.procs[name].held:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{name} is not healthy: " + self.procs[name].log_path.read_text(errors="replace")[-3000:])

    def start_workers(self) -> None:
        worker = procfile()["worker"]
        for i in range(1, self.mail_workers + 1):
            name = f"worker-{i}"
            self._add(Managed(name, ["/bin/sh", "-c", f"exec {worker}"], self.app_env(name), self.base / "logs" / f"{name}.log"))

    def start_nginx(self) -> None:
        d = self.base / "nginx"
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (d / "tmp" / sub).mkdir(parents=True, exist_ok=True)
        user_line = ""
        if self.root:
            try:
                pw = pwd.getpwnam("www-data")
                user_line = "user www-data;"
                for sub in (d / "tmp").iterdir():
                    os.chown(sub, pw.pw_uid, pw.pw_gid)
            except KeyError:
                user_line = "user root;"
        site = render((ROOT / "deploy" / "nginx" / "workbench.conf.template").read_text(), {
            "WB_LISTEN": f"127.0.0.1:{self.ports['nginx']}",
            "WB_SERVER_NAME": "localhost",
            "WB_APP_1": f"127.0.0.1:{self.ports['app-1']}",
            "WB_APP_2": f"127.0.0.1:{self.ports['app-2' if self.app_processes > 1 else 'app-1']}",
            "WB_ROOT": str(ROOT),
            "WB_MAX_BODY_MB": str(MAX_UPLOAD_MB + 1),
        })
        (d / "workbench.conf").write_text(site)
        (d / "nginx.conf").write_text(f"""# generated by bench/stack.py: the machine's nginx setup is not used
{user_line}
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    log_format timed '$remote_addr [$time_iso8601] "$request" $status $body_bytes_sent rt=$request_time '
                     'upstream=$upstream_addr ustatus=$upstream_status urt=$upstream_response_time';
    access_log {d}/access.log timed;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/workbench.conf;
}}
""")
        nginx = tool("nginx")
        check = subprocess.run([nginx, "-t", "-q", "-p", f"{d}/", "-e", f"{d}/error.log", "-c", str(d / "nginx.conf")], capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError("nginx -t: " + check.stdout + check.stderr)
        self._add(Managed("nginx", [nginx, "-p", f"{d}/", "-e", f"{d}/error.log", "-c", str(d / "nginx.conf"), "-g", "daemon off;"], dict(os.environ),
                          self.base / "logs" / "nginx.log", port=self.ports["nginx"]))
        deadline = time.monotonic() + 30
        while http_status(self.ports["nginx"]) != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("nginx does not answer /healthz: " + (d / "error.log").read_text(errors="replace")[-2000:])
            time.sleep(0.1)

    # -- the supervisor ------------------------------------------------------------------------
    def _supervise(self) -> None:
        due: dict[str, float] = {}
        while not self.stopping.is_set():
            for name, m in list(self.procs.items()):
                if m.alive or m.held or not m.restart:
                    due.pop(name, None)
                    continue
                if name not in due:
                    m.exited_at = time.time()
                    m._reap_group()
                    self.note("exited", f"{name} (code {m.proc.returncode}); restarting in {RESTART_DELAY:g} s")
                    due[name] = time.monotonic() + RESTART_DELAY
                elif time.monotonic() >= due[name]:
                    del due[name]
                    m.restarts += 1
                    m.start()
                    self.note("restarted", f"{name} pid {m.pid}")
                    if name.startswith("app-"):
                        threading.Thread(target=self._announce_healthy, args=(name,), daemon=True).start()
            self.stopping.wait(0.1)

    def _announce_healthy(self, name: str) -> None:
        try:
            seconds = self.wait_healthy(name)
            self.note("recovered", f"{name} healthy {seconds:.1f} s after its restart")
        except RuntimeError as exc:
            self.note("unhealthy", f"{name}: {str(exc)[:200]}")

    def kill(self, name: str) -> None:
        """kill -9 of the process and everything it started (a gunicorn arbiter and its workers)."""
        m = self.procs[name]
        self.note("fault", f"kill -9 {name} (pid {m.pid} and its process group)")
        m.signal(signal.SIGKILL)

    # -- the whole ------------------------------------------------------------------------------
    def start(self) -> Stack:
        (self.base / "logs").mkdir(exist_ok=True)
        try:
            self.start_postgres()
            self.start_redis()
            self.start_s3()
            self.start_smtp()
            self.migrate_and_seed()
            self.start_apps()
            self.start_workers()
            self.start_nginx()
        except BaseException:
            self.stop()
            raise
        self._supervisor = threading.Thread(target=self._supervise, name="supervisor", daemon=True)
        self._supervisor.start()
        return self

    def stop(self, remove: bool | None = None) -> None:
        self.stopping.set()
        if self._supervisor:
            self._supervisor.join(timeout=5)
        order = ["nginx", *[n for n in self.procs if n.startswith("app-")], *[n for n in self.procs if n.startswith("worker-")], "smtp", "s3", "redis"]
        for name in order:
            if name in self.procs:
                self.procs[name].stop()
        self.stop_postgres()
        if remove if remove is not None else self.own_base:
            shutil.rmtree(self.base, ignore_errors=True)

    def describe(self) -> str:
        rows = [f"  {'nginx':9} http://localhost:{self.ports['nginx']}  (deploy/nginx/workbench.conf.template -> {self.base}/nginx/)"]
        for name, m in self.procs.items():
            if name.startswith(("app-", "worker-")):
                rows.append(f"  {name:9} pid {m.pid}" + (f", 127.0.0.1:{m.port}" if m.port else "") + f", log {m.log_path}")
        rows += [f"  {'postgres':9} 127.0.0.1:{self.ports['pg']} (data {self.base}/pg/data)",
                 f"  {'redis':9} 127.0.0.1:{self.ports['redis']}",
                 f"  {'s3':9} http://127.0.0.1:{self.ports['s3']} (rclone serve s3, bucket {BUCKET}, data {self.base}/s3)",
                 f"  {'smtp':9} 127.0.0.1:{self.ports['smtp']} (every mail: {self.mail_log})"]
        return "\n".join(rows)


DEMO_LOGINS = [
    ("thomas.richter@volta.example", "Volta Motors AG (OEM), quality lead: reviews and signs"),
    ("jana.weber@volta.example", "Volta Motors AG (OEM), engineer"),
    ("lukas.brandt@celltech.example", "CellTech Modules GmbH (supplier), team leader"),
    ("mia.schulz@celltech.example", "CellTech Modules GmbH (supplier), engineer"),
    ("admin@volta.example", "Volta Motors AG, company admin"),
    ("operator@8d-workbench.example", "the operator, platform admin (companies and first admins)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description="The production layout on loopback (make prod-demo).")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8080")), help="nginx's port (a free one if taken)")
    parser.add_argument("--web-concurrency", type=int, default=int(os.environ.get("STACK_WEB_CONCURRENCY", "4")))
    args = parser.parse_args()
    stack = Stack(port=args.port, web_concurrency=args.web_concurrency, echo=True)
    print(f"Starting the production layout on loopback in {stack.base} ...", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())  # also when started in the background, where SIGINT is ignored
    try:
        stack.start()
        print(f"\n8D Workbench (APP_CONFIG=production) at {stack.url}\n\n{stack.describe()}\n")
        print("Demo logins (password demo-password-8d for all; README lists every demo user):")
        for email, who in DEMO_LOGINS:
            print(f"  {email:32} {who}")
        print("\nTry: kill -9 an app-N or worker-N pid above - the supervisor restarts it, nginx keeps serving.")
        print("Ctrl-C stops everything.", flush=True)
        while not stop.is_set():
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping ...", flush=True)
        stack.stop()
        print("Stopped; the temporary directory is removed.")


if __name__ == "__main__":
    main()
