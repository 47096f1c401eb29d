"""Notifications from the real workflow: every stage change, review, assignment and mention
writes its outbox rows in the same transaction, for the right people only."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import OutboxMessage, utcnow
from app.services.notifications import action_reminders
from tests.helpers import example, header
from tests.test_api_workflow import build_team, open_report, save


def rows(event=None):
    db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if event:
        stmt = stmt.where(OutboxMessage.event == event)
    return db.session.scalars(stmt).all()


def test_workflow_writes_the_mails_for_the_right_people(api, parties):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    build_team(oem, rid, p)
    added = {r.to_email for r in rows("team.added")}
    assert added == {p.sup_eng.email, p.sup_eng2.email}
    lead = api(p.sup_eng)
    lead.patch(f"/api/v1/reports/{rid}", json={k: v for k, v in header().items() if k != "title"})
    save(lead, rid, "D0", example("D0"))
    assert lead.post(f"/api/v1/reports/{rid}/advance", json={"comment": "D0 done"}).status_code == 200
    stage = rows("stage.advanced")
    assert {r.to_email for r in stage} == {p.oem_eng.email, p.sup_eng2.email}  # the team, not the actor
    assert all(f"/reports/{rid}?d=D1" in r.link for r in stage)
    lead.post(f"/api/v1/reports/{rid}/comments", json={"discipline": "D1", "body": f"@{p.oem_eng.email} please confirm the team"})
    assert [r.to_email for r in rows() if r.category == "mention"] == [p.oem_eng.email]
    a = lead.post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Block WIP", "owner_id": p.sup_eng2.id,
                                                          "due_date": (utcnow().date() + dt.timedelta(days=2)).isoformat()}).get_json()
    assigned = [r for r in rows() if r.category == "assignment"]
    assert [r.to_email for r in assigned] == [p.sup_eng2.email] and f"/actions/{a['id']}" in assigned[0].link
    # nobody outside the two companies ever gets a row
    assert not [r for r in rows() if r.to_email in (p.other_eng.email,)]


def test_daily_reminders_are_idempotent(api, parties, app):
    p = parties
    oem = api(p.oem_eng)
    rid = open_report(oem, p)["id"]
    build_team(oem, rid, p)
    lead = api(p.sup_eng)
    today = utcnow().date()
    lead.post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Due soon", "owner_id": p.sup_eng2.id, "due_date": (today + dt.timedelta(days=2)).isoformat()})
    lead.post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Late", "owner_id": p.sup_eng2.id, "due_date": (today - dt.timedelta(days=3)).isoformat()})
    lead.post(f"/api/v1/reports/{rid}/actions", json={"kind": "containment", "title": "Later", "owner_id": p.sup_eng2.id, "due_date": (today + dt.timedelta(days=9)).isoformat()})
    for _ in range(3):
        action_reminders(today)
        db.session.commit()
    reminders = [r for r in rows() if r.category == "reminder"]
    assert sorted(r.event for r in reminders) == ["action.due", "action.overdue"]
