"""Real answers of the API match the published document: each walk below drives the API as a
client would, and every answer must have a documented status code and validate against the
documented schema with every object closed (tests/support/openapi.py) - so a field the
serializers emit that the document does not describe, a field the document requires that an
answer lacks, or a wrong type fails here. The last test checks that the walks together produced
every operation's documented success."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from app.api.spec import build_spec
from app.method import CODES
from app.models import utcnow
from tests.conftest import PASSWORD, Api, login
from tests.helpers import ExampleWalk, example, example_upload, header
from tests.support.openapi import Checker, call, operations

#: (method, path, status) answered by the walks of this module, and the walks that ran: checked
#: by the last test.
SEEN: set[tuple[str, str, int]] = set()
WALKED: set[str] = set()


@pytest.fixture
def checker(app, request):
    with app.app_context():
        spec = build_spec(app)
    checker = Checker(app, spec)
    yield checker
    SEEN.update(checker.seen)
    WALKED.add(request.node.name)


def test_real_responses_match_the_document(client, api, parties, platform_admin, checker):
    p = parties
    anon = api()
    oem = api(p.oem_eng)  # becomes the champion
    sup = api(p.sup_eng)
    admin = api(platform_admin)
    company_admin = api(p.admin)
    qlead = api(p.oem_lead)

    # session, self-description
    call(checker, anon, "GET", "/api/v1/openapi.json", 200)
    call(checker, anon, "GET", "/api/v1/method", 200)
    call(checker, anon, "GET", "/api/v1/me", 401)
    call(checker, Api(client, "not-a-token"), "GET", "/api/v1/me", 401)
    token = call(checker, anon, "POST", "/api/v1/tokens", 201, json={"email": p.sup_eng2.email, "password": PASSWORD})["token"]
    call(checker, anon, "POST", "/api/v1/tokens", 401, json={"email": p.sup_eng2.email, "password": "wrong-password-123"})
    call(checker, anon, "POST", "/api/v1/tokens", 400, json={"email": 5})
    me = call(checker, oem, "GET", "/api/v1/me", 200)
    assert me["id"] == p.oem_eng.id and me["company"]["kind"] == "oem"
    assert me["language"] is None
    assert call(checker, oem, "PATCH", "/api/v1/me", 200, json={"language": "de"})["language"] == "de"
    call(checker, oem, "PATCH", "/api/v1/me", 422, json={"language": "fr"})
    assert call(checker, oem, "PATCH", "/api/v1/me", 200, json={"language": None})["language"] is None
    call(checker, oem, "GET", "/api/v1/companies", 200)
    call(checker, oem, "GET", f"/api/v1/users?company_id={p.supplier.id}&per_page=2", 200)
    call(checker, oem, "GET", "/api/v1/users?company_id=x", 400)

    # administration
    company = call(checker, admin, "POST", "/api/v1/admin/companies", 201, json={"name": "Baltic Cells OY", "kind": "supplier"})
    call(checker, admin, "POST", "/api/v1/admin/companies", 409, json={"name": "Baltic Cells OY", "kind": "supplier"})
    call(checker, oem, "POST", "/api/v1/admin/companies", 403, json={"name": "X", "kind": "supplier"})
    user = call(checker, admin, "POST", "/api/v1/admin/users", 201, json={
        "email": "new@baltic.example", "name": "New Person", "company_id": company["id"], "role": "engineer", "password": PASSWORD})
    call(checker, admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 200, json={"active": False})
    call(checker, admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 422, json={"role": "king"})
    call(checker, admin, "PATCH", "/api/v1/admin/users/999999", 404, json={"active": True})
    assert call(checker, admin, "GET", "/api/v1/me", 200)["platform_admin"] is True
    assert call(checker, company_admin, "GET", "/api/v1/me", 200)["platform_admin"] is False
    call(checker, company_admin, "POST", "/api/v1/admin/companies", 403, json={"name": "Y", "kind": "supplier"})
    call(checker, company_admin, "POST", "/api/v1/admin/users", 404, json={
        "email": "other@baltic.example", "name": "Other", "company_id": company["id"], "role": "engineer", "password": PASSWORD})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{user['id']}", 404, json={"active": True})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{platform_admin.id}", 404, json={"active": False})
    own = call(checker, company_admin, "POST", "/api/v1/admin/users", 201, json={
        "email": "colleague@volta.example", "name": "Colleague", "company_id": p.oem.id, "role": "engineer", "password": PASSWORD})
    assert own["platform_admin"] is False
    call(checker, company_admin, "POST", "/api/v1/admin/users", 403, json={
        "email": "boss@volta.example", "name": "Boss", "company_id": p.oem.id, "role": "admin", "password": PASSWORD, "platform_admin": True})
    call(checker, company_admin, "PATCH", f"/api/v1/admin/users/{own['id']}", 403, json={"platform_admin": True})

    # reports
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "BM-12S-4471", "complaint_ref": "VM-QN-1"}
    report = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)
    rid = report["id"]
    call(checker, oem, "POST", "/api/v1/reports", 422, json={**body, "colour": "red"})
    refused = call(checker, oem, "POST", f"/api/v1/reports/{rid}/advance", 409, json={"comment": "ready"})
    assert refused["error"] == "gate_not_met" and refused["details"]["missing"]
    call(checker, oem, "POST", "/api/v1/reports", 400, data="{not json", headers={"Content-Type": "application/json"})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}", 200, json={k: v for k, v in header().items() if k != "title"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)
    call(checker, api(p.other_eng), "GET", f"/api/v1/reports/{rid}", 404)
    call(checker, oem, "GET", "/api/v1/reports/999999", 404)
    listed = call(checker, oem, "GET", "/api/v1/reports?status=open&stage=D0&q=cracked&page=1&per_page=10", 200)
    assert [r["id"] for r in listed["items"]] == [rid]
    call(checker, oem, "GET", f"/api/v1/reports?overdue=true&supplier_id={p.supplier.id}&oem_id={p.oem.id}", 200)
    call(checker, oem, "GET", "/api/v1/reports?status=sleeping", 400)

    # disciplines
    saved = call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 200, json={"base_version": 0, "fields": example("D0")})
    assert saved["version"] == 1
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 409, json={"base_version": 0, "fields": {"symptom": "something else"}})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 422, json={"base_version": 1, "fields": {"nope": 1}})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D0", 400, json={"base_version": "1", "fields": {}})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/disciplines/D0", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/disciplines/D9", 404)
    d4 = ExampleWalk(rid, {"leader": oem}, {}).values("D4")  # its evidence: files uploaded to the report
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D4", 422, json={"base_version": 0, "fields": example("D4")})  # placeholder ids
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D4", 200, json={"base_version": 0, "fields": d4})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)  # tables with row ids, values of two disciplines

    # team
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng2.id})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 409, json={"user_id": p.sup_eng2.id})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 422, json={"user_id": p.other_eng.id, "role": "member"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 400, json={"user_id": "me"})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 200, json={"function": "Process engineer"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/team", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/users?q=a&per_page=5", 200)
    call(checker, api(p.sup_eng2), "GET", f"/api/v1/reports/{rid}/users", 403)
    found = call(checker, oem, "GET", "/api/v1/search?q=" + report["title"].split()[0] + "&per_page=5", 200)
    assert [h["report_id"] for h in found["items"]] == [rid]
    call(checker, oem, "GET", "/api/v1/search?q=x&status=maybe", 400)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/similar", 200)
    call(checker, oem, "GET", "/api/v1/lessons?q=weld&per_page=5", 200)
    call(checker, sup, "DELETE", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 204)
    call(checker, sup, "DELETE", f"/api/v1/reports/{rid}/team/{p.sup_eng2.id}", 404)

    # workflow
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/gate", 200)
    call(checker, api(p.other_eng), "POST", f"/api/v1/reports/{rid}/advance", 404, json={})  # another supplier sees nothing
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 409, json={"decision": "approve", "password": PASSWORD})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/review", 403, json={"decision": "approve", "password": PASSWORD})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/return", 422, json={"to": "D0", "comment": "back"})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/return", 400, json={"to": 4, "comment": "back"})
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/reopen", 409, json={"comment": "again", "password": PASSWORD})

    # history, export
    events = call(checker, oem, "GET", f"/api/v1/reports/{rid}/events?discipline=D0", 200)
    assert events["items"] and all(e["discipline"] == "D0" for e in events["items"])
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/events", 200)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/events?discipline=D12", 400)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)

    # comments
    comment = call(checker, sup, "POST", f"/api/v1/reports/{rid}/comments", 201, json={"discipline": "D0", "body": f"**Seen.** @{p.oem_eng.email}"})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/comments", 422, json={"discipline": "D9", "body": "x"})
    call(checker, api(p.oem_eng2), "POST", f"/api/v1/reports/{rid}/comments", 403, json={"discipline": "D0", "body": "x"})
    call(checker, sup, "PATCH", f"/api/v1/comments/{comment['id']}", 200, json={"body": "Seen, thanks."})
    call(checker, oem, "PATCH", f"/api/v1/comments/{comment['id']}", 403, json={"body": "not mine"})
    call(checker, oem, "DELETE", f"/api/v1/comments/{comment['id']}", 403)
    call(checker, sup, "DELETE", f"/api/v1/comments/{comment['id']}", 204)
    call(checker, sup, "PATCH", f"/api/v1/comments/{comment['id']}", 409, json={"body": "again"})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/comments?discipline=D0", 200)
    call(checker, oem, "DELETE", "/api/v1/comments/999999", 404)
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)  # with a comment, withdrawn

    # the end of a token
    mine = Api(client, token)
    call(checker, mine, "DELETE", "/api/v1/tokens/current", 204)
    call(checker, mine, "GET", "/api/v1/me", 401)


def test_a_walk_to_review_and_closure_matches_the_document(api, parties, checker):
    """In review and closed: pending review, reviews with signatures, the closure signature."""
    p = parties
    oem, lead, qlead = api(p.oem_eng), api(p.sup_eng), api(p.oem_lead)
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member")):
        call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": user.id, "role": role})
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/team/{p.oem_eng.id}", 200, json={"role": "member"})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_lead.id, "role": "champion"})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}", 200, json={k: v for k, v in header().items() if k != "title"})
    walk = ExampleWalk(rid, {"leader": lead, "champion": api(p.sup_lead), "supplier_member": api(p.sup_eng2), "customer_member": oem},
                       {"leader": p.sup_eng, "champion": p.sup_lead, "supplier_member": p.sup_eng2, "customer_member": p.oem_eng})
    for code in CODES:
        if code != "D1":
            values = walk.prepare(code)
            version = lead.get(f"/api/v1/reports/{rid}").get_json()["disciplines"][code]["version"]
            call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/{code}", 200, json={"base_version": version, "fields": values})
        result = call(checker, lead, "POST", f"/api/v1/reports/{rid}/advance", 200, json={"comment": "ready"})
        if result["status"] == "in_review":
            assert result["review"]["stage"] == code
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 403, json={"decision": "approve", "password": "not-my-password"})
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 422, json={"decision": "reject"})
            call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "approve", "password": PASSWORD})
    closed_report = call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)
    assert closed_report["status"] == "closed" and closed_report["signature"]["meaning"] == "closure approved"
    call(checker, oem, "PATCH", f"/api/v1/reports/{rid}/disciplines/D2", 409, json={"base_version": 1, "fields": {}})
    call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)
    actions = call(checker, oem, "GET", f"/api/v1/reports/{rid}/actions?per_page=200", 200)["items"]
    assert {a["ref"] for a in actions} == {"ICA1", "ICA2", "ICA3", "ICA4", "PCA1", "PCA2", "PCA3", "PA1"}  # every field documented
    assert closed_report["effectiveness"]["status"] == "watching"
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/effectiveness", 409, json={"decision": "effective", "password": PASSWORD})
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/effectiveness", 422, json={"decision": "not_effective", "password": PASSWORD})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/effectiveness", 403, json={"decision": "effective", "password": PASSWORD})
    reopened = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/reopen", 200, json={"comment": "Field returns again.", "password": PASSWORD, "to": "D4"})
    assert reopened["status"] == "open" and reopened["stage"] == "D4"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/return", 200, json={"to": "D2", "comment": "The team must be re-checked."})


def test_the_effectiveness_decision_matches_the_document(api, parties, checker, db):
    from app.models import EffectivenessWatch, Report, Review, utcnow

    p = parties
    oem, qlead = api(p.oem_eng), api(p.oem_lead)
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json={"title": "Leaking seal", "oem_id": p.oem.id, "supplier_id": p.supplier.id})["id"]
    report = db.session.get(Report, rid)
    report.stage, report.status = "D8", "in_review"
    db.session.add(Review(report_id=rid, stage="D8", revision=0, requested_by_id=p.sup_eng.id))
    db.session.commit()
    closed = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200,
                  json={"decision": "approve", "password": PASSWORD, "watch_days": 1, "watch_criterion": "No leak at EOL"})
    assert closed["effectiveness"]["criterion"] == "No leak at EOL"
    db.session.execute(EffectivenessWatch.__table__.update().values(until=utcnow().date()))
    db.session.commit()
    decided = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/effectiveness", 200, json={"decision": "effective", "password": PASSWORD})
    assert decided["effectiveness"]["signature"]["meaning"] == "effectiveness confirmed"
    call(checker, qlead, "POST", f"/api/v1/reports/{rid}/effectiveness", 400, json={"decision": 5, "password": PASSWORD})


def test_actions_match_the_document(api, parties, checker):
    p = parties
    oem, sup, other = api(p.oem_eng), api(p.sup_eng), api(p.oem_eng2)
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    due = (utcnow().date() + dt.timedelta(days=7)).isoformat()
    action = call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 201, json={
        "kind": "containment", "title": "Sort all stock", "owner_id": p.sup_eng.id, "due_date": due, "location": "supplier_stock", "qty_suspect": 120})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 422, json={"kind": "magic", "title": "x", "owner_id": p.sup_eng.id, "due_date": due})
    version = sup.get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D7"]["version"]
    sup.patch(f"/api/v1/reports/{rid}/disciplines/D7", json={"base_version": version, "fields": {"lessons": [{"text": "Sort before shipping"}]}})
    lesson = call(checker, sup, "GET", "/api/v1/lessons?q=sort", 200)["items"][0]
    call(checker, sup, "POST", f"/api/v1/lessons/{lesson['report_id']}/{lesson['index']}/apply", 201, json={"report_id": rid, "target": "Line 2"})
    call(checker, sup, "POST", f"/api/v1/lessons/{lesson['report_id']}/{lesson['index']}/apply", 422, json={"report_id": rid, "target": ""})
    call(checker, sup, "POST", f"/api/v1/reports/{rid}/actions", 400, json={"kind": "corrective", "title": "x", "owner_id": "me", "due_date": due})
    call(checker, other, "POST", f"/api/v1/reports/{rid}/actions", 403, json={"kind": "corrective", "title": "x", "owner_id": p.sup_eng.id, "due_date": due})
    call(checker, sup, "GET", f"/api/v1/reports/{rid}/actions?kind=containment&status=active", 200)
    call(checker, sup, "GET", "/api/v1/actions?owner=me&overdue=true&due_within=30&q=sort&per_page=5", 200)
    call(checker, sup, "GET", "/api/v1/actions?owner=nobody", 400)
    call(checker, sup, "GET", f"/api/v1/actions/{action['id']}", 200)
    call(checker, api(p.other_eng), "GET", f"/api/v1/actions/{action['id']}", 404)
    changed = call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 200, json={"version": action["version"], "status": "in_progress", "qty_checked": 40})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 409, json={"version": action["version"], "title": "stale"})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 422, json={"version": changed["version"], "status": "verified"})
    call(checker, sup, "PATCH", f"/api/v1/actions/{action['id']}", 200, json={"version": changed["version"], "status": "cancelled", "reason": "Duplicate."})
    exported = call(checker, oem, "GET", f"/api/v1/reports/{rid}/export", 200)
    assert exported.get("actions"), "the export carries the actions"


def test_evidence_fields_and_a_decline_match_the_document(api, parties, checker):
    """Evidence: a claim at upload, withdrawal notes; the decline: requested, refused, accepted."""
    p = parties
    oem, lead, qlead = api(p.oem_eng), api(p.sup_eng), api(p.oem_lead)
    body = {"title": "Label with wrong part number", "oem_id": p.oem.id, "supplier_id": p.supplier.id}
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json=body)["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    file_id = example_upload(lead, rid, 9304)
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 200, json={"base_version": 0, "fields": {"validation_evidence": [file_id]}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 422, json={"base_version": 1, "fields": {"validation_evidence": [999999]}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D6", 400, json={"base_version": 1, "fields": {"validation_evidence": "file.pdf"}})
    call(checker, lead, "PATCH", f"/api/v1/reports/{rid}/disciplines/D3", 422, json={"base_version": 0, "fields": {"containment": []}})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 422, json={"reason": "duplicate", "comment": "Same as the other one.", "evidence": [file_id]})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 422, json={"reason": "not_our_part", "comment": "x", "evidence": []})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 400, json={"reason": "not_our_part", "comment": "x", "evidence": "all"})
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/decline", 403, json={"reason": "not_our_part", "comment": "x", "evidence": [file_id]})
    asked = call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 200, json={
        "reason": "not_our_part", "comment": "The label is printed by the OEM's logistics provider.", "evidence": [file_id]})
    assert asked["status"] == "in_review" and asked["review"]["kind"] == "decline"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 409, json={"reason": "not_our_part", "comment": "again", "evidence": [file_id]})
    refused = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "reject", "comment": "Our provider uses your template."})
    assert refused["status"] == "open" and refused["reviews"][-1]["kind"] == "decline"
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/decline", 200, json={
        "reason": "customer_caused", "comment": "The template was changed by the OEM on 2026-09-01.", "evidence": [file_id]})
    closed = call(checker, qlead, "POST", f"/api/v1/reports/{rid}/review", 200, json={"decision": "approve", "password": PASSWORD})
    assert closed["status"] == "closed" and closed["outcome"] == "declined" and closed["signature"]["meaning"] == "decline accepted"
    call(checker, lead, "DELETE", f"/api/v1/attachments/{file_id}", 409)  # closed
    call(checker, lead, "GET", "/api/v1/reports?status=closed", 200)


def test_cookie_session_writes_without_csrf_are_documented(app, client, parties, checker):
    login(client, parties.oem_eng)
    call(checker, client, "GET", "/api/v1/me", 200)
    body = {"title": "x", "oem_id": parties.oem.id, "supplier_id": parties.supplier.id}
    refused = call(checker, client, "POST", "/api/v1/reports", 400, json=body)
    assert refused["error"] == "bad_request"


def test_a_too_large_body_is_documented(app, api, parties, checker):
    limit = app.config["MAX_JSON_BYTES"]
    oem = api(parties.oem_eng)
    call(checker, oem, "POST", "/api/v1/reports", 413, data="{" + " " * limit + "}", headers={"Content-Type": "application/json"})


def test_evidence_files_match_the_document(api, parties, checker):
    from app.demo import evidence_bytes
    from tests.helpers import multipart

    p = parties
    oem, lead = api(p.oem_eng), api(p.sup_eng)
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json={"title": "Burr on housing", "oem_id": p.oem.id, "supplier_id": p.supplier.id})["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    content = evidence_bytes("sorting.csv", "Sorting results")
    body = multipart({"file": (io.BytesIO(content), "sorting.csv"), "discipline": "D3", "description": "Sorting results"})
    file = call(checker, lead, "POST", f"/api/v1/reports/{rid}/attachments", 201, **body)
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/attachments", 400, **multipart({"discipline": "D3"}))
    call(checker, lead, "GET", f"/api/v1/reports/{rid}/attachments", 200)
    call(checker, oem, "GET", f"/api/v1/attachments/{file['id']}", 200)
    call(checker, oem, "GET", f"/api/v1/attachments/{file['id']}/content", 200)
    call(checker, api(p.other_eng), "GET", f"/api/v1/attachments/{file['id']}/content", 404)
    call(checker, lead, "DELETE", f"/api/v1/attachments/{file['id']}?reason=wrong+file", 204)
    call(checker, lead, "GET", f"/api/v1/attachments/{file['id']}", 200)


def test_webhooks_match_the_document(api, parties, make_user, db, checker):
    from app.models import Report
    from app.notify import webhooks as hook_events

    p = parties
    admin = api(make_user("admin", p.supplier, "Jonas Keller"))
    call(checker, api(p.sup_eng), "GET", "/api/v1/admin/webhooks", 403)
    hook = call(checker, admin, "POST", "/api/v1/admin/webhooks", 201, json={"url": "https://93.184.216.34/8d", "events": ["report.stage_changed"]})
    call(checker, admin, "POST", "/api/v1/admin/webhooks", 422, json={"url": "http://127.0.0.1/", "events": ["report.stage_changed"]})
    call(checker, admin, "POST", "/api/v1/admin/webhooks", 400, json={"url": "https://93.184.216.34/8d", "events": "report.closed"})
    call(checker, admin, "GET", "/api/v1/admin/webhooks", 200)
    rid = call(checker, api(p.oem_eng), "POST", "/api/v1/reports", 201, json={"title": "Cracked cell-tab welds", "oem_id": p.oem.id,
                                                                               "supplier_id": p.supplier.id})["id"]
    hook_events.stage_changed(db.session.get(Report, rid), p.oem_eng, "D0", "D1", "advanced")
    db.session.commit()
    deliveries = call(checker, admin, "GET", f"/api/v1/admin/webhooks/{hook['id']}/deliveries", 200)["items"]
    call(checker, admin, "POST", f"/api/v1/admin/webhooks/{hook['id']}/deliveries/{deliveries[0]['id']}/resend", 200)
    call(checker, admin, "POST", f"/api/v1/admin/webhooks/{hook['id']}/deliveries/999999/resend", 404)
    call(checker, admin, "DELETE", f"/api/v1/admin/webhooks/{hook['id']}", 204)
    call(checker, admin, "GET", f"/api/v1/admin/webhooks/{hook['id']}/deliveries", 404)


def test_kpis_match_the_document(api, parties, checker):
    p = parties
    oem = api(p.oem_lead)
    call(checker, api(p.oem_eng), "POST", "/api/v1/reports", 201, json={"title": "Cracked welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    body = call(checker, oem, "GET", f"/api/v1/kpis?supplier_id={p.supplier.id}", 200)
    assert body["suppliers"][0]["reports_opened"] == 1
    year = utcnow().year
    call(checker, oem, "GET", f"/api/v1/kpis?from={year}-02&to={year}-01", 422)
    call(checker, oem, "GET", "/api/v1/kpis?from=January", 400)
    call(checker, api(None), "GET", "/api/v1/kpis", 401)


def test_tiers_and_invitations_match_the_document(api, parties, platform_admin, make_company, make_user, checker):
    import re

    from sqlalchemy import select

    from app.extensions import db
    from app.models import OutboxMessage

    p = parties
    oem, lead, admin = api(p.oem_eng), api(p.sup_eng), api(platform_admin)
    cells = make_company("supplier", "Hanse Cell GmbH")
    rid = call(checker, oem, "POST", "/api/v1/reports", 201, json={"title": "Swollen cells", "oem_id": p.oem.id, "supplier_id": p.supplier.id})["id"]
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/team", 201, json={"user_id": p.sup_eng.id, "role": "leader"})
    call(checker, lead, "POST", f"/api/v1/reports/{rid}/cascade", 422, json={"supplier_id": cells.id, "title": "Cells"})  # no supplier of CellTech yet
    call(checker, api(make_user("admin", p.supplier)), "PATCH", f"/api/v1/admin/companies/{p.supplier.id}", 403, json={"supplier_ids": [cells.id]})
    settings = call(checker, admin, "PATCH", f"/api/v1/admin/companies/{p.supplier.id}", 200, json={"supplier_ids": [cells.id]})
    assert settings["supplier_ids"] == [cells.id] and settings["allow_invitations"] is True
    child = call(checker, lead, "POST", f"/api/v1/reports/{rid}/cascade", 201, json={"supplier_id": cells.id, "title": "Cells", "description": "Swelling"})
    assert child["parent"]["id"] == rid
    assert [c["id"] for c in call(checker, lead, "GET", f"/api/v1/reports/{rid}", 200)["cascades"]] == [child["id"]]
    assert set(call(checker, oem, "GET", f"/api/v1/reports/{rid}", 200)["cascades"][0]) == {"id", "number", "supplier", "stage", "status"}
    call(checker, oem, "POST", f"/api/v1/reports/{rid}/cascade", 403, json={"supplier_id": cells.id, "title": "Cells"})
    inv = call(checker, lead, "POST", f"/api/v1/reports/{child['id']}/invitations", 201,
               json={"email": "ole@hansecell.example", "name": "Ole Hansen", "company_id": cells.id, "role": "engineer"})
    call(checker, lead, "POST", f"/api/v1/reports/{child['id']}/invitations", 422,
         json={"email": "not-an-address", "name": "Ole", "company_id": cells.id, "role": "engineer"})
    call(checker, lead, "GET", f"/api/v1/reports/{child['id']}/invitations", 200)
    call(checker, api(p.oem_eng2), "GET", f"/api/v1/reports/{rid}/invitations", 403)  # off the team
    body = db.session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.to_email == "ole@hansecell.example"))
    token = re.search(r"/invitations/(\S+)", body).group(1)
    anon = api()
    call(checker, anon, "POST", f"/api/v1/invitations/{token}", 422, json={"name": "Ole Hansen", "password": "short"})
    call(checker, anon, "POST", f"/api/v1/invitations/{token}", 201, json={"name": "Ole Hansen", "password": PASSWORD})
    call(checker, anon, "POST", f"/api/v1/invitations/{token}", 410, json={"name": "Ole Hansen", "password": PASSWORD})
    call(checker, anon, "POST", "/api/v1/invitations/forged", 404, json={"name": "X", "password": PASSWORD})
    call(checker, lead, "DELETE", f"/api/v1/invitations/{inv['id']}", 409)
    other = call(checker, lead, "POST", f"/api/v1/reports/{child['id']}/invitations", 201,
                 json={"email": "greta@hansecell.example", "name": "Greta", "company_id": cells.id, "role": "viewer"})
    call(checker, lead, "DELETE", f"/api/v1/invitations/{other['id']}", 204)


def test_the_walks_produced_every_documented_success(request, app):
    """Every operation of the document answered its success at least once in the walks above (run
    as a whole module: a partial run cannot tell)."""
    walks = {item.name for item in request.session.items if item.module is request.module and item is not request.node}
    if not walks <= WALKED:
        pytest.skip(f"needs the whole module; not run: {sorted(walks - WALKED)}")
    with app.app_context():
        spec = build_spec(app)
    expected = {(method, path, int(code)) for method, path, op in operations(spec) for code in op["responses"] if int(code) < 300}
    assert sorted(expected - SEEN) == []
