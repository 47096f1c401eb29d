"""Corrective-action tracking: assignment within the team, status steps with four-eyes
verification, cancellation with a reason, containment lifted in D6, gates reading actions,
views scoped to what a user may see, CSV safe against formula injection, constant queries."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import Report, utcnow
from app.services import reports, team
from tests.conftest import csrf_from, login


@pytest.fixture
def report(parties):
    p = parties
    r = reports.create_report(p.sup_eng, {"title": "Welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.change_member(p.sup_eng, r, p.sup_eng.id, {"role": "leader"})
    team.add_member(p.sup_eng, r, p.oem_eng.id, "member")
    team.add_member(p.sup_eng, r, p.sup_eng2.id, "member")
    db.session.commit()
    return r


def tomorrow() -> str:
    return (utcnow().date() + dt.timedelta(days=1)).isoformat()


def create(client, report, **kw):
    body = {"kind": "containment", "title": "Sort supplier stock", "owner_id": kw.pop("owner_id"), "due_date": tomorrow(), **kw}
    return client.post(f"/api/v1/reports/{report.id}/actions", json=body)


def test_action_lifecycle_with_four_eyes_verification(api, parties, report):
    p = parties
    lead = api(p.sup_eng)
    r = create(lead, report, owner_id=p.sup_eng2.id, location="supplier_stock", qty_suspect=2060)
    assert r.status_code == 201, r.get_json()
    a = r.get_json()
    assert a["status"] == "open" and a["version"] == 1 and a["discipline"] == "D3"
    url = f"/api/v1/actions/{a['id']}"
    # status jumps are refused
    assert lead.patch(url, json={"version": 1, "status": "verified", "verification": "x"}).status_code == 422
    owner = api(p.sup_eng2)
    a = owner.patch(url, json={"version": 1, "status": "in_progress"}).get_json()
    a = owner.patch(url, json={"version": 2, "status": "implemented"}).get_json()
    assert a["status"] == "implemented" and a["version"] == 3
    # stale version -> 409 and nothing written
    stale = lead.patch(url, json={"version": 2, "title": "changed"})
    assert stale.status_code == 409 and stale.get_json()["error"] == "conflict"
    # the owner cannot verify; verification text required
    assert owner.patch(url, json={"version": 3, "status": "verified", "verification": "Re-test of 10 NOK"}).status_code == 422
    assert lead.patch(url, json={"version": 3, "status": "verified"}).status_code == 422
    done = lead.patch(url, json={"version": 3, "status": "verified", "verification": "Re-test of 10 known NOK: all caught"})
    assert done.status_code == 200 and done.get_json()["verified_by"]["id"] == p.sup_eng.id
    # containment is lifted in D6, not before
    lift = lead.patch(url, json={"version": 4, "removed_at": utcnow().isoformat() + "Z"})
    assert lift.status_code == 422 and lift.get_json()["details"]["rule"] == "containment_until_d6"


def test_cancel_needs_a_reason_and_owner_must_be_on_the_team(api, parties, report):
    p = parties
    lead = api(p.sup_eng)
    assert create(lead, report, owner_id=p.other_eng.id).status_code == 422
    assert create(lead, report, owner_id=p.oem_eng2.id).status_code == 422  # OEM, but not on the team
    assert create(lead, report, owner_id=p.oem_eng.id, kind="magic").status_code == 422
    assert create(lead, report, owner_id=p.oem_eng.id, cause="bad_luck").status_code == 422
    assert create(lead, report, owner_id=p.oem_eng.id, cause_ref="C9").status_code == 422
    assert create(lead, report, owner_id=p.oem_eng.id, due_date="2026-02-31").status_code == 422
    assert create(lead, report, owner_id="5").status_code == 400
    past = create(lead, report, owner_id=p.oem_eng.id, due_date="2020-01-01")
    assert past.status_code == 201 and past.get_json()["overdue"] is True and past.get_json()["warnings"]
    a = past.get_json()
    assert lead.patch(f"/api/v1/actions/{a['id']}", json={"version": 1, "status": "cancelled"}).status_code == 422
    ok = lead.patch(f"/api/v1/actions/{a['id']}", json={"version": 1, "status": "cancelled", "reason": "Duplicate of ICA2"})
    assert ok.status_code == 200 and ok.get_json()["cancel_reason"] == "Duplicate of ICA2"
    assert api(p.oem_viewer).post(f"/api/v1/reports/{report.id}/actions", json={}).status_code == 403
    assert api(p.other_eng).get(f"/api/v1/actions/{a['id']}").status_code == 404


def test_my_actions_and_filters_show_only_what_the_user_may_see(api, parties, report, make_user):
    p = parties
    lead = api(p.sup_eng)
    create(lead, report, owner_id=p.oem_eng.id, title="OEM sorts customer stock", location="customer_stock")
    create(lead, report, owner_id=p.sup_eng2.id, title="Late one", due_date="2020-01-01")
    other_report = reports.create_report(p.other_eng, {"title": "Other", "oem_id": p.oem.id, "supplier_id": p.other.id})
    db.session.commit()
    api(p.other_eng).post(f"/api/v1/reports/{other_report.id}/actions", json={"kind": "corrective", "title": "Nordpack fix", "owner_id": p.other_eng.id, "due_date": tomorrow()})
    mine = api(p.oem_eng).get("/api/v1/actions?owner=me").get_json()
    assert [a["title"] for a in mine["items"]] == ["OEM sorts customer stock"]
    sup = api(p.sup_eng).get("/api/v1/actions").get_json()
    assert {a["title"] for a in sup["items"]} == {"OEM sorts customer stock", "Late one"}
    assert [a["title"] for a in api(p.sup_eng).get("/api/v1/actions?overdue=true").get_json()["items"]] == ["Late one"]
    assert {a["title"] for a in api(p.oem_eng).get("/api/v1/actions").get_json()["items"]} == {"OEM sorts customer stock", "Late one", "Nordpack fix"}
    other = api(p.other_eng).get("/api/v1/actions").get_json()
    assert [a["title"] for a in other["items"]] == ["Nordpack fix"]
    assert api(p.sup_eng).get(f"/api/v1/actions?company_id={p.oem.id}").get_json()["total"] == 1
    assert api(p.sup_eng).get("/api/v1/actions?status=nonsense").status_code == 400


def test_csv_export_neutralises_formulas(api, parties, report, client):
    p = parties
    create(api(p.sup_eng), report, owner_id=p.sup_eng.id, title='=HYPERLINK("http://evil.example","click")')
    login(client, p.sup_eng)
    body = client.get("/actions.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def test_gates_read_the_actions(api, parties, report):
    """D6 cannot pass while a tracked corrective action is not verified or a containment is still in place."""
    from app.method import gate_missing_items
    from app.services.reports import gate_context

    p = parties
    lead = api(p.sup_eng)
    c = create(lead, report, owner_id=p.sup_eng2.id, location="in_transit")
    k = lead.post(f"/api/v1/reports/{report.id}/actions", json={"kind": "corrective", "title": "Rev C fixture with coding pin", "owner_id": p.sup_eng2.id, "due_date": tomorrow()})
    assert c.status_code == 201 and k.status_code == 201, (c.get_json(), k.get_json())
    db.session.expire_all()
    r = db.session.get(Report, report.id)
    missing = " | ".join(gate_missing_items(gate_context(r), "D6"))
    assert "Rev C fixture" in missing and "has not been lifted" in missing
    d8 = " | ".join(gate_missing_items(gate_context(r), "D8"))
    assert "still open" in d8
    lead.post(f"/api/v1/reports/{report.id}/actions", json={"kind": "preventive", "title": "Coding pins on line M3", "owner_id": p.sup_eng2.id, "due_date": tomorrow()})
    db.session.expire_all()
    d7 = " | ".join(gate_missing_items(gate_context(db.session.get(Report, report.id)), "D7"))
    assert "Coding pins on line M3" in d7


def test_action_pages_work_for_the_team(app, api, parties, report, client):
    p = parties
    login(client, p.sup_eng)
    page = client.get(f"/reports/{report.id}?d=D3").get_data(as_text=True)
    assert "Add a containment action" in page
    res = client.post(f"/reports/{report.id}/actions", data={"csrf_token": csrf_from(page), "kind": "containment", "d": "D3", "title": "Block WIP",
                                                            "owner_id": str(p.sup_eng2.id), "due_date": tomorrow(), "location": "supplier_wip"})
    assert res.status_code == 302
    page = client.get(f"/reports/{report.id}?d=D3").get_data(as_text=True)
    assert "Block WIP" in page
    mine = app.test_client()
    login(mine, p.sup_eng2)
    assert "Block WIP" in mine.get("/actions/mine").get_data(as_text=True)
    assert "Block WIP" in client.get("/actions?kind=containment").get_data(as_text=True)
    assert "Block WIP" in client.get(f"/reports/{report.id}/actions").get_data(as_text=True)


def _count_queries(app, fn) -> int:
    count = {"n": 0}

    def before(*_a, **_k):
        count["n"] += 1

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return count["n"]


def test_action_lists_keep_a_constant_number_of_queries(app, api, parties, report, client):
    p = parties
    lead = api(p.sup_eng)
    login(client, p.sup_eng)
    create(lead, report, owner_id=p.sup_eng2.id)
    one_list = _count_queries(app, lambda: client.get("/actions"))
    one_api = _count_queries(app, lambda: lead.get("/api/v1/actions"))
    one_report = _count_queries(app, lambda: client.get(f"/reports/{report.id}?d=D3"))
    for i in range(30):
        assert create(lead, report, owner_id=[p.sup_eng2.id, p.oem_eng.id, p.sup_eng.id][i % 3], title=f"Action {i}").status_code == 201
    assert lead.get("/api/v1/actions").get_json()["total"] == 31
    assert _count_queries(app, lambda: client.get("/actions")) == one_list
    assert _count_queries(app, lambda: lead.get("/api/v1/actions")) == one_api
    assert _count_queries(app, lambda: client.get(f"/reports/{report.id}?d=D3")) == one_report
    assert one_list <= 15 and one_report <= 25
