"""Writing e-mails into the outbox, in the caller's transaction.

Nothing here commits or talks to a mail server: a service calls these functions next to its
audit event, the request edge commits once, and only then may a worker deliver. If the
transaction rolls back, the e-mails vanish with it - no mail about a change that never happened.

Who receives a mail is decided here, never by the caller alone: every recipient must be active
and allowed to see the report (`policy.can_view`), appears once, and never gets a mail about
their own change.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from contextlib import contextmanager
from typing import Any

from flask import current_app, render_template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import policy
from app.extensions import db
from app.i18n import language_of
from app.models import MailStatus, NotificationMode, NotificationPreference, OutboxMessage, Report, User, utcnow

CATEGORIES = ("stage", "review", "assignment", "team", "mention", "reminder")
# Mails people cannot switch off: someone waits for them to act.
MANDATORY_CATEGORIES = frozenset({"review", "assignment"})

SUBJECT_MAX = 300
NAME_MAX = 200
LINK_MAX = 500

# Anything that could end a header line or confuse a mail reader: C0/C1 controls, DEL and the
# Unicode line and paragraph separators.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@contextmanager
def mail_locale(user: User | None = None):
    """Mails go to other people than the one whose request caused them: each is written in its
    recipient's language (their choice on the account page), never in the actor's."""
    with language_of(user):
        yield


def in_mail_locale(func):
    """Whatever an event function formats eagerly is in the default language; its subject and
    texts are lazy and take each recipient's language in `enqueue`."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with mail_locale():
            return func(*args, **kwargs)

    return wrapper


def clean_header(value: Any, limit: int = SUBJECT_MAX) -> str:
    """One line of text, safe for a mail header: line breaks and controls become spaces."""
    text = " ".join(_CONTROL.sub(" ", "" if value is None else str(value)).split())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def absolute_link(path_or_url: str | None) -> str | None:
    """Links in mails point at BASE_URL; an absolute http(s) URL is kept as it is."""
    if not path_or_url:
        return None
    value = clean_header(path_or_url, LINK_MAX)
    if re.match(r"^https?://", value, re.I):
        return value
    base = str(current_app.config.get("BASE_URL") or "").rstrip("/")
    return (base + "/" + value.lstrip("/"))[:LINK_MAX]


def report_link(report: Report, discipline: str | None = None) -> str:
    """The report workspace, opened at the exact discipline the mail is about."""
    path = f"/reports/{report.id}"
    if discipline:
        path += f"?d={discipline}"
    return absolute_link(path)


def eligible_recipients(report: Report | None, recipients: Iterable[User | None], exclude: User | None = None) -> list[User]:
    """Active users who may see the report, each once, in the given order, without `exclude`."""
    seen: set[int] = set()
    out: list[User] = []
    for user in recipients:
        if user is None or user.id in seen or not user.email:
            continue
        if exclude is not None and user.id == exclude.id:
            continue
        if not user.active:
            continue
        if report is not None and not policy.can_view(user, report):
            continue
        seen.add(user.id)
        out.append(user)
    return out


def preference_modes(user_ids: list[int], category: str) -> dict[int, NotificationMode]:
    if not user_ids:
        return {}
    rows = db.session.execute(
        select(NotificationPreference.user_id, NotificationPreference.mode).where(
            NotificationPreference.user_id.in_(user_ids), NotificationPreference.category == category
        )
    )
    return {user_id: mode for user_id, mode in rows}


def render_bodies(template: str, context: dict[str, Any], user: User | None = None) -> tuple[str, str]:
    """Text and HTML bodies from templates/email/<template>.txt and .html, in `user`'s language."""
    with mail_locale(user):
        text = render_template(f"email/{template}.txt", **context)
        html = render_template(f"email/{template}.html", **context)
    return text.strip() + "\n", html


def enqueue(
    event: str,
    category: str,
    report: Report | None,
    recipients: Iterable[User | None],
    subject: Any,
    template: str,
    context: dict[str, Any] | None = None,
    link: str | None = None,
    dedupe_key: str | None = None,
    mandatory: bool = False,
    *,
    exclude: User | None = None,
) -> list[OutboxMessage]:
    """Write one outbox row per eligible recipient; returns the rows written.

    Preferences (per user and category): `off` writes nothing unless the mail is mandatory (or its
    category is), `digest` writes a `held` row for the daily digest, `immediate` (the default)
    a `pending` row. A mandatory mail honours `digest` - it still arrives - but not `off`.
    `dedupe_key` makes the mail idempotent per recipient (stored as "<key>:to:<user id>"):
    a second call with the same key writes nothing, which is what daily reminder jobs rely on.
    """
    users = eligible_recipients(report, recipients, exclude)
    if not users:
        return []
    if report is not None and report.id is None:
        db.session.flush()
    mandatory = mandatory or category in MANDATORY_CATEGORIES
    modes = preference_modes([u.id for u in users], category)
    link = absolute_link(link) if link else (report_link(report) if report is not None else absolute_link("/"))
    rows: list[OutboxMessage] = []
    for user in users:
        mode = modes.get(user.id, NotificationMode.immediate)
        if mode == NotificationMode.off and not mandatory:
            continue
        key = f"{dedupe_key}:to:{user.id}"[:200] if dedupe_key else None
        if key and db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)):
            continue
        row = _message(user, event, category, report, subject, template, context, link, mandatory)
        row.status, row.dedupe_key = (MailStatus.held if mode == NotificationMode.digest else MailStatus.pending), key
        if _add(row, unique=bool(key)):
            rows.append(row)
    return rows


def _message(user: User, event: str, category: str, report: Report | None, subject: Any, template: str, context: dict[str, Any] | None,
             link: str, mandatory: bool) -> OutboxMessage:
    """One recipient's mail, written in their language."""
    now = utcnow()
    with mail_locale(user):  # a lazy subject takes the recipient's language
        subject_text = clean_header(subject, SUBJECT_MAX)
    text, html = render_bodies(
        template,
        {**(context or {}), "recipient": user, "report": report, "link": link, "subject": subject_text, "category": category,
         "mandatory": mandatory, "base_url": absolute_link("/"), "settings_link": absolute_link("/account")},
        user,
    )
    return OutboxMessage(
        created_at=now, category=category, event=event, report_id=report.id if report is not None else None, recipient_id=user.id,
        to_email=clean_header(user.email, 254), to_name=clean_header(user.name, NAME_MAX) or None, subject=subject_text,
        body_text=text, body_html=html, link=link, attempts=0, next_attempt_at=now,
    )


def _add(row: OutboxMessage, unique: bool) -> bool:
    """Add the row; with a dedupe key, two workers running the same daily job let exactly one row
    in (the unique key), and the savepoint keeps the caller's transaction usable for the loser."""
    if not unique:
        db.session.add(row)
        return True
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        return False
    return True
