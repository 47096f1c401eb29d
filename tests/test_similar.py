"""Similar past 8Ds and the duplicate warning (issue 18): reasons and outcome, scoped by the
report-list policy; similar_open on POST /api/v1/reports and a warning on the new-report page."""

from __future__ import annotations

from tests.test_api_workflow import open_report, save


def _cause(statement: str) -> dict:
    return {"causes": [{"ref": "C1", "kind": "occurrence", "statement": statement}]}


def test_similar_reports_say_why_and_how_they_ended_and_never_cross_suppliers(api, parties):
    p = parties
    sup, oem = api(p.sup_eng), api(p.oem_eng)
    old = open_report(sup, p, title="Cracked cell-tab welds", part_number="BM-12S-4471")["id"]
    save(sup, old, "D4", _cause("Replacement clamping fixture leaves a gap between tab and busbar"))
    family = open_report(sup, p, title="Scratched housing", part_number="BM-12S-9000")["id"]
    unrelated = open_report(sup, p, title="Wrong label on carton", part_number="XX-1")["id"]
    theirs = open_report(oem, p, title="Cracked cell-tab welds", part_number="BM-12S-4471", supplier_id=p.other.id)["id"]
    new = open_report(sup, p, title="Cracked weld on tab, line 2", part_number="BM-12S-4471")
    save(sup, new["id"], "D4", _cause("Clamping fixture worn: gap between tab and busbar"))

    r = sup.get(f"/api/v1/reports/{new['id']}/similar")
    assert r.status_code == 200, r.get_json()
    items = {i["id"]: i for i in r.get_json()["items"]}
    assert old in items and theirs not in items and unrelated not in items
    first = r.get_json()["items"][0]
    assert first["id"] == old
    reasons = " | ".join(first["reasons"])
    assert "same part number BM-12S-4471" in reasons and "same failure mode words" in reasons and "similar cause" in reasons
    assert first["outcome"]["causes"] == ["Replacement clamping fixture leaves a gap between tab and busbar"]
    if family in items:
        assert any("part family BM-12S" in x for x in items[family]["reasons"])
    # the OEM sees both suppliers' reports - but never learns of another OEM's; another supplier gets 404
    assert theirs in {i["id"] for i in oem.get(f"/api/v1/reports/{new['id']}/similar").get_json()["items"]}
    assert api(p.other_eng).get(f"/api/v1/reports/{new['id']}/similar").status_code == 404


def test_opening_a_report_like_an_open_one_returns_similar_open(api, parties):
    p = parties
    sup = api(p.sup_eng)
    first = open_report(sup, p, title="Leaking coolant inlet", part_number="CI-77")
    assert first["similar_open"] == []
    second = open_report(api(p.oem_eng), p, title="Coolant inlet leaking at EOL", part_number="ci-77")
    assert second["similar_open"] == [{"id": first["id"], "number": first["number"], "title": first["title"]}]
    # another part number, or another supplier: no warning
    assert open_report(sup, p, title="Leaking coolant inlet", part_number="CI-78")["similar_open"] == []
    assert open_report(api(p.oem_eng), p, title="Leaking coolant inlet", part_number="CI-77", supplier_id=p.other.id)["similar_open"] == []


def test_the_new_report_page_warns_before_creating_a_likely_duplicate(client, api, parties, db):
    from sqlalchemy import func, select

    from app.models import Report
    from tests.conftest import csrf_from, login

    p = parties
    first = open_report(api(p.sup_eng), p, title="Leaking coolant inlet", part_number="CI-77")
    login(client, p.oem_eng)
    page = client.get("/reports/new").get_data(as_text=True)
    form = {"csrf_token": csrf_from(page), "present": ["title", "part_number"], "f.title": "Coolant inlet leaks", "f.part_number": "CI-77",
            "oem_id": str(p.oem.id), "supplier_id": str(p.supplier.id)}
    before = db.session.scalar(select(func.count()).select_from(Report))
    warned = client.post("/reports/new", data=form)
    assert warned.status_code == 200
    html = warned.get_data(as_text=True)
    assert 'id="similar-open"' in html and first["number"] in html
    assert db.session.scalar(select(func.count()).select_from(Report)) == before
    made = client.post("/reports/new", data={**form, "confirm_similar": "1"})
    assert made.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Report)) == before + 1


def test_the_d2_and_d4_pages_show_similar_past_8ds(client, api, parties):
    from tests.conftest import login

    p = parties
    sup = api(p.sup_eng)
    old = open_report(sup, p, title="Cracked cell-tab welds", part_number="BM-12S-4471")
    new = open_report(sup, p, title="Cracked weld on tab", part_number="BM-12S-4471")
    login(client, p.sup_eng)
    for code in ("D2", "D4"):
        html = client.get(f"/reports/{new['id']}?d={code}").get_data(as_text=True)
        assert 'id="similar-past"' in html and old["number"] in html and "same part number BM-12S-4471" in html
    assert 'id="similar-past"' not in client.get(f"/reports/{new['id']}?d=D5").get_data(as_text=True)
