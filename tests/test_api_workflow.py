"""The whole 8D through the JSON API: from D0 to a closure signed by the OEM's quality lead,
with every gate refusing an incomplete discipline and the rejection loop working."""

from __future__ import annotations

from app.method import CODES
from tests.conftest import PASSWORD
from tests.helpers import ExampleWalk, example, header


def open_report(api_client, p, **extra):
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "BM-12S-4471", "complaint_ref": "VM-QN-1", **extra}
    r = api_client.post("/api/v1/reports", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def build_team(api_client, report_id, p):
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member")):
        r = api_client.post(f"/api/v1/reports/{report_id}/team", json={"user_id": user.id, "role": role})
        assert r.status_code == 201, r.get_json()


def save(api_client, report_id, code, fields):
    current = api_client.get(f"/api/v1/reports/{report_id}").get_json()["disciplines"][code]["version"]
    r = api_client.patch(f"/api/v1/reports/{report_id}/disciplines/{code}", json={"base_version": current, "fields": fields})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def advance(api_client, report_id, expect=200):
    r = api_client.post(f"/api/v1/reports/{report_id}/advance", json={"comment": "ready"})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def example_walk(api, p, rid) -> ExampleWalk:
    """The method's examples, with the team of `parties` in the example's roles."""
    users = {"leader": p.sup_eng, "champion": p.sup_lead, "supplier_member": p.sup_eng2, "customer_member": p.oem_eng}
    return ExampleWalk(rid, {role: api(user) for role, user in users.items()}, users)


def test_report_walks_from_d0_to_signed_closure_with_every_gate_enforced(api, parties):
    p = parties
    oem = api(p.oem_eng)
    lead = api(p.sup_eng)
    qlead = api(p.oem_lead)
    report = open_report(oem, p)
    rid = report["id"]
    assert report["number"].startswith("8D-") and report["status"] == "open" and report["stage"] == "D0"
    assert [m["role"] for m in report["team"]] == ["champion"]
    build_team(oem, rid, p)
    # the OEM engineer becomes a working member (VDA does not count the champion as a member) ...
    assert oem.patch(f"/api/v1/reports/{rid}/team/{p.oem_eng.id}", json={"role": "member"}).status_code == 200
    # ... and so no longer manages the team; the supplier's leader appoints the champion
    assert oem.post(f"/api/v1/reports/{rid}/team", json={"user_id": p.sup_lead.id, "role": "champion"}).status_code == 403
    assert lead.post(f"/api/v1/reports/{rid}/team", json={"user_id": p.sup_lead.id, "role": "champion"}).status_code == 201
    assert lead.post(f"/api/v1/reports/{rid}/team", json={"user_id": p.other_eng.id, "role": "member"}).status_code == 422
    walk = example_walk(api, p, rid)

    for code in CODES:
        # the gate refuses the empty discipline and lists what is missing
        if code != "D1":  # the team is complete already and D1 has no required fields
            refused = lead.post(f"/api/v1/reports/{rid}/advance", json={})
            assert refused.status_code == 409, (code, refused.get_json())
            body = refused.get_json()
            assert body["error"] == "gate_not_met" and body["details"]["missing"], body
        if code == "D0":
            r = lead.patch(f"/api/v1/reports/{rid}", json={k: v for k, v in header().items() if k != "title"})
            assert r.status_code == 200, r.get_json()
        if code != "D1":
            save(lead, rid, code, walk.prepare(code))
        result = advance(lead, rid)
        if code in ("D3", "D5", "D8"):
            assert result["status"] == "in_review" and result["review"]["stage"] == code
            # the team cannot advance while the customer reviews
            assert lead.post(f"/api/v1/reports/{rid}/advance", json={}).status_code == 409
            # only the OEM quality lead reviews
            assert lead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": PASSWORD}).status_code == 403
            assert api(p.sup_lead).post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": PASSWORD}).status_code == 403
            if code == "D3":
                # the rejection loop: a comment is required, the report goes back to open at D3
                assert qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "reject"}).status_code == 422
                rejected = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "reject", "comment": "Ledger for in-transit stock missing its source."})
                assert rejected.status_code == 200 and rejected.get_json()["status"] == "open" and rejected.get_json()["stage"] == "D3"
                advance(lead, rid)
            wrong = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": "not-my-password"})
            assert wrong.status_code == 403 and wrong.get_json()["error"] == "forbidden"
            approved = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "comment": "Accepted.", "password": PASSWORD})
            assert approved.status_code == 200, approved.get_json()
            result = approved.get_json()
        if code != "D8":
            assert result["status"] == "open" and result["stage"] == CODES[CODES.index(code) + 1], (code, result["stage"])

    final = lead.get(f"/api/v1/reports/{rid}").get_json()
    assert final["status"] == "closed"
    assert final["signature"]["signed_by"] == p.oem_lead.name and final["signature"]["meaning"] == "closure approved"
    assert final["signature"]["signed_at"].endswith("Z")
    # closed means frozen
    d2 = final["disciplines"]["D2"]
    frozen = lead.patch(f"/api/v1/reports/{rid}/disciplines/D2", json={"base_version": d2["version"], "fields": {"trend": "x"}})
    assert frozen.status_code == 409
    # the trail holds the failed signature, the rejection and the approvals
    events = lead.get(f"/api/v1/reports/{rid}/events?per_page=200").get_json()["items"]
    actions = [e["action"] for e in events]
    assert actions.count("signature.failed") == 3
    assert "review.rejected" in actions and actions.count("review.approved") == 3
    assert events == sorted(events, key=lambda e: e["seq"])


