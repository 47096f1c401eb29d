"""The signature lockout is atomic: twelve wrong passwords sent at once to a real server (two
gunicorn processes, eight threads each) get at most five passwords checked before the lock - the
others are refused (429) without a check - on SQLite and PostgreSQL alike."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.live_server import LiveServer

DEMO_PASSWORD = "demo-password-8d"
QUALITY_LEAD = "thomas.richter@volta.example"
IN_REVIEW = 2  # the demo's coolant leak, waiting for the customer's review of D3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live"), workers=2, threads=8, extra_env={"EMBEDDED_WORKER": "0"}).start()
    yield live
    live.stop()


def _headers(server) -> dict:
    r = requests.post(f"{server.url}/api/v1/tokens", json={"email": QUALITY_LEAD, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_twelve_parallel_wrong_passwords_check_at_most_five(server):
    headers = _headers(server)
    url = f"{server.url}/api/v1/reports/{IN_REVIEW}/review"
    start = threading.Barrier(12)
    statuses: list[int] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        with requests.Session() as s:
            start.wait()
            r = s.post(url, headers=headers, json={"decision": "approve", "comment": "", "password": f"wrong-password-{i}"}, timeout=60)
        with lock:
            statuses.append(r.status_code)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    events = requests.get(f"{server.url}/api/v1/reports/{IN_REVIEW}/events?per_page=200", headers=headers, timeout=30).json()["items"]
    checked = sum(1 for e in events if e["action"] == "signature.failed")  # each checked wrong password is recorded
    assert sorted(statuses) == [403] * 5 + [429] * 7, statuses
    assert checked == 5
    # locked now, even for the right password; nothing was approved
    r = requests.post(url, headers=headers, json={"decision": "approve", "comment": "", "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 429 and r.json()["error"] == "rate_limited"
    assert requests.get(f"{server.url}/api/v1/reports/{IN_REVIEW}", headers=headers, timeout=30).json()["status"] == "in_review"
    log = server.server_log()
    assert "database is locked" not in log and '" 500 ' not in log
