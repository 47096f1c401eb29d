"""Sign-in budgets, counted in the database.

Every attempt to sign in (the login form and `POST /api/v1/tokens` alike) spends one unit of the
account's budget and one of the address's; password-reset requests spend the address's reset
budget. The counters are rows of `login_budget`, raised with one atomic upsert per key, so every
process and every machine that shares the database shares the budgets - two gunicorn workers do
not double them, and no Redis is needed. Fixed windows (LOGIN_RATE_LIMIT, e.g. "10 per minute").

The count is committed at once, before the password is looked at: a failed attempt must cost
its unit although the request that made it ends in an error (and is rolled back).
"""

from __future__ import annotations

import re
import time

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.errors import DomainError
from app.extensions import db
from app.models import LoginBudget

_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_LIMIT = re.compile(r"^\s*(\d+)\s*(?:per|/)\s*(\d+)?\s*(second|minute|hour|day)s?\s*$", re.IGNORECASE)


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    log_event = "rate_limited"


def parse_limit(text: str) -> tuple[int, int]:
    """("10 per minute" | "10/minute" | "100 per 5 minutes") -> (amount, window in seconds)."""
    m = _LIMIT.match(text or "")
    if not m:
        raise ValueError(f"not a rate limit: {text!r} (e.g. '10 per minute')")
    return int(m.group(1)), int(m.group(2) or 1) * _UNITS[m.group(3).lower()]


def account_key(email) -> str:
    return "account:" + (email if isinstance(email, str) else "").strip().lower()[:320]


def address_key(kind: str, address: str | None) -> str:
    return f"{kind}:{(address or '-')[:64]}"


def _insert():
    return pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert


def spend(*keys: str) -> None:
    """One unit of each key's budget; RateLimited (429) once any of them is used up. Commits."""
    amount, window = parse_limit(current_app.config["LOGIN_RATE_LIMIT"])
    now = int(time.time())
    start = now - now % window
    table = LoginBudget.__table__
    counts = []
    for key in keys:
        stmt = _insert()(table).values(key=key, window_start=start, expires_at=start + window, count=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[table.c.key],
            set_={"count": case((table.c.window_start == start, table.c.count + 1), else_=1), "window_start": start, "expires_at": start + window},
        ).returning(table.c.count)
        counts.append(db.session.execute(stmt).scalar_one())
    db.session.commit()
    if 1 in counts:  # a new window began for a key: forget the ones that ran out (holding no other row's lock)
        db.session.execute(delete(table).where(table.c.expires_at < now))
        db.session.commit()
    if any(count > amount for count in counts):
        raise RateLimited(_("Too many attempts. Please wait a minute and try again."))
