"""Counts the SQL statements of one page view, in-process (test client), against the bench DB."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event

from app import create_app
from app.extensions import db


def count(client, path: str) -> int:
    n = {"q": 0}

    def before(*_a, **_k):
        n["q"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        r = client.get(path)
        assert r.status_code == 200, (path, r.status_code)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return n["q"]


if __name__ == "__main__":
    app = create_app()
    with app.app_context():
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        client.post("/login", data={"email": sys.argv[1], "password": "demo-password-8d", "csrf_token": found.group(1) if found else ""})
        print(json.dumps({path: count(client, path) for path in sys.argv[2:]}))
