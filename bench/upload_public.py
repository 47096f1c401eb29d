"""A 200 MB evidence upload end to end through gunicorn, the body read through WSGI's public
interface (app/uploads.py): MB/s and the workers' memory growth (issue 17, item 5; goal >= 250
MB/s and < 32 MB). `make bench` measures the same as R5; this runs it alone:
`.venv/bin/python bench/upload_public.py` (SQLite; UPLOAD_RUNS, default 3)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.extra import upload_throughput  # noqa: E402
from bench.run import THREADS, WORKERS, api_token, run_python  # noqa: E402
from tests.support.live_server import LiveServer  # noqa: E402


def main() -> None:
    os.environ.pop("TEST_DATABASE_URL", None)
    server = LiveServer(Path(tempfile.mkdtemp(prefix="bench-upload-")), workers=WORKERS, threads=THREADS, extra_env={"MAX_UPLOAD_MB": "300"}).start()
    try:
        report_id = int(run_python(server, "bench/seed.py", "full"))
        up = upload_throughput(server, api_token(server.port, "lukas.brandt@celltech.example"), report_id,
                               runs=int(os.environ.get("UPLOAD_RUNS", "3")))
    finally:
        server.stop()
    print("| figure | value | goal |\n|---|---|---|")
    print(f"| {up['size_mb']:.0f} MB upload, best of {up['runs']} (MB/s) | {up['upload_mbs']:.0f} | >= 250 |")
    print(f"| plain copy of the file, best of {up['runs']} (MB/s) | {up['copy_mbs']:.0f} | |")
    print(f"| server peak memory growth during the uploads (MB) | {up['peak_growth_mb']:.1f} | < 32 |")


if __name__ == "__main__":
    main()
