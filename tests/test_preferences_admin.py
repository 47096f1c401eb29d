"""Notification preferences per user and the admin's outbox page with resend."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import MailStatus, OutboxMessage
from tests.conftest import csrf_from, login


def test_preferences_can_be_set_but_mandatory_ones_not_switched_off(app, parties, client):
    login(client, parties.sup_eng)
    page = client.get("/account").get_data(as_text=True)
    assert "cannot be switched off" in page
    data = {"csrf_token": csrf_from(page), "mode.stage": "digest", "mode.mention": "off", "mode.review": "immediate"}
    assert client.post("/account", data=data).status_code == 302
    from app.services.preferences import preferences

    assert preferences(parties.sup_eng)["stage"] == "digest" and preferences(parties.sup_eng)["mention"] == "off"
    bad = client.post("/account", data={**data, "mode.review": "off"})
    assert bad.status_code == 422
    assert preferences(parties.sup_eng)["review"] == "immediate"


def test_admin_sees_the_outbox_and_can_resend_a_failed_message(app, parties, client):
    """Of their own company's people: a mail to another company's user is not theirs to see."""
    row = OutboxMessage(category="stage", event="stage.advanced", to_email=parties.oem_eng.email, recipient_id=parties.oem_eng.id, subject="Test",
                        body_text="x", status=MailStatus.failed, attempts=8, last_error="550 mailbox unavailable")
    db.session.add(row)
    db.session.commit()
    login(client, parties.admin)
    page = client.get("/admin/notifications?status=failed").get_data(as_text=True)
    assert "550 mailbox unavailable" in page
    assert client.post(f"/admin/notifications/{row.id}/resend", data={"csrf_token": csrf_from(page)}).status_code == 302
    db.session.expire_all()
    again = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == row.id))
    assert again.status == MailStatus.pending and again.attempts == 0
    other = app.test_client()
    login(other, parties.oem_lead)
    assert other.get("/admin/notifications").status_code == 403
