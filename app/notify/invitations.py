"""The invitation mail: to an address, not to an account (the invitee has none yet)."""

from __future__ import annotations

from types import SimpleNamespace

from app.extensions import db
from app.models import Invitation, MailStatus, OutboxMessage, User, utcnow
from app.notify.enqueue import NAME_MAX, SUBJECT_MAX, absolute_link, clean_header, in_mail_locale, render_bodies


@in_mail_locale
def invitation_mail(inv: Invitation, actor: User, path: str) -> OutboxMessage:
    report = inv.report
    subject = clean_header(f"{actor.name} invites you to 8D report {report.number}", SUBJECT_MAX)
    link = absolute_link(path)
    text, html = render_bodies("invitation", {
        "recipient": SimpleNamespace(name=inv.name, email=inv.email), "report": report, "link": link, "subject": subject,
        "category": "account", "mandatory": True, "base_url": absolute_link("/"), "settings_link": absolute_link("/account"),
        "actor_name": actor.name, "actor_company": actor.company.name, "company": inv.company.name, "role": inv.role.value,
        "days": (inv.expires_at - inv.created_at).days,
    })
    now = utcnow()
    row = OutboxMessage(created_at=now, category="account", event="invitation.created", report_id=report.id, recipient_id=None,
                        to_email=clean_header(inv.email, 254), to_name=clean_header(inv.name, NAME_MAX) or None, subject=subject,
                        body_text=text, body_html=html, link=link, status=MailStatus.pending, attempts=0, next_attempt_at=now)
    db.session.add(row)
    return row
