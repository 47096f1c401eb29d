"""The security log: logins, failures, lockouts, denied actions and signature attempts - who,
what, UTC time, address. Never a password, token or session id."""

from __future__ import annotations

import json
import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from flask import current_app, has_request_context, request

from app.models import utcnow

logger = logging.getLogger("workbench.security")


def configure(app) -> None:
    logger.disabled = False
    path = Path(app.instance_path) / "security.log"
    for h in list(logger.handlers):
        if getattr(h, "_workbench", False):
            if Path(h.baseFilename) == path:
                return
            logger.removeHandler(h)  # one app per process in production; tests build several
            h.close()
    handler = RotatingFileHandler(path, maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._workbench = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def _clean(value) -> str | None:
    if value is None:
        return None
    return str(value).replace("\r", " ").replace("\n", " ")[:200]


def event(what: str, *, user=None, email: str | None = None, outcome: str = "ok", detail: str | None = None) -> None:
    record = {
        "at": utcnow().isoformat(timespec="seconds") + "Z",
        "event": what,
        "outcome": outcome,
        "user_id": getattr(user, "id", None),
        "email": _clean(email or getattr(user, "email", None)),
        "ip": _clean(request.remote_addr) if has_request_context() else None,
        "path": _clean(request.path) if has_request_context() else None,
        "detail": _clean(detail),
    }
    try:
        logger.info(json.dumps(record, ensure_ascii=False))
    except Exception:  # pragma: no cover - logging must never break a request
        current_app.logger.exception("security log failed")
