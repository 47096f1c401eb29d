"""Load from wrk (Debian's package), as the peers measure: on 2 cores a Python client saturates
before the server does. One function: requests/s, latency percentiles and non-2xx/3xx answers."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

# wrk's Lua hook: the figures as one JSON line after the run (latency in microseconds).
_REPORT = """
done = function(summary, latency, requests)
  io.write(string.format('WRK {"requests": %d, "seconds": %f, "p50": %f, "p95": %f, "p99": %f, "status": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""


def wrk(url: str, headers: dict[str, str] | None = None, seconds: float = 10, connections: int = 16, threads: int = 2) -> dict:
    """{"rps", "p50", "p95", "p99" (ms), "errors" (non-2xx/3xx answers and socket errors), "n"}."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y --no-install-recommends wrk (make bench installs it)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_REPORT)
    try:
        args = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script.name]
        for k, v in (headers or {}).items():
            args += ["-H", f"{k}: {v}"]
        out = subprocess.run([*args, url], capture_output=True, text=True, timeout=seconds + 60).stdout
    finally:
        Path(script.name).unlink(missing_ok=True)
    line = next((x for x in out.splitlines() if x.startswith("WRK ")), None)
    if line is None:
        raise RuntimeError("wrk printed no figures: " + out[-500:])
    r = json.loads(line[4:])
    return {"rps": r["requests"] / r["seconds"], "p50": r["p50"] / 1000, "p95": r["p95"] / 1000, "p99": r["p99"] / 1000,
            "errors": r["status"] + r["errors"], "n": r["requests"]}
