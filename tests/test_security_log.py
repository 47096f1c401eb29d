"""The security log records logins, failures, denied actions and signatures - never secrets."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from tests.conftest import PASSWORD, csrf_from, login


def _lines(app) -> list[dict]:
    from app import security_log

    security_log.configure(app)  # other tests build other apps in this process; log to ours again
    handler = next(h for h in logging.getLogger("workbench.security").handlers if getattr(h, "_workbench", False))
    handler.flush()
    path = Path(handler.baseFilename)
    assert path.parent == Path(app.instance_path)
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_logins_failures_and_denials_are_logged_without_secrets(app, client, parties, api):
    p = parties
    before = len(_lines(app))
    html = client.get("/login").get_data(as_text=True)
    client.post("/login", data={"email": p.sup_eng.email, "password": "wrong-password-123", "csrf_token": csrf_from(html)})
    login(client, p.sup_eng)
    assert client.get("/admin/users").status_code == 403
    token = api(p.oem_eng).headers["Authorization"]
    new = _lines(app)[before:]
    kinds = [(e["event"], e["outcome"]) for e in new]
    assert ("login", "failed") in kinds and ("login", "ok") in kinds and ("denied", "403") in kinds and ("token", "ok") in kinds
    text = json.dumps(new)
    assert PASSWORD not in text and "wrong-password-123" not in text and token.split()[1] not in text
    assert all(e["at"].endswith("Z") and "ip" in e for e in new)
