"""Sign-in timing: the median time of a failed sign-in for an unknown e-mail and for a known one,
with argon2's production parameters, interleaved so that the machine's load falls on both alike.
Goal: the medians differ by less than 10 % (an account's existence is not told by timing).
tests/test_login_timing.py asserts the cause (one verification, no hashing, for every failure).

    python bench/login_timing.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def measure(rounds: int = 15) -> dict:
    from app import create_app
    from app.extensions import db
    from app.services import accounts
    from config import TestingConfig

    tmp = Path(tempfile.mkdtemp(prefix="login-timing-"))
    app = create_app(TestingConfig(), SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.db'}", INSTANCE_PATH=str(tmp), PASSWORD_HASH_FAST=False)
    with app.app_context():
        db.create_all()
        company = accounts.create_company(None, "CellTech Modules GmbH", "supplier")
        accounts.create_user(None, "known@celltech.example", "Known Person", company.id, "engineer", "correct-horse-battery-8d")
        db.session.commit()
    client = app.test_client()

    def attempt(email: str) -> float:
        start = time.perf_counter()
        status = client.post("/api/v1/tokens", json={"email": email, "password": "wrong-password-8d"}).status_code
        assert status == 401, status
        return time.perf_counter() - start

    attempt("warm-up@nowhere.example")
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    for i in range(rounds):
        times["known"].append(attempt("known@celltech.example"))
        times["unknown"].append(attempt(f"nobody{i}@nowhere.example"))
    known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
    return {"known_ms": known * 1000, "unknown_ms": unknown * 1000, "difference": abs(known - unknown) / max(known, unknown)}


if __name__ == "__main__":
    r = measure()
    print(f"median failed sign-in: known e-mail {r['known_ms']:.1f} ms, unknown {r['unknown_ms']:.1f} ms, "
          f"difference {r['difference'] * 100:.1f} % (goal < 10 %)")
