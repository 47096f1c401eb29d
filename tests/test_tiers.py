"""Multi-tier 8Ds (issue 21): a Tier-1 that is the supplier of one report is the customer of the
cascade it opens with its sub-supplier. Each of the three companies sees exactly what is
described: the parent's supplier sees the child in full and the link back; the parent's
customer sees that a cascade exists (number, supplier, stage, status) and nothing of it; the
sub-supplier never sees the parent."""

from __future__ import annotations

import pytest

from app.extensions import db as _db
from app.method import CODES
from app.models import Report, Status
from app.services import accounts
from app.services import reports as report_service
from app.services import team as team_service

DESCRIPTION = "37 of 4,800 modules with cracked cell-tab welds; the cells of lot C-2611 show swollen pouches."


@pytest.fixture
def tiers(parties, make_company, make_user):
    """Volta (OEM) -> CellTech (Tier-1) -> a cell maker (Tier-2); the report at D1 with CellTech's
    Lukas Brandt as leader and Petra Vogel as champion."""
    p = parties
    p.cellmaker = make_company("supplier", "Hanse Cell GmbH")
    p.cell_eng = make_user("engineer", p.cellmaker, "Ole Hansen")
    p.cell_lead = make_user("quality_lead", p.cellmaker, "Greta Lund")
    accounts.link_supplier(None, p.supplier, p.cellmaker)  # CellTech buys its cells from Hanse Cell (a platform admin recorded it)
    report = report_service.create_report(p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id,
                                                       "part_number": "BM-12S-4471"})
    team_service.add_member(p.oem_eng, report, p.sup_eng.id, "leader")
    team_service.change_member(p.oem_eng, report, p.oem_eng.id, {"role": "member"})
    team_service.add_member(p.sup_eng, report, p.sup_lead.id, "champion")
    _db.session.commit()
    p.report_id, p.number = report.id, report.number
    return p


def _cascade(api, p, **extra):
    body = {"supplier_id": p.cellmaker.id, "title": "Swollen pouch cells, lot C-2611", "discipline": "D4", "description": DESCRIPTION, **extra}
    return api(p.sup_eng).post(f"/api/v1/reports/{p.report_id}/cascade", json=body)


def test_the_supplier_leader_cascades_and_the_child_starts_with_what_was_passed_on(api, tiers):
    p = tiers
    r = _cascade(api, p)
    assert r.status_code == 201, r.get_json()
    child = r.get_json()
    assert child["oem"]["id"] == p.supplier.id and child["supplier"]["id"] == p.cellmaker.id  # the Tier-1 is the customer
    assert child["parent"] == {"id": p.report_id, "number": p.number}
    assert child["disciplines"]["D2"]["fields"] == {"customer_description": DESCRIPTION}
    assert [m["user_id"] for m in child["team"] if m["role"] == "champion"] == [p.sup_eng.id]
    # nothing else of the parent travelled: not its title, part number or complaint
    assert child["title"] != "Cracked cell-tab welds" and child["part_number"] is None
    events = api(p.sup_eng).get(f"/api/v1/reports/{p.report_id}/events").get_json()["items"]
    assert any(e["action"] == "report.cascaded" and e["changes"]["cascade"] == [None, child["number"]] for e in events)


@pytest.mark.parametrize("who, status", [("sup_eng2", 404), ("oem_eng", 403), ("sup_lead", 201), ("oem_lead", 403), ("cell_eng", 404)])
def test_only_the_suppliers_leader_or_champion_cascades(api, tiers, who, status):
    p = tiers
    body = {"supplier_id": p.cellmaker.id, "title": "Swollen pouch cells"}
    # Mia (CellTech, off the team) may see the report but not steer it; the cell maker does not see it at all
    expected = 403 if who == "sup_eng2" else status
    r = api(getattr(p, who)).post(f"/api/v1/reports/{p.report_id}/cascade", json=body)
    assert r.status_code == expected, r.get_json()


def test_cascade_refuses_bad_targets_and_closed_reports(api, tiers):
    p = tiers
    client = api(p.sup_eng)
    for target in (p.oem.id, p.supplier.id, p.other.id, 999999):  # Nordpack: no supplier of CellTech
        r = client.post(f"/api/v1/reports/{p.report_id}/cascade", json={"supplier_id": target, "title": "x"})
        assert r.status_code == 422 and "supplier_id" in r.get_json()["details"]["fields"]
    assert client.post(f"/api/v1/reports/{p.report_id}/cascade", json={"supplier_id": "7", "title": "x"}).status_code == 400
    assert client.post(f"/api/v1/reports/{p.report_id}/cascade", json={"supplier_id": p.cellmaker.id, "title": ""}).status_code == 422
    r = client.post(f"/api/v1/reports/{p.report_id}/cascade", json={"supplier_id": p.cellmaker.id, "title": "x", "discipline": "D7"})
    assert r.status_code == 422
    _db.session.execute(Report.__table__.update().where(Report.id == p.report_id).values(status=Status.closed))
    _db.session.commit()
    assert client.post(f"/api/v1/reports/{p.report_id}/cascade", json={"supplier_id": p.cellmaker.id, "title": "x"}).status_code == 409


