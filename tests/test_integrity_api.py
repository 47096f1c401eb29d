"""Issue 15 through the JSON API: evidence that is a file, one record of actions, gates that name
the field, the withdrawal of evidence a passed gate relied on, read-across tracked after closure,
and the supplier's decline decided by the customer's quality lead."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from sqlalchemy import select, update

from app.demo import evidence_bytes
from app.method import CODES
from app.models import AuditEvent, OutboxMessage, Report, Review
from tests.conftest import PASSWORD
from tests.helpers import ExampleWalk, example, header, multipart


def open_report(client, p, **extra) -> int:
    body = {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, **extra}
    r = client.post("/api/v1/reports", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def team_of_the_example(api, p, rid) -> ExampleWalk:
    oem = api(p.oem_eng)
    for user, role in ((p.sup_eng, "leader"), (p.sup_eng2, "member")):
        assert oem.post(f"/api/v1/reports/{rid}/team", json={"user_id": user.id, "role": role}).status_code == 201
    assert oem.patch(f"/api/v1/reports/{rid}/team/{p.oem_eng.id}", json={"role": "member"}).status_code == 200
    lead = api(p.sup_eng)
    assert lead.post(f"/api/v1/reports/{rid}/team", json={"user_id": p.sup_lead.id, "role": "champion"}).status_code == 201
    users = {"leader": p.sup_eng, "champion": p.sup_lead, "supplier_member": p.sup_eng2, "customer_member": p.oem_eng}
    return ExampleWalk(rid, {role: api(u) for role, u in users.items()}, users)


def walk_to(api, p, stage: str, **header_overrides) -> tuple[int, ExampleWalk]:
    """A report filled from the examples and open at `stage` (earlier reviews approved)."""
    rid = open_report(api(p.oem_eng), p)
    walk = team_of_the_example(api, p, rid)
    lead, qlead = walk.clients["leader"], api(p.oem_lead)
    assert lead.patch(f"/api/v1/reports/{rid}", json={**{k: v for k, v in header().items() if k != "title"}, **header_overrides}).status_code == 200
    for code in CODES[: CODES.index(stage)]:
        if code != "D1":
            save(lead, rid, code, walk.prepare(code))
        report = advance(lead, rid)
        if report["status"] == "in_review":
            r = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": PASSWORD})
            assert r.status_code == 200, r.get_json()
    return rid, walk


def save(client, rid, code, fields, expect=200):
    version = client.get(f"/api/v1/reports/{rid}").get_json()["disciplines"][code]["version"]
    r = client.patch(f"/api/v1/reports/{rid}/disciplines/{code}", json={"base_version": version, "fields": fields})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def advance(client, rid, expect=200):
    r = client.post(f"/api/v1/reports/{rid}/advance", json={})
    assert r.status_code == expect, r.get_json()
    return r.get_json()


def upload(client, rid, code="D4", name="trial.csv", data=b"sample;value\n1;0.05\n", **form):
    r = client.post(f"/api/v1/reports/{rid}/attachments", **multipart({"file": (io.BytesIO(data), name), "discipline": code, **form}))
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


# --------------------------------------------------------------------------------- the one record
def test_the_removed_tables_are_refused_and_point_to_the_actions_endpoints(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)
    for code, name in (("D3", "containment"), ("D5", "pcas"), ("D6", "implementation"), ("D6", "ica_removal")):
        r = oem.patch(f"/api/v1/reports/{rid}/disciplines/{code}", json={"base_version": 0, "fields": {name: []}})
        assert r.status_code == 422 and r.get_json()["error"] == "invalid", (code, r.get_json())
        assert "/api/v1/reports/{id}/actions" in r.get_json()["details"]["fields"][name]


def test_actions_carry_what_each_kind_claims(api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D5")
    lead = walk.clients["leader"]
    due = "2099-01-01"
    base = {"title": "Shim the clamp", "owner_id": p.sup_eng2.id, "due_date": due}
    # references are assigned per kind and unique; an action's fields belong to its kind
    first = lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "corrective", "causes": ["C1"]}).get_json()
    assert first["ref"] == "PCA1" and first["causes"] == ["C1"] and first["cause"] == "occurrence" and first["cause_ref"] == "C1"
    clash = lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "corrective", "ref": "PCA1"})
    assert clash.status_code == 422 and clash.get_json()["details"]["fields"] == {"ref": "is already used"}
    assert lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "corrective", "causes": ["C9"]}).get_json()["details"]["fields"]["causes"]
    wrong_kind = lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "corrective", "location": "supplier_wip"})
    assert wrong_kind.status_code == 422 and wrong_kind.get_json()["details"]["fields"] == {"location": "is not a field of a corrective action"}
    # evidence lists hold live files of this report only
    other = open_report(api(p.oem_eng), p, title="Another report")
    foreign = upload(api(p.oem_eng), other)
    r = lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "corrective", "causes": ["C1"], "pre_verification_evidence": [foreign]})
    assert r.status_code == 422 and "is not an attachment of this report" in r.get_json()["details"]["fields"]["pre_verification_evidence"]
    # the implementation date comes with the step to implemented
    r = lead.patch(f"/api/v1/actions/{first['id']}", json={"version": first["version"], "implemented_on": "2026-09-11"})
    assert r.status_code == 422 and r.get_json()["details"]["fields"] == {"implemented_on": "is set with status implemented"}
    # a file uploaded to a corrective action in D5 is its pre-verification evidence, in D6 its implementation evidence
    pre = upload(lead, rid, "D5", action_id=str(first["id"]))
    impl = upload(lead, rid, "D6", action_id=str(first["id"]))
    got = lead.get(f"/api/v1/actions/{first['id']}").get_json()
    assert got["pre_verification_evidence"] == [pre] and got["implementation_evidence"] == [impl]
    # preventive actions name their target
    pa = lead.post(f"/api/v1/reports/{rid}/actions", json={**base, "kind": "preventive", "target": "Line M3, BM-16S"}).get_json()
    assert pa["ref"] == "PA1" and pa["target"] == "Line M3, BM-16S"


def test_evidence_values_must_be_live_files_of_the_same_report(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid, other = open_report(oem, p), open_report(oem, p, title="Another report")
    mine, foreign = upload(oem, rid), upload(oem, other)
    d4 = example("D4")
    d4["causes"][2]["evidence"] = [foreign]
    r = oem.patch(f"/api/v1/reports/{rid}/disciplines/D4", json={"base_version": 0, "fields": d4})
    assert r.status_code == 422 and r.get_json()["details"]["fields"]["causes[0].evidence"] == "9101 is not an attachment of this report"
    assert r.get_json()["details"]["fields"]["causes[2].evidence"] == f"{foreign} is not an attachment of this report"
    assert oem.delete(f"/api/v1/attachments/{mine}", json={"reason": "wrong file"}).status_code == 204
    r = oem.patch(f"/api/v1/reports/{rid}/disciplines/D6", json={"base_version": 0, "fields": {"validation_evidence": [mine]}})
    assert r.status_code == 422 and r.get_json()["details"]["fields"] == {"validation_evidence": f"{mine} is withdrawn"}
    r = oem.patch(f"/api/v1/reports/{rid}/disciplines/D6", json={"base_version": 0, "fields": {"validation_evidence": ["report.pdf"]}})
    assert r.status_code == 400 and "validation_evidence" in r.get_json()["details"]["fields"]


def test_a_file_can_be_attached_to_an_evidence_field_as_it_is_uploaded(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)
    att = upload(oem, rid, "D6", claim="validation_evidence")
    fields = oem.get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D6"]["fields"]
    assert fields["validation_evidence"] == [att]
    r = oem.post(f"/api/v1/reports/{rid}/attachments", **multipart({"file": (io.BytesIO(b"x;y\n"), "a.csv"), "discipline": "D6", "claim": "no_such_field"}))
    assert r.status_code == 422 and "claim" in r.get_json()["details"]["fields"]


# ------------------------------------------------------------------------- gates that name the field
def test_the_d4_gate_refuses_a_future_or_premature_verification_naming_the_field(api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D4")
    lead = walk.clients["leader"]
    d4 = walk.values("D4")
    d4["causes"][0]["verified_on"] = "2026-09-03"
    save(lead, rid, "D4", d4)
    refused = advance(lead, rid, expect=409)
    assert refused["error"] == "gate_not_met"
    assert 'D4: cause C1: "Verified on" (2026-09-03) is before the parts came back (2026-09-04) - verify on the returned parts.' in refused["details"]["missing"]


def test_the_d3_gate_wants_verified_containment_at_every_location_with_suspect_parts(api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D3")
    lead = walk.clients["leader"]
    save(lead, rid, "D3", walk.values("D3"))
    missing = advance(lead, rid, expect=409)["details"]["missing"]
    assert 'D3: no containment at "Supplier WIP" - add a containment action there or a ledger row with 0 suspect parts.' in missing
    walk.create_actions("D3")
    assert advance(lead, rid)["status"] == "in_review"


def test_withdrawing_evidence_a_passed_gate_relied_on_warns_and_withdraws_the_acceptance(api, parties, db):
    p = parties
    rid, walk = walk_to(api, p, "D5")  # D3 accepted, D4 passed
    lead = walk.clients["leader"]
    c1_file = walk.files[9101]
    r = lead.delete(f"/api/v1/attachments/{c1_file}", json={"reason": "Wrong trial report"})
    assert r.status_code == 204
    notes = json.loads(r.headers["X-8D-Notes"])
    assert notes == ['"C1-reproduction-trial.pdf" was evidence of D4 (C1: Verification evidence), whose completion check has passed: D4 no longer has this proof.']
    report = lead.get(f"/api/v1/reports/{rid}").get_json()
    assert [v["withdrawn_at"] is None for v in report["reviews"]] == [True]  # D3's acceptance stays (D4 is later)
    ica_file = walk.actions["ICA1"]["evidence"][0]
    r = lead.delete(f"/api/v1/attachments/{ica_file}")
    notes = json.loads(r.headers["X-8D-Notes"])
    assert "was evidence of D3 (ICA1 evidence)" in notes[0] and notes[1] == "The customer's acceptance of D3 was withdrawn because evidence of D3 was withdrawn."
    report = lead.get(f"/api/v1/reports/{rid}").get_json()
    assert report["reviews"][0]["withdrawn_at"] and "ICA1-retest-report.csv" in report["reviews"][0]["withdrawn_reason"]
    events = [e["action"] for e in lead.get(f"/api/v1/reports/{rid}/events?per_page=200").get_json()["items"]]
    assert events[-2:] == ["evidence.withdrawn", "review.withdrawn"]
    # a file that a discipline under the customer's review relies on cannot be withdrawn meanwhile
    save(lead, rid, "D5", walk.prepare("D5"))
    advance(lead, rid)
    r = lead.delete(f"/api/v1/attachments/{walk.files[9201]}")
    assert r.status_code == 409 and r.get_json()["details"]["rule"] == "frozen"


def test_a_repeat_failure_links_a_report_of_the_same_two_companies(api, parties):
    p = parties
    oem = api(p.oem_eng)
    earlier = open_report(oem, p, title="Earlier weld cracks")
    other_supplier = open_report(oem, SimpleNamespace(oem=p.oem, supplier=p.other), title="Nordpack")
    rid = open_report(oem, p)
    assert oem.patch(f"/api/v1/reports/{rid}", json={"repeat_failure": True}).status_code == 200
    r = oem.patch(f"/api/v1/reports/{rid}", json={"related_report_id": other_supplier})
    assert r.status_code == 422 and r.get_json()["details"]["fields"] == {"related_report_id": "is not a report of the same customer and supplier"}
    assert oem.patch(f"/api/v1/reports/{rid}", json={"related_report_id": rid}).status_code == 422
    missing = oem.get(f"/api/v1/reports/{rid}/gate").get_json()["disciplines"]["D0"]
    assert any(f["message"] == 'Header: a repeat failure must name the earlier report in "Related report".' for f in missing)
    r = oem.patch(f"/api/v1/reports/{rid}", json={"related_report_id": earlier})
    assert r.status_code == 200 and r.get_json()["header"]["related_report_id"] == earlier
    assert not any("repeat failure" in f["message"] for f in oem.get(f"/api/v1/reports/{rid}/gate").get_json()["disciplines"]["D0"])
    assert api(p.other_eng).patch(f"/api/v1/reports/{other_supplier}", json={"related_report_id": earlier}).status_code in (403, 404, 422)


# ------------------------------------------------------------------------------ read-across later
def test_a_read_across_to_apply_becomes_a_preventive_action_at_closure(api, parties, db):
    p = parties
    rid, walk = walk_to(api, p, "D7")
    lead, qlead = walk.clients["leader"], api(p.oem_lead)
    d7 = walk.prepare("D7")
    d7["read_across"][0].update(status="open", owner=p.sup_eng2.name, due="2099-03-31")
    save(lead, rid, "D7", d7)
    advance(lead, rid)
    save(lead, rid, "D8", walk.prepare("D8"))
    gate = lead.get(f"/api/v1/reports/{rid}/gate").get_json()
    assert any("will be tracked as preventive actions after closure" in f["message"] for f in gate["disciplines"]["D8"])
    advance(lead, rid)
    closed = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": PASSWORD}).get_json()
    assert "status" in closed, closed
    assert closed["status"] == "closed" and closed["outcome"] == "resolved"
    later = [a for a in lead.get(f"/api/v1/reports/{rid}/actions").get_json()["items"] if a["title"].startswith("Read-across:")]
    assert len(later) == 1 and later[0]["kind"] == "preventive" and later[0]["owner_id"] == p.sup_eng2.id and later[0]["due_date"] == "2099-03-31"
    assert later[0]["target"] == d7["read_across"][0]["target"] and later[0]["status"] == "open"
    # the follow-up moves after closure; nothing else does
    mia = api(p.sup_eng2)
    assert mia.patch(f"/api/v1/actions/{later[0]['id']}", json={"version": 1, "status": "in_progress"}).status_code == 200
    done = [a for a in lead.get(f"/api/v1/reports/{rid}/actions").get_json()["items"] if a["ref"] == "PCA1"][0]
    assert lead.patch(f"/api/v1/actions/{done['id']}", json={"version": done["version"], "title": "x"}).status_code == 409
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.report_id == rid, AuditEvent.action == "action.created")).all()
    assert any((e.changes.get("title") or [None, ""])[1].startswith("Read-across:") for e in created)


# ------------------------------------------------------------------------------------- decline
def test_the_supplier_declines_and_the_customer_refuses_then_accepts(api, parties, db):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p, title="Scratched housing")
    walk = team_of_the_example(api, p, rid)
    lead, member, champion, qlead = walk.clients["leader"], walk.clients["supplier_member"], walk.clients["champion"], api(p.oem_lead)
    photo = upload(lead, rid, "D0", "returned-part.png", evidence_bytes("returned-part.png", "Mould mark on the returned housing"))
    body = {"reason": "not_our_part", "comment": "The returned housing carries another supplier's mould mark.", "evidence": [photo]}
    # who may ask
    assert oem.post(f"/api/v1/reports/{rid}/decline", json=body).status_code == 403  # the customer's champion
    assert member.post(f"/api/v1/reports/{rid}/decline", json=body).status_code == 403  # a supplier member
    assert api(p.other_eng).post(f"/api/v1/reports/{rid}/decline", json=body).status_code == 404
    # with what
    r = lead.post(f"/api/v1/reports/{rid}/decline", json={**body, "reason": "bad_weather"})
    assert r.status_code == 422 and "reason" in r.get_json()["details"]["fields"]
    assert lead.post(f"/api/v1/reports/{rid}/decline", json={**body, "comment": ""}).get_json()["details"]["fields"] == {"comment": "is required"}
    r = lead.post(f"/api/v1/reports/{rid}/decline", json={**body, "evidence": []})
    assert r.status_code == 422 and r.get_json()["details"]["fields"] == {"evidence": "is required (attachment ids of this report)"}
    r = lead.post(f"/api/v1/reports/{rid}/decline", json={**body, "reason": "duplicate"})
    assert r.get_json()["details"]["fields"] == {"related_report_id": "is required for a duplicate"}
    # asked: waiting for the customer, frozen meanwhile
    asked = lead.post(f"/api/v1/reports/{rid}/decline", json=body)
    assert asked.status_code == 200, asked.get_json()
    report = asked.get_json()
    assert report["status"] == "in_review" and report["stage"] == "D0"
    assert report["review"]["kind"] == "decline" and report["review"]["decline_reason"] == "not_our_part"
    assert lead.post(f"/api/v1/reports/{rid}/advance", json={}).status_code == 409
    assert save(lead, rid, "D0", {"symptom": "x"}, expect=409)
    leads_mail = db.session.scalars(select(OutboxMessage).where(OutboxMessage.event == "decline.requested")).all()
    assert {m.to_email for m in leads_mail} >= {p.oem_lead.email}
    # refused: a comment is needed; the work goes on at the same discipline
    assert qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "reject"}).status_code == 422
    refused = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "reject", "comment": "The mould mark is yours (cavity 3).", "return_to": "D0"})
    assert refused.status_code == 200 and refused.get_json()["status"] == "open" and refused.get_json()["stage"] == "D0"
    assert refused.get_json()["outcome"] is None
    # asked again (by the champion), accepted with the password
    again = champion.post(f"/api/v1/reports/{rid}/decline", json={**body, "reason": "customer_caused", "comment": "Scratches match the OEM's rack."})
    assert again.status_code == 200
    assert qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": "wrong-password-1"}).status_code == 403
    accepted = qlead.post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "comment": "Agreed.", "password": PASSWORD}).get_json()
    assert accepted["status"] == "closed" and accepted["outcome"] == "declined"
    assert accepted["signature"]["meaning"] == "decline accepted" and accepted["signature"]["signed_by"] == p.oem_lead.name
    assert [(v["kind"], v["decision"]) for v in accepted["reviews"]] == [("decline", "reject"), ("decline", "approve")]
    events = [e["action"] for e in lead.get(f"/api/v1/reports/{rid}/events?per_page=200").get_json()["items"]]
    assert [e for e in events if e.startswith("decline.")] == ["decline.requested", "decline.refused", "decline.requested", "decline.accepted"]
    decided = db.session.scalars(select(OutboxMessage).where(OutboxMessage.event.in_(("decline.refused", "decline.accepted")))).all()
    assert {m.to_email for m in decided} >= {p.sup_eng.email, p.sup_lead.email}
    listed = lead.get("/api/v1/reports?status=closed").get_json()["items"]
    assert [(r["id"], r["outcome"]) for r in listed] == [(rid, "declined")]
    assert db.session.get(Report, rid).outcome == "declined"
    # the signed record holds: both decline reviews verify, and a rewritten reason is caught
    from flask import current_app

    runner = current_app.test_cli_runner()
    clean = runner.invoke(args=["audit", "verify"])
    assert clean.exit_code == 0, clean.output
    db.session.execute(update(Review).where(Review.report_id == rid, Review.decision == "approve").values(decline_reason="duplicate"))
    db.session.commit()
    tampered = runner.invoke(args=["audit", "verify"])
    assert tampered.exit_code != 0 and "decline_reason differ from the signed record" in tampered.output, tampered.output


def test_a_decline_is_possible_only_while_open_at_d0_to_d4_and_a_duplicate_names_its_report(api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D5")
    lead = walk.clients["leader"]
    body = {"reason": "no_trouble_found", "comment": "All returned modules pass.", "evidence": [walk.files[9101]]}
    r = lead.post(f"/api/v1/reports/{rid}/decline", json=body)
    assert r.status_code == 409 and r.get_json()["details"]["rule"] == "decline_not_allowed"
    oem = api(p.oem_eng)
    first = open_report(oem, p, title="First complaint")
    second = open_report(oem, p, title="The same complaint again")
    oem.post(f"/api/v1/reports/{second}/team", json={"user_id": p.sup_eng.id, "role": "leader"})
    photo = upload(lead, second, "D0")
    r = lead.post(f"/api/v1/reports/{second}/decline", json={"reason": "duplicate", "comment": "Same lots as the first.", "evidence": [photo],
                                                               "related_report_id": first})
    assert r.status_code == 200 and r.get_json()["reviews"][-1]["related_report_id"] == first
