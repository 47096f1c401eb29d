"""The effectiveness watch after closure (issue 18): D8 approval starts it, reminders before and
at its end, the customer's quality lead decides with the signature, a recurrence flags it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.models import EffectivenessWatch, OutboxMessage, Report, Review, utcnow
from app.services import effectiveness
from tests.conftest import PASSWORD
from tests.test_api_workflow import open_report


def _in_review_at_d8(db, report_id: int, requested_by) -> None:
    report = db.session.get(Report, report_id)
    report.stage, report.status = "D8", "in_review"
    db.session.add(Review(report_id=report_id, stage="D8", revision=report.revision, requested_by_id=requested_by.id, request_comment="D8 ready"))
    db.session.commit()


def _closed_with_watch(api, p, db, **watch):
    rid = open_report(api(p.oem_eng), p, title="Cracked cell-tab welds", part_number="BM-12S-4471")["id"]
    _in_review_at_d8(db, rid, p.sup_eng)
    r = api(p.oem_lead).post(f"/api/v1/reports/{rid}/review", json={"decision": "approve", "password": PASSWORD, **watch})
    assert r.status_code == 200, r.get_json()
    return rid, r.get_json()


def test_approving_d8_starts_the_watch_with_its_criterion_and_days(api, parties, db):
    p = parties
    rid, body = _closed_with_watch(api, p, db, watch_days=30, watch_criterion="EOL ppm below 50 for 30 days")
    assert body["status"] == "closed"
    watch = body["effectiveness"]
    assert watch["status"] == "watching" and watch["criterion"] == "EOL ppm below 50 for 30 days"
    assert watch["until"] == (utcnow().date() + dt.timedelta(days=30)).isoformat()
    assert watch["recurrences"] == [] and watch["decided_by"] is None
    # default 90 days; 0 = no watch
    _, default = _closed_with_watch(api, p, db)
    assert default["effectiveness"]["until"] == (utcnow().date() + dt.timedelta(days=90)).isoformat()
    _, none = _closed_with_watch(api, p, db, watch_days=0)
    assert none["effectiveness"] is None
    # a bad value changes nothing
    rid4 = open_report(api(p.oem_eng), p, title="Another")["id"]
    _in_review_at_d8(db, rid4, p.sup_eng)
    lead = api(p.oem_lead)
    assert lead.post(f"/api/v1/reports/{rid4}/review", json={"decision": "approve", "password": PASSWORD, "watch_days": 9999}).status_code == 422
    assert lead.post(f"/api/v1/reports/{rid4}/review", json={"decision": "approve", "password": PASSWORD, "watch_days": "x"}).status_code == 400
    assert lead.get(f"/api/v1/reports/{rid4}").get_json()["status"] == "in_review"


def test_effective_at_the_end_signed_by_the_quality_lead_only(api, parties, db):
    p = parties
    rid, _ = _closed_with_watch(api, p, db, watch_days=30)
    lead = api(p.oem_lead)
    url = f"/api/v1/reports/{rid}/effectiveness"
    # before the end: 409; others: 403 (or 404 for another supplier)
    r = lead.post(url, json={"decision": "effective", "password": PASSWORD})
    assert r.status_code == 409 and r.get_json()["details"]["rule"] == "watch_running"
    assert api(p.sup_lead).post(url, json={"decision": "effective", "password": PASSWORD}).status_code == 403
    assert api(p.oem_eng).post(url, json={"decision": "effective", "password": PASSWORD}).status_code == 403
    assert api(p.other_eng).post(url, json={"decision": "effective", "password": PASSWORD}).status_code == 404
    db.session.execute(EffectivenessWatch.__table__.update().values(until=utcnow().date()))
    db.session.commit()
    assert lead.post(url, json={"decision": "effective", "password": "wrong"}).status_code == 403
    assert lead.post(url, json={"decision": "maybe", "password": PASSWORD}).status_code == 422
    r = lead.post(url, json={"decision": "effective", "comment": "0 ppm for 30 days", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    watch = r.get_json()["effectiveness"]
    assert watch["status"] == "effective" and watch["decided_by"]["id"] == p.oem_lead.id
    assert watch["signature"]["meaning"] == "effectiveness confirmed" and watch["signature"]["signed_by"] == p.oem_lead.name
    assert r.get_json()["status"] == "closed"
    assert lead.post(url, json={"decision": "effective", "password": PASSWORD}).status_code == 409  # decided once
    actions = [e["action"] for e in lead.get(f"/api/v1/reports/{rid}/events").get_json()["items"]]
    assert "effectiveness.started" in actions and "effectiveness.effective" in actions and "signature.failed" in actions


def test_not_effective_reopens_the_report_with_a_new_revision_and_the_reason(api, parties, db):
    p = parties
    rid, before = _closed_with_watch(api, p, db, watch_days=30)
    lead = api(p.oem_lead)
    url = f"/api/v1/reports/{rid}/effectiveness"
    assert lead.post(url, json={"decision": "not_effective", "password": PASSWORD}).status_code == 422  # the reason is required
    r = lead.post(url, json={"decision": "not_effective", "comment": "Two cracked welds at EOL in week 3", "password": PASSWORD})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "open" and body["stage"] == "D4" and body["revision"] == before["revision"] + 1
    assert body["effectiveness"]["status"] == "not_effective" and body["effectiveness"]["comment"] == "Two cracked welds at EOL in week 3"
    events = lead.get(f"/api/v1/reports/{rid}/events").get_json()["items"]
    reopened = next(e for e in events if e["action"] == "report.reopened")
    assert "Two cracked welds" in reopened["comment"]


def test_a_recurrence_during_the_watch_flags_it_links_both_and_tells_the_quality_lead_at_once(api, parties, db):
    p = parties
    rid, _ = _closed_with_watch(api, p, db, watch_days=30)
    sup = api(p.sup_eng)
    new = open_report(sup, p, title="Cracked weld on cell tab again", part_number="bm-12s-4471")
    assert new["id"] != rid
    lead = api(p.oem_lead)
    watch = lead.get(f"/api/v1/reports/{rid}").get_json()["effectiveness"]
    assert watch["recurrences"] == [{"id": new["id"], "number": new["number"]}]
    assert db.session.get(Report, new["id"]).related_report_id == rid
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.report_id == rid, OutboxMessage.event == "watch.recurrence")).all()
    assert {m.recipient_id for m in mails} == {p.oem_lead.id}
    # not a recurrence: another part number, another failure mode, another supplier
    open_report(sup, p, title="Cracked weld on cell tab", part_number="OTHER-1")
    open_report(sup, p, title="Scratched label", part_number="BM-12S-4471")
    open_report(api(p.oem_eng), p, title="Cracked weld on cell tab", part_number="BM-12S-4471", supplier_id=p.other.id)
    assert len(lead.get(f"/api/v1/reports/{rid}").get_json()["effectiveness"]["recurrences"]) == 1
    # after a recurrence the lead may decide at once (effective or not)
    r = lead.post(f"/api/v1/reports/{rid}/effectiveness", json={"decision": "effective", "comment": "Other root cause", "password": PASSWORD})
    assert r.status_code == 200


def test_reminders_before_the_end_and_when_it_has_ended_once_each(api, parties, db):
    p = parties
    rid, _ = _closed_with_watch(api, p, db, watch_days=30)
    today = utcnow().date()
    for day in (today, today + dt.timedelta(days=23), today + dt.timedelta(days=24), today + dt.timedelta(days=30), today + dt.timedelta(days=31)):
        effectiveness.send_reminders(day)
        db.session.commit()
    kinds = sorted(m.event for m in db.session.scalars(select(OutboxMessage).where(OutboxMessage.report_id == rid, OutboxMessage.event.like("watch.%"))))
    assert kinds == ["watch.due", "watch.reminder"]


def test_the_pages_start_show_and_decide_the_watch(client, api, parties, db):
    from tests.conftest import csrf_from, login

    p = parties
    rid = open_report(api(p.oem_eng), p, title="Cracked cell-tab welds", part_number="BM-12S-4471")["id"]
    _in_review_at_d8(db, rid, p.sup_eng)
    login(client, p.oem_lead)
    page = client.get(f"/reports/{rid}").get_data(as_text=True)
    assert 'id="watch-fields"' in page
    r = client.post(f"/reports/{rid}/review", data={"csrf_token": csrf_from(page), "decision": "approve", "password": PASSWORD, "stage": "D8",
                                                    "watch_days": "14", "watch_criterion": "No cracked weld at EOL for 14 days"})
    assert r.status_code == 302
    page = client.get(f"/reports/{rid}?d=D8").get_data(as_text=True)
    until = (utcnow().date() + dt.timedelta(days=14)).isoformat()
    assert f"until {until}" in page and "No cracked weld at EOL for 14 days" in page and 'id="eff-btn"' in page
    dashboard = client.get("/").get_data(as_text=True)
    assert 'id="watches-running"' in dashboard and "1 under watch" in dashboard
    db.session.execute(EffectivenessWatch.__table__.update().values(until=utcnow().date()))
    db.session.commit()
    dashboard = client.get("/").get_data(as_text=True)
    assert 'id="watches-due"' in dashboard and "1 due" in dashboard
    r = client.post(f"/reports/{rid}/effectiveness", data={"csrf_token": csrf_from(page), "decision": "effective", "comment": "Held", "password": PASSWORD})
    assert r.status_code == 302
    page = client.get(f"/reports/{rid}?d=D8").get_data(as_text=True)
    assert "effectiveness confirmed" in page and 'id="eff-btn"' not in page
    from app.services.export import export_document

    doc = export_document(db.session.get(Report, rid))
    assert doc["effectiveness"]["status"] == "effective"
    # the PDF states the watch and its result
    from flask import render_template

    from app import method

    with client.application.test_request_context():
        html = render_template("pdf/report.html", report=db.session.get(Report, rid), doc=doc, method=method)
    assert "Watch until" in html and "effective" in html and "effectiveness confirmed" in html