def test_reopen_needs_reason_and_password_and_raises_revision(api, parties, db):
    from app.models import Report, Status
    from app.services import reports, workflow

    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    report = db.session.get(Report, rid)
    report.status = Status.closed  # arrange: a closed report (the full walk is tested above)
    db.session.commit()
    qlead = api(p.oem_lead)
    assert qlead.post(f"/api/v1/reports/{rid}/reopen", json={"password": PASSWORD}).status_code == 422
    assert qlead.post(f"/api/v1/reports/{rid}/reopen", json={"comment": "Recurrence at Zwickau", "password": "wrong"}).status_code == 403
    assert oem.post(f"/api/v1/reports/{rid}/reopen", json={"comment": "x", "password": PASSWORD}).status_code == 403
    r = qlead.post(f"/api/v1/reports/{rid}/reopen", json={"comment": "Recurrence at Zwickau, 2 modules", "password": PASSWORD, "to": "D4"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "open" and body["revision"] == 1 and body["stage"] == "D4"
    assert reports and workflow


def test_return_to_earlier_discipline_needs_comment_and_leader(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    build_team(oem, rid, p)
    lead = api(p.sup_eng)
    lead.patch(f"/api/v1/reports/{rid}", json={k: v for k, v in header().items() if k != "title"})
    save(lead, rid, "D0", example("D0"))
    advance(lead, rid)
    assert lead.post(f"/api/v1/reports/{rid}/return", json={"to": "D0"}).status_code == 422
    assert lead.post(f"/api/v1/reports/{rid}/return", json={"to": "D5", "comment": "x"}).status_code == 422
    assert lead.post(f"/api/v1/reports/{rid}/return", json={"to": "D9", "comment": "x"}).status_code == 422
    assert api(p.sup_eng2).post(f"/api/v1/reports/{rid}/return", json={"to": "D0", "comment": "x"}).status_code == 403
    r = lead.post(f"/api/v1/reports/{rid}/return", json={"to": "D0", "comment": "Symptom not quantified per lot"})
    assert r.status_code == 200 and r.get_json()["stage"] == "D0"


def test_stale_base_version_conflicts_on_the_same_field_and_merges_others(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    build_team(oem, rid, p)
    a, b = api(p.sup_eng), oem
    r1 = a.patch(f"/api/v1/reports/{rid}/disciplines/D2", json={"base_version": 0, "fields": {"problem_statement": "37 modules cracked"}})
    assert r1.status_code == 200 and r1.get_json()["version"] == 1
    # b started from version 0 too and changes another field: merged silently
    r2 = b.patch(f"/api/v1/reports/{rid}/disciplines/D2", json={"base_version": 0, "fields": {"customer_description": "Line stops"}})
    assert r2.status_code == 200, r2.get_json()
    assert r2.get_json()["fields"]["problem_statement"] == "37 modules cracked"
    # b changes the field a changed after b's base: conflict, nothing written
    r3 = b.patch(f"/api/v1/reports/{rid}/disciplines/D2", json={"base_version": 0, "fields": {"problem_statement": "40 modules", "trend": "rising"}})
    assert r3.status_code == 409 and r3.get_json()["error"] == "conflict"
    detail = r3.get_json()["details"]["fields"]["problem_statement"]
    assert detail == {"yours": "40 modules", "theirs": "37 modules cracked", "base": None}
    current = a.get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D2"]
    assert current["version"] == 2 and "trend" not in current["fields"]


def test_bad_input_gets_4xx_and_changes_nothing(api, parties, client):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    url = f"/api/v1/reports/{rid}/disciplines/D2"
    cases = [
        ({"base_version": 0, "fields": {"nope": "x"}}, 422),
        ({"base_version": 0, "fields": {"problem_statement": 5}}, 400),
        ({"base_version": "0", "fields": {}}, 400),
        ({"base_version": 0, "fields": []}, 400),
        ({"base_version": 0, "fields": {"is_is_not": "text"}}, 400),
        ({"base_version": 0, "fields": {"is_is_not": [{"dimension": "colour", "is": "a", "is_not": "b"}]}}, 422),
        ({"base_version": 0, "fields": {"first_occurrence": "2026-02-30"}}, 422),
        ({"base_version": 0, "fields": {"problem_statement": "x" * 30000}}, 422),
        ({"base_version": 99, "fields": {"trend": "x"}}, 422),
    ]
    for body, status in cases:
        r = oem.patch(url, json=body)
        assert r.status_code == status, (body, r.get_json())
        assert r.get_json()["error"] in ("bad_request", "invalid")
    assert oem.patch(f"/api/v1/reports/{rid}/disciplines/D9", json={"base_version": 0, "fields": {}}).status_code == 404
    raw = client.patch(url, data=b"{not json", headers={**oem.headers, "Content-Type": "application/json"})
    assert raw.status_code == 400 and raw.get_json()["error"] == "bad_request"
    deep = client.post("/api/v1/reports", data=b"[" * 100000 + b"]" * 100000, headers={**oem.headers, "Content-Type": "application/json"})
    assert deep.status_code in (400, 413)
    bad_utf8 = client.post("/api/v1/reports", data=b'{"title": "\xff\xfe"}', headers={**oem.headers, "Content-Type": "application/json"})
    assert bad_utf8.status_code == 400
    assert oem.get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D2"]["version"] == 0
    assert oem.post("/api/v1/reports", json={"title": "x", "oem_id": "1", "supplier_id": p.supplier.id}).status_code == 400
    assert oem.post("/api/v1/reports", json={"title": "x", "oem_id": p.supplier.id, "supplier_id": p.supplier.id}).status_code == 422
    assert oem.post("/api/v1/reports", json={"title": "x", "oem_id": p.oem.id, "supplier_id": p.other.id}).status_code == 201  # OEM may open with any supplier
    assert api(p.sup_eng).post("/api/v1/reports", json={"title": "x", "oem_id": p.oem.id, "supplier_id": p.other.id}).status_code == 422


def test_another_supplier_never_learns_a_report_exists(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    stranger = api(p.other_eng)
    for path in (f"/api/v1/reports/{rid}", f"/api/v1/reports/{rid}/events", f"/api/v1/reports/{rid}/team", f"/api/v1/reports/{rid}/export"):
        r = stranger.get(path)
        assert r.status_code == 404 and r.get_json()["error"] == "not_found"
    assert stranger.get(f"/api/v1/reports/{rid + 1000}").status_code == 404
    assert stranger.post(f"/api/v1/reports/{rid}/advance", json={}).status_code == 404
    assert stranger.get("/api/v1/reports").get_json()["total"] == 0
    assert api(p.sup_eng).get("/api/v1/reports").get_json()["total"] == 1
    names = {c["name"] for c in stranger.get("/api/v1/companies").get_json()["items"]}
    assert p.supplier.name not in names and p.oem.name in names


def test_tokens_me_and_revocation(api, parties, client):
    p = parties
    assert client.post("/api/v1/tokens", json={"email": p.sup_eng.email, "password": "wrong-password"}).status_code == 401
    assert client.post("/api/v1/tokens", json={"email": "nobody@x.example", "password": "wrong-password"}).status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    me = api(p.sup_eng)
    body = me.get("/api/v1/me").get_json()
    assert body["email"] == p.sup_eng.email and body["role"] == "engineer" and body["company"]["kind"] == "supplier"
    assert me.delete("/api/v1/tokens/current").status_code == 204
    assert me.get("/api/v1/me").status_code == 401


def test_method_describes_itself_and_examples_are_complete(client):
    body = client.get("/api/v1/method").get_json()
    codes = [d["code"] for d in body["disciplines"]]
    assert codes == list(CODES)
    by = {d["code"]: d for d in body["disciplines"]}
    assert [c for c in codes if by[c]["review_point"]] == ["D3", "D5", "D8"]
    assert by["D4"]["due_days"] == 10 and by["D6"]["due_days"] == 45 and by["D8"]["due_days"] == 60
    d2 = {f["name"]: f for f in by["D2"]["fields"]}
    assert d2["is_is_not"]["type"] == "table" and {c["name"] for c in d2["is_is_not"]["columns"]} >= {"dimension", "is", "is_not"}
    for d in body["disciplines"]:
        assert isinstance(d["example"], dict)
        for f in d["fields"]:
            assert f["type"] in ("text", "number", "date", "choice", "bool", "evidence", "table")
    d4 = {f["name"]: f for f in by["D4"]["fields"]}
    assert {c["name"]: c["type"] for c in d4["causes"]["columns"]}["evidence"] == "evidence"
    assert {f["name"]: f["type"] for f in by["D6"]["fields"]}["validation_evidence"] == "evidence"
    assert "containment" not in {f["name"] for f in by["D3"]["fields"]} and "pcas" not in {f["name"] for f in by["D5"]["fields"]}
    assert [a["ref"] for a in by["D3"]["example"]["actions"]] == ["ICA1", "ICA2", "ICA3", "ICA4"]
    assert [a["ref"] for a in by["D5"]["example"]["actions"]] == ["PCA1", "PCA2", "PCA3"]
    assert {u["ref"] for u in by["D6"]["example"]["action_updates"]} == {"PCA1", "PCA2", "PCA3", "ICA1", "ICA2", "ICA3", "ICA4"}
    placeholders = {e["placeholder"] for e in body["example_evidence"]}
    assert set(by["D4"]["example"]["causes"][0]["evidence"]) <= placeholders


def test_admin_api_creates_companies_and_users_and_deactivation_ends_tokens(api, parties, platform_admin):
    p = parties
    admin = api(platform_admin)
    assert api(p.oem_lead).post("/api/v1/admin/companies", json={"name": "X", "kind": "oem"}).status_code == 403
    assert api(p.admin).post("/api/v1/admin/companies", json={"name": "X", "kind": "oem"}).status_code == 403  # a company admin
    c = admin.post("/api/v1/admin/companies", json={"name": "Batterie Werk Ost", "kind": "supplier"})
    assert c.status_code == 201
    assert admin.post("/api/v1/admin/companies", json={"name": "Y", "kind": "maker"}).status_code == 422
    u = admin.post("/api/v1/admin/users", json={"email": "new@bwo.example", "name": "Neu", "company_id": c.get_json()["id"], "role": "engineer", "password": "a-long-enough-password"})
    assert u.status_code == 201, u.get_json()
    weak = admin.post("/api/v1/admin/users", json={"email": "weak@bwo.example", "name": "W", "company_id": c.get_json()["id"], "role": "engineer", "password": "short"})
    assert weak.status_code == 422 and "password" in weak.get_json()["details"]["fields"]
    session = api(p.sup_eng)
    assert session.get("/api/v1/me").status_code == 200
    off = admin.patch(f"/api/v1/admin/users/{p.sup_eng.id}", json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert session.get("/api/v1/me").status_code == 401
    # the last admin of a company cannot lock it out
    assert api(p.admin).patch(f"/api/v1/admin/users/{p.admin.id}", json={"active": False}).status_code == 422


def test_overdue_filter_reads_the_due_date_of_the_current_stage(api, parties):
    p = parties
    oem = api(p.oem_eng)
    late = open_report(oem, p, title="Late", detected_on="2020-03-01")["id"]
    fresh = open_report(oem, p, title="Fresh", detected_on="2099-01-01")["id"]
    undated = open_report(oem, p, title="No complaint date")["id"]
    listed = {r["id"] for r in oem.get("/api/v1/reports?overdue=true").get_json()["items"]}
    assert late in listed and fresh not in listed and undated not in listed
    assert api(p.other_eng).get("/api/v1/reports?overdue=true").get_json()["total"] == 0