def test_each_of_the_three_companies_sees_exactly_what_is_described(api, tiers):
    p = tiers
    child = _cascade(api, p).get_json()
    team_service.add_member(p.sup_eng, _db.session.get(Report, child["id"]), p.cell_eng.id, "leader")
    _db.session.commit()
    parent_url, child_url = f"/api/v1/reports/{p.report_id}", f"/api/v1/reports/{child['id']}"

    # the parent's supplier (CellTech): both reports; the child in full on the parent, the link back on the child
    for user in (p.sup_eng, p.sup_eng2, p.sup_lead):
        parent = api(user).get(parent_url).get_json()
        assert parent["parent"] is None
        [c] = parent["cascades"]
        assert c["id"] == child["id"] and c["title"] == child["title"] and c["supplier"]["id"] == p.cellmaker.id
        assert c["stage"] == "D0" and c["status"] == "open" and c["discipline"] == "D4" and "D3" in c["due"]
        assert api(user).get(child_url).get_json()["parent"] == {"id": p.report_id, "number": p.number}

    # the parent's customer (Volta): that a cascade exists, its stage and status - not its content, and not the child
    for user in (p.oem_eng, p.oem_lead, p.oem_viewer, p.admin):
        parent = api(user).get(parent_url).get_json()
        assert parent["cascades"] == [{"id": child["id"], "number": child["number"], "supplier": child["supplier"], "stage": "D0", "status": "open"}]
        assert api(user).get(child_url).status_code == 404
        assert child["number"] not in {r["number"] for r in api(user).get("/api/v1/reports").get_json()["items"]}

    # the sub-supplier (Hanse Cell): its own report, no trace of the parent anywhere
    for user in (p.cell_eng, p.cell_lead):
        mine = api(user).get(child_url)
        assert mine.status_code == 200 and mine.get_json()["parent"] is None and mine.get_json()["cascades"] == []
        text = mine.get_data(as_text=True) + api(user).get(child_url + "/events").get_data(as_text=True)
        assert p.number not in text and "Cracked cell-tab welds" not in text and "Volta" not in text
        assert api(user).get(parent_url).status_code == 404
        assert [r["id"] for r in api(user).get("/api/v1/reports").get_json()["items"]] == [child["id"]]

    # another supplier: neither
    for url in (parent_url, child_url):
        assert api(p.other_eng).get(url).status_code == 404


def test_the_tier1_lists_its_reports_on_both_sides(api, tiers):
    p = tiers
    child = _cascade(api, p).get_json()
    ids = {r["id"] for r in api(p.sup_eng2).get("/api/v1/reports").get_json()["items"]}
    assert ids == {p.report_id, child["id"]}
    as_customer = api(p.sup_eng2).get(f"/api/v1/reports?oem_id={p.supplier.id}").get_json()["items"]
    assert [r["id"] for r in as_customer] == [child["id"]]


def _gate(api, user, report_id):
    return api(user).get(f"/api/v1/reports/{report_id}/gate").get_json()["disciplines"]


def _move(report_id: int, **values) -> None:
    """The child moves on as the workflow moves it: a change of the report row (the parent's
    views and gates follow through the change counter, app/models/changes.py)."""
    child = _db.session.get(Report, report_id)
    for name, value in values.items():
        setattr(child, name, value)
    _db.session.commit()


def test_parent_d4_d5_refer_to_the_childs_verified_cause_and_action_and_d8_warns_while_it_is_open(api, tiers):
    p = tiers
    child = _cascade(api, p).get_json()
    causes = [{"ref": "C1", "kind": "occurrence", "statement": "Cell maker's tab welding parameters drifted", "verification_method": "measurement",
               "verification_result": "Pull tests of lot C-2611: 12 of 12 below the limit", "conclusion": "passed", "verified_by": "Ole Hansen",
               "cascade": child["number"]}]
    r = api(p.sup_eng).patch(f"/api/v1/reports/{p.report_id}/disciplines/D4", json={"base_version": 0, "fields": {"causes": causes}})
    assert r.status_code == 200, r.get_json()

    def messages(code):
        return [m["message"] for m in _gate(api, p.sup_eng, p.report_id)[code]]

    assert any(child["number"] in m and "waits for" in m for m in messages("D4"))
    assert not any("C1: \"Verification evidence\"" in m for m in messages("D4"))  # the proof is the child's, not files here
    assert any("C1" in m and "waits for" in m for m in messages("D5"))
    assert any(child["number"] in m["message"] and m["level"] == "warn" for m in _gate(api, p.sup_eng, p.report_id)["D8"])

    # the child's team verifies its root cause (past D4): the parent's D4 takes it; D5 still waits
    _move(child["id"], stage="D5")
    assert not any("waits for" in m for m in messages("D4"))
    assert any("waits for" in m for m in messages("D5"))
    # closed as resolved: its corrective action is verified, and D8 no longer warns
    _move(child["id"], stage="D8", status=Status.closed, outcome="resolved")
    assert not any("C1" in m for m in messages("D5"))
    assert not any(child["number"] in m for m in messages("D8"))
    # a declined cascade proves nothing
    _move(child["id"], outcome="declined")
    assert any("waits for" in m for m in messages("D4"))


def test_a_cause_naming_a_report_that_is_no_cascade_blocks(api, tiers):
    from app.method import rules

    ctx = report_service.gate_context(_db.session.get(Report, tiers.report_id))
    ctx.values["D4"] = {"causes": [{"ref": "C1", "kind": "occurrence", "conclusion": "passed", "cascade": "8D-0000-0001"}]}
    found = rules.check_discipline(ctx, "D4")
    assert any("not a cascade of this report" in f.message for f in found)
    assert CODES.index("D4") < CODES.index("D5")
