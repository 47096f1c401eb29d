"""The daily digest: everything held for a user (preference `digest`) in one message.

Held rows are folded into the digest row in one transaction and marked sent (claimed_by
"digest:<id>" tells which digest carried them), so a crash either keeps them held or has them
in a digest - never both, never neither. One digest per user and day (dedupe key
"digest:<user id>:<date>"); what arrives after it waits for tomorrow's.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby

from flask_babel import ngettext
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from app import policy
from app.extensions import db
from app.models import MailStatus, OutboxMessage, Report, User, utcnow
from app.notify.enqueue import NAME_MAX, absolute_link, clean_header, mail_locale, render_bodies
from app.notify.periodic import register_daily


def _still_visible(user: User | None, rows: list[OutboxMessage], reports: dict[int, Report | None]) -> list[OutboxMessage]:
    """The held mails the user may still read; the others are marked failed with the reason."""
    visible = []
    for row in rows:
        if row.report_id is not None and row.report_id not in reports:
            reports[row.report_id] = db.session.get(Report, row.report_id)
        report = reports.get(row.report_id) if row.report_id is not None else None
        if user is not None and user.active and (row.report_id is None or (report is not None and policy.can_view(user, report))):
            visible.append(row)
        else:
            row.status = MailStatus.failed
            row.last_error = "recipient deactivated or may no longer see the report; left out of the digest"
    return visible


def build_digests(today: dt.date | None = None) -> int:
    """Write the digests due today in the current transaction (the caller commits); returns how many."""
    today = today or utcnow().date()
    now = utcnow()
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.held, OutboxMessage.recipient_id.is_not(None))
        .order_by(OutboxMessage.recipient_id, OutboxMessage.created_at, OutboxMessage.id)
        .options(lazyload(OutboxMessage.recipient))
    )
    if db.engine.dialect.name == "postgresql":
        # A second worker doing the same waits here, then finds these rows no longer held.
        stmt = stmt.with_for_update()
    held = db.session.scalars(stmt).all()
    written = 0
    reports: dict[int, Report | None] = {}
    for user_id, group in groupby(held, key=lambda r: r.recipient_id):
        rows = list(group)
        key = f"digest:{user_id}:{today.isoformat()}"
        if db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        user = db.session.get(User, user_id)
        visible = _still_visible(user, rows, reports)
        if not visible:
            continue
        n = len(visible)
        with mail_locale(user):
            subject = clean_header(ngettext("[8D Workbench] Your daily digest: %(num)d update", "[8D Workbench] Your daily digest: %(num)d updates", n))
        link = absolute_link("/")
        text, html = render_bodies(
            "digest",
            {
                "recipient": user, "report": None, "link": link, "subject": subject, "category": "digest",
                "mandatory": False, "items": visible, "base_url": link, "settings_link": absolute_link("/account"),
            },
            user,
        )
        digest = OutboxMessage(
            created_at=now, category="digest", event="digest.daily", report_id=None, recipient_id=user.id,
            to_email=clean_header(user.email, 254), to_name=clean_header(user.name, NAME_MAX) or None,
            subject=subject, body_text=text, body_html=html, link=link, status=MailStatus.pending,
            attempts=0, next_attempt_at=now, dedupe_key=key,
        )
        db.session.add(digest)
        db.session.flush()
        for row in visible:
            row.status = MailStatus.sent
            row.sent_at = now
            row.claimed_by = f"digest:{digest.id}"
        written += 1
    return written


def send_digests(app, today: dt.date | None = None) -> int:
    """Build today's digests in their own transaction, commit, and wake the workers."""
    from app.notify.delivery import wake

    with app.app_context():
        try:
            written = build_digests(today)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    if written:
        wake(app)
    return written


def _daily_digest(today: dt.date) -> None:
    from flask import current_app

    from app.notify.delivery import wake

    if build_digests(today):
        # The runner commits right after; a worker woken now may find nothing yet and poll again.
        wake(current_app._get_current_object())


register_daily("digest", _daily_digest)
