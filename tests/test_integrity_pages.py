"""Issue 15 through the pages (forms with CSRF, no JavaScript): the messages people see name the
field, evidence is picked from the report's files, actions are worked in place, withdrawing a
file warns, the reviewer is shown the warnings, and a decline is requested, refused and accepted."""

from __future__ import annotations

import io
import re

from app.demo import evidence_bytes
from tests.conftest import PASSWORD, csrf_from, login
from tests.helpers import example, multipart
from tests.test_integrity_api import open_report, save, team_of_the_example, upload, walk_to
from tests.test_web_workflow import form_fields, page, post_form


def flashes(html: str) -> list[str]:
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m)).strip() for m in re.findall(r'<div class="alert[^"]*"[^>]*role="(?:status|alert)"[^>]*>(.*?)</div>', html, re.S)]


def test_the_gate_lists_what_is_missing_in_d3_naming_the_location(app, api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D3")
    save(walk.clients["leader"], rid, "D3", walk.values("D3"))
    client = app.test_client()
    login(client, p.sup_eng)
    r = post_form(client, f"/reports/{rid}/advance", {"comment": ""}, f"/reports/{rid}")
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "D3 cannot be completed yet" in shown
    assert "D3: no containment at &#34;Supplier WIP&#34; - add a containment action there or a ledger row with 0 suspect parts." in shown
    # the page shows the containment per location and offers to add one there
    assert "Containment per location" in shown and "No containment action here yet." in shown and "Add a containment action" in shown


def test_evidence_is_picked_from_the_reports_files_and_another_reports_file_is_refused(app, api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid, other = open_report(oem, p), open_report(oem, p, title="Another report")
    team_of_the_example(api, p, rid)
    mine = upload(api(p.sup_eng), rid, "D6", "validation.csv")
    foreign = upload(oem, other, "D6", "foreign.csv")
    client = app.test_client()
    login(client, p.sup_eng)
    html = page(client, f"/reports/{rid}?d=D6")
    assert f'name="f.validation_evidence" value="{mine}"' in html and "D6 · validation.csv" in html and "foreign.csv" not in html
    form = {"base_version": "0", **form_fields("D6", {"validation_evidence": [foreign]})}
    r = post_form(client, f"/reports/{rid}/disciplines/D6", form, f"/reports/{rid}?d=D6")
    assert r.status_code == 422 and f"{foreign} is not an attachment of this report" in r.get_data(as_text=True)
    r = post_form(client, f"/reports/{rid}/disciplines/D6", {"base_version": "0", **form_fields("D6", {"validation_evidence": [mine]})}, f"/reports/{rid}?d=D6")
    assert r.status_code == 302
    assert api(p.sup_eng).get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D6"]["fields"]["validation_evidence"] == [mine]
    # a cell of a table picks files too (D4's verification evidence) and the upload form attaches a new file at once
    d4 = example("D4")
    for cause in d4["causes"]:
        cause["evidence"] = [mine]
    r = post_form(client, f"/reports/{rid}/disciplines/D4", {"base_version": "0", **form_fields("D4", d4)}, f"/reports/{rid}?d=D4")
    assert r.status_code == 302
    html = page(client, f"/reports/{rid}?d=D4")
    assert 'name="t.causes.0.evidence"' in html and "C1 · Verification evidence" in html
    row_id = api(p.sup_eng).get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D4"]["fields"]["causes"][0]["id"]
    r = client.post(f"/reports/{rid}/evidence", **multipart({
        "csrf_token": csrf_from(html), "discipline": "D4", "claim": f"causes.{row_id}.evidence",
        "file": (io.BytesIO(evidence_bytes("C1-trial.pdf", "Shim trial")), "C1-trial.pdf")}))
    assert r.status_code == 302
    causes = api(p.sup_eng).get(f"/api/v1/reports/{rid}").get_json()["disciplines"]["D4"]["fields"]["causes"]
    assert len(causes[0]["evidence"]) == 2 and causes[1]["evidence"] == [mine]


def test_actions_are_worked_in_place_and_the_owner_cannot_verify_their_own(app, api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D3")
    walk.clients["leader"].post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Block WIP on line M2", "owner_id": p.sup_eng.id,
                                                                        "due_date": "2099-01-01", "location": "supplier_wip", "qty_suspect": 180})
    client = app.test_client()
    login(client, p.sup_eng)
    html = page(client, f"/reports/{rid}?d=D3")
    action_id = int(re.search(r'id="action-(\d+)"', html).group(1))
    for status in ("in_progress", "implemented"):
        r = post_form(client, f"/actions/{action_id}", {"version": str(1 if status == "in_progress" else 2), "status": status, "back": f"/reports/{rid}?d=D3"},
                      f"/reports/{rid}?d=D3")
        assert r.status_code == 302 and r.headers["Location"].startswith(f"/reports/{rid}?d=D3")
    r = post_form(client, f"/actions/{action_id}", {"version": "3", "status": "verified", "verification": "checked", "back": f"/reports/{rid}?d=D3"},
                  f"/reports/{rid}?d=D3")
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Someone other than the owner must verify the action." in shown
    other = app.test_client()
    login(other, p.oem_eng)
    r = post_form(other, f"/actions/{action_id}", {"version": "3", "status": "verified", "verification": "SAP block checked on site",
                                                   "back": f"/reports/{rid}?d=D3"}, f"/reports/{rid}?d=D3")
    shown = other.get(r.headers["Location"]).get_data(as_text=True)
    assert "Action ICA1 saved." in shown and "verified by Jana Weber" in shown
    # a back link off this site is not followed
    r = post_form(other, f"/actions/{action_id}", {"version": "4", "title": "Block WIP on line M2 (all shifts)", "back": "//evil.example/x"},
                  f"/reports/{rid}?d=D3")
    assert r.headers["Location"] == f"/actions/{action_id}"


def test_withdrawing_a_file_a_passed_discipline_relied_on_warns_on_the_page(app, api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D5")
    client = app.test_client()
    login(client, p.sup_eng)
    att = walk.files[9101]
    r = post_form(client, f"/reports/{rid}/evidence/{att}/withdraw", {"reason": "Wrong trial report attached"}, f"/reports/{rid}?d=D4")
    shown = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Evidence withdrawn" in shown
    assert "&#34;C1-reproduction-trial.pdf&#34; was evidence of D4 (C1: Verification evidence), whose completion check has passed" in shown


def test_the_reviewer_sees_the_warning_of_a_safety_complaint_without_emergency_response(app, api, parties):
    p = parties
    rid, walk = walk_to(api, p, "D3")
    lead = walk.clients["leader"]
    d0 = example("D0")
    d0.update(era_needed=False, era=[], no_era_reason="All suspect modules were still inside the CellTech plant when the complaint came in.")
    save(lead, rid, "D0", d0)
    save(lead, rid, "D3", walk.prepare("D3"))
    assert lead.post(f"/api/v1/reports/{rid}/advance", json={}).get_json()["status"] == "in_review"
    client = app.test_client()
    login(client, p.oem_lead)
    html = page(client, f"/reports/{rid}")
    warnings = html[html.index('id="review-warnings"'):]
    assert "Before you decide: warnings in what is submitted" in warnings
    assert "D0: safety complaint without an emergency response - the team&#39;s reason" in warnings


def test_a_decline_is_requested_refused_and_accepted_through_the_pages(app, api, parties, db):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p, title="Scratched housing")
    team_of_the_example(api, p, rid)
    photo = upload(api(p.sup_eng), rid, "D0", "mould-mark.png", evidence_bytes("mould-mark.png", "Mould mark"))
    lead, ql, member = app.test_client(), app.test_client(), app.test_client()
    login(lead, p.sup_eng)
    login(ql, p.oem_lead)
    login(member, p.sup_eng2)
    assert "Decline this complaint" in page(lead, f"/reports/{rid}") and "Decline this complaint" not in page(member, f"/reports/{rid}")
    assert "Decline this complaint" not in page(ql, f"/reports/{rid}")
    form = {"reason": "not_our_part", "comment": "The housing carries another supplier's mould mark.", "related_report_id": ""}
    r = post_form(lead, f"/reports/{rid}/decline", form, f"/reports/{rid}")
    assert "A decline needs evidence: at least one file of this report." in lead.get(r.headers["Location"]).get_data(as_text=True)
    r = post_form(lead, f"/reports/{rid}/decline", {**form, "evidence": str(photo)}, f"/reports/{rid}")
    shown = lead.get(r.headers["Location"]).get_data(as_text=True)
    assert "The decline was submitted to the customer&#39;s quality lead." in shown and "decides on the decline" in shown
    review = page(ql, f"/reports/{rid}")
    assert "The supplier asks to decline the complaint" in review and "The housing carries another supplier&#39;s mould mark." in review
    assert "mould-mark.png" in review and "Accept the decline — closes the report" in review and "Your decision on the decline" in review
    r = post_form(ql, f"/reports/{rid}/review", {"decision": "reject", "comment": ""}, f"/reports/{rid}")
    assert "A comment is required." in ql.get(r.headers["Location"]).get_data(as_text=True)
    post_form(ql, f"/reports/{rid}/review", {"decision": "reject", "comment": "Cavity 3 is your mould."}, f"/reports/{rid}")
    shown = page(lead, f"/reports/{rid}")
    assert "decline refused" in shown and "Cavity 3 is your mould." in shown and "working on D0." in shown
    r = post_form(lead, f"/reports/{rid}/decline", {**form, "reason": "customer_caused", "comment": "Scratches match the OEM's rack.", "evidence": str(photo)},
                  f"/reports/{rid}")
    assert "The decline was submitted" in lead.get(r.headers["Location"]).get_data(as_text=True)
    r = post_form(ql, f"/reports/{rid}/review", {"decision": "approve", "comment": "Agreed.", "password": PASSWORD}, f"/reports/{rid}")
    assert "Your decision was recorded." in ql.get(r.headers["Location"]).get_data(as_text=True), flashes(ql.get(f"/reports/{rid}").get_data(as_text=True))
    closed = page(lead, f"/reports/{rid}")
    assert "decline accepted" in closed and "meaning: decline accepted" in closed and "the customer accepted the supplier's decline" in closed
    dashboard = page(ql, "/?status=closed")
    row = dashboard[dashboard.index("Scratched housing"):][:800]
    assert "declined" in row
    assert api(p.oem_lead).get(f"/api/v1/reports/{rid}").get_json()["outcome"] == "declined"
    # the printable report states it, with the evidence
    from flask import render_template

    from app import method
    from app.models import Report
    from app.services.export import export_document

    assert ql.get(f"/reports/{rid}/export.pdf").status_code == 200
    with app.test_request_context():
        report = db.session.get(Report, rid)
        html = re.sub(r"\s+", " ", render_template("pdf/report.html", report=report, doc=export_document(report), method=method))
    assert "Complaint declined." in html and "caused at the customer" in html and "meaning: <strong>decline accepted</strong>" in html
    assert "mould-mark.png" in html and "outcome <span class=\"status\">declined</span>" in html


def test_the_pdf_names_each_claims_files_with_their_sha256(app, db):
    """The printable report of the demo's closed story: every claim of proof with its files."""
    from flask import render_template
    from sqlalchemy import select

    from app import method
    from app.demo import load_demo
    from app.models import Attachment, Report
    from app.services.export import export_document, render_pdf

    load_demo()
    report = db.session.scalars(select(Report).order_by(Report.id)).first()
    files = {a.filename: a for a in db.session.scalars(select(Attachment).where(Attachment.report_id == report.id))}
    with app.test_request_context():
        html = render_template("pdf/report.html", report=report, doc=export_document(report), method=method)
        assert render_pdf(report)[:5] == b"%PDF-"
    text = re.sub(r"<[^>]+>", " ", html)
    assert "outcome resolved" in re.sub(r"\s+", " ", text)
    for name in ("C1-reproduction-trial.pdf", "validation-W3-joint-resistance.csv", "PFMEA-BM12S-M2-revG.pdf", "PCA1-trial-200.csv",
                 "PCA1-installation-record.txt", "ICA1-retest-report.csv"):
        assert re.search(re.escape(name) + r"\s+SHA-256 " + files[name].sha256, text), name
    for ref in ("ICA1", "ICA4", "PCA1", "PCA3", "PA1"):
        assert ref in text
