"""Co-editing against a real server (gunicorn, several processes and threads, loopback only):
nobody's save is lost, a real clash gives exactly one winner, never a 5xx or "database is locked"."""

from __future__ import annotations

import threading

import pytest
import requests

from tests.support.live_server import LiveServer

DEMO_PASSWORD = "demo-password-8d"
FIELDS = ["problem_statement", "customer_description", "supplier_description", "effect_customer_plant",
          "effect_vehicle", "effect_field", "other_parts_at_risk", "preliminary_risk"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("live")).start()
    yield live
    live.stop()
    assert "database is locked" not in live.server_log()


def token(server, email):
    r = requests.post(f"{server.url}/api/v1/tokens", json={"email": email, "password": DEMO_PASSWORD}, timeout=30)
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


@pytest.fixture(scope="module")
def editors(server):
    """A fresh report with eight editors of both companies on its team."""
    admin = token(server, "operator@8d-workbench.example")  # the platform admin: accounts of both companies
    companies = {c["name"]: c["id"] for c in requests.get(f"{server.url}/api/v1/companies", headers=admin, timeout=30).json()["items"]}
    leader = token(server, "lukas.brandt@celltech.example")
    report = requests.post(f"{server.url}/api/v1/reports", headers=leader, timeout=30, json={
        "title": "Concurrent editing", "oem_id": companies["Volta Motors AG"], "supplier_id": companies["CellTech Modules GmbH"]}).json()
    headers = []
    for i in range(8):
        company = "Volta Motors AG" if i % 2 else "CellTech Modules GmbH"
        email = f"editor{i}@{'volta' if i % 2 else 'celltech'}.example"
        u = requests.post(f"{server.url}/api/v1/admin/users", headers=admin, timeout=30, json={
            "email": email, "name": f"Editor {i}", "company_id": companies[company], "role": "engineer", "password": DEMO_PASSWORD})
        assert u.status_code == 201, u.text
        r = requests.post(f"{server.url}/api/v1/reports/{report['id']}/team", headers=leader, timeout=30, json={"user_id": u.json()["id"], "role": "member"})
        assert r.status_code == 201, r.text
        headers.append(token(server, email))
    return report["id"], headers


def test_eight_editors_saving_different_fields_keep_every_save(server, editors):
    report_id, headers = editors
    url = f"{server.url}/api/v1/reports/{report_id}/disciplines/D2"
    statuses: list[int] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        s = requests.Session()
        s.headers.update(headers[i])
        version = 0
        for k in range(50):
            r = s.patch(url, json={"base_version": version, "fields": {FIELDS[i]: f"editor {i} save {k}"}}, timeout=60)
            with lock:
                statuses.append(r.status_code)
            if r.status_code == 200:
                # the base is this editor's own last save: the others' saves since then touched
                # other fields and must merge silently
                version = r.json()["version"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses.count(200) == 400, {s: statuses.count(s) for s in set(statuses)}
    final = requests.get(f"{server.url}/api/v1/reports/{report_id}/disciplines/D2", headers=headers[0], timeout=30).json()
    assert final["version"] == 400
    for i, name in enumerate(FIELDS):
        assert final["fields"][name] == f"editor {i} save 49"


def test_editors_on_the_same_field_exactly_one_wins_each_round(server, editors):
    report_id, headers = editors
    url = f"{server.url}/api/v1/reports/{report_id}/disciplines/D2"
    for round_ in range(10):
        version = requests.get(url, headers=headers[0], timeout=30).json()["version"]
        barrier = threading.Barrier(8)
        results: dict[int, requests.Response] = {}

        def work(i: int, barrier=barrier, results=results, version=version, round_=round_) -> None:
            barrier.wait()
            results[i] = requests.patch(url, headers=headers[i], timeout=60,
                                        json={"base_version": version, "fields": {"trend": f"round {round_} by editor {i}"}})

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r.status_code for r in results.values())
        assert codes == [200] + [409] * 7, codes
        for i, r in results.items():
            if r.status_code == 409:
                body = r.json()
                assert body["error"] == "conflict"
                assert body["details"]["fields"]["trend"]["yours"] == f"round {round_} by editor {i}"


def test_the_audit_trail_of_concurrent_saves_is_one_intact_chain(server, editors):
    """Every save above appended to the report's hash chain under the report's lock: no gaps, no
    forks, the anchor at the end, and one discipline.updated event per successful save."""
    report_id, headers = editors
    out = server.flask("audit", "verify")
    assert "Audit trail intact" in out
    events = []
    url = f"{server.url}/api/v1/reports/{report_id}/events?per_page=100"
    page = 1
    while True:
        body = requests.get(f"{url}&page={page}", headers=headers[0], timeout=30).json()
        events += body["items"]
        if len(events) >= body["total"] or not body["items"]:
            break
        page += 1
    saves = [e for e in events if e["action"] == "discipline.updated"]
    assert len(saves) == 400 + 10  # 8 x 50 merged saves, one winner in each of the 10 rounds
