"""E-mail notifications that are never lost: outbox rows written in the caller's transaction,
delivered to a real SMTP server (aiosmtpd on 127.0.0.1) by workers that retry, survive crashes
and never send one row twice."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import socket
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import delete, func, select, update

from app import notify
from app.extensions import db as _db
from app.models import MailStatus, NotificationMode, NotificationPreference, OutboxMessage, Status, utcnow
from app.notify import delivery
from app.notify.cli import worker_command
from app.services import reports, team

_MISSING = object()


# ------------------------------------------------------------------------------ fixtures
@pytest.fixture
def configure(app):
    """Set app.config values for one test; the session-scoped app gets them back afterwards."""
    saved: dict = {}

    def set_(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key, _MISSING))
            app.config[key] = value

    yield set_
    for key, value in saved.items():
        if value is _MISSING:
            app.config.pop(key, None)
        else:
            app.config[key] = value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Collector:
    """aiosmtpd handler: keeps every envelope it accepted."""

    def __init__(self):
        self.envelopes = []
        self.lock = threading.Lock()
        self.refuse: dict[str, str] = {}  # address -> SMTP answer to RCPT TO

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int, **smtp_options):
        self.port = port
        self.handler = Collector()
        self.controller: Controller | None = None
        self.smtp_options = smtp_options

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port, **self.smtp_options)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def envelopes(self):
        with self.handler.lock:
            return list(self.handler.envelopes)

    @staticmethod
    def parse(envelope) -> email.message.EmailMessage:
        return email.message_from_bytes(envelope.content, policy=email.policy.default)

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [self.parse(e) for e in self.envelopes]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [self.parse(e) for e in self.envelopes if address in e.rcpt_tos]

    def recipients(self) -> list[str]:
        return sorted(r for e in self.envelopes for r in e.rcpt_tos)

    def wait_for(self, count: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.envelopes) < count and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture
def smtp(configure):
    server = SmtpServer(_free_port())
    server.start()
    configure(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none", SMTP_USERNAME="", SMTP_PASSWORD="",
              MAIL_FROM="8D Workbench <noreply@8d.example>", BASE_URL="https://8d.example")
    yield server
    server.stop()


@pytest.fixture
def report(db, parties):
    """A report opened by the OEM engineer (champion) with the supplier's engineers and an OEM viewer."""
    p = parties
    r = reports.create_report(p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    team.add_member(p.oem_eng, r, p.sup_eng.id, "leader")
    team.add_member(p.oem_eng, r, p.sup_eng2.id, "member")
    team.add_member(p.oem_eng, r, p.oem_viewer.id, "viewer")
    db.session.commit()
    # building the team sent "added to the team" mails; each test starts from an empty outbox
    db.session.execute(delete(OutboxMessage))
    db.session.commit()
    return r


def deliver(app, **kw) -> int:
    """What the worker does after the web request committed: the test's own transaction ends first
    (a test holding SQLite's write lock would make the worker wait)."""
    _db.session.commit()
    return notify.deliver_due(app, **kw)


def digests(app, today=None) -> int:
    _db.session.commit()
    return notify.send_digests(app, today=today)


def rows(**where) -> list[OutboxMessage]:
    _db.session.expire_all()
    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(OutboxMessage, key) == value)
    return list(_db.session.scalars(stmt))


def emails_of(outbox) -> list[str]:
    return sorted(r.to_email for r in outbox)


def make_due(**where) -> None:
    """Time passes: every waiting row's next attempt is now."""
    stmt = update(OutboxMessage).where(OutboxMessage.status == MailStatus.pending).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1))
    _db.session.execute(stmt)
    _db.session.commit()


# ------------------------------------------------------------------ who gets what
def test_stage_change_mail_reaches_the_team_of_both_companies_never_the_actor(app, smtp, parties, report):
    p = parties
    report.stage = "D1"
    notify.stage_advanced(report, p.sup_eng, "D0", "D1", comment="Team complete")
    assert deliver(app) == 3
    assert smtp.recipients() == sorted([p.oem_eng.email, p.sup_eng2.email, p.oem_viewer.email])
    # not the actor, nobody off the team, never the other supplier
    for outsider in (p.sup_eng, p.oem_eng2, p.oem_lead, p.sup_lead, p.other_eng, p.admin):
        assert smtp.to(outsider.email) == []
    (mail,) = smtp.to(p.sup_eng2.email)
    assert mail["Subject"] == f"[{report.number}] D0 completed - the team now works on D1 Team"
    assert mail["From"] == "8D Workbench <noreply@8d.example>"
    assert mail["To"].addresses[0].addr_spec == p.sup_eng2.email and mail["To"].addresses[0].display_name == p.sup_eng2.name
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    link = f"https://8d.example/reports/{report.id}?d=D1"
    assert link in text and f'href="{link}"' in html and "Team complete" in text
    assert f"Hello {p.sup_eng2.name}" in text and p.sup_eng.name in text
    row = rows(to_email=p.sup_eng2.email)[0]
    assert mail["Message-ID"] == row.message_id and row.status == MailStatus.sent and row.sent_at is not None
    assert row.link == link and row.category == "stage" and row.event == "stage.advanced"
    assert mail["Date"] and mail["Auto-Submitted"] == "auto-generated"


def test_review_request_goes_to_the_team_and_the_oems_quality_leads_only(app, smtp, db, parties, report, make_user):
    p = parties
    retired_lead = make_user("quality_lead", p.oem, "Retired Lead")
    retired_lead.active = False
    db.session.commit()
    report.stage, report.status = "D3", Status.in_review
    notify.review_requested(report, p.sup_eng, comment="Please review D3")
    assert deliver(app) == 4
    assert smtp.recipients() == sorted([p.oem_lead.email, p.oem_eng.email, p.sup_eng2.email, p.oem_viewer.email])
    (to_lead,) = smtp.to(p.oem_lead.email)
    assert to_lead["Subject"] == f"[{report.number}] D3 submitted for your review"
    assert f"/reports/{report.id}?d=D3" in to_lead.get_body(("plain",)).get_content()
    (to_team,) = smtp.to(p.sup_eng2.email)
    assert to_team["Subject"] == f"[{report.number}] D3 submitted to the customer for review"
    # the supplier's quality lead does not review (and is not on the team); nor does a deactivated lead
    assert smtp.to(p.sup_lead.email) == [] and smtp.to(retired_lead.email) == [] and smtp.to(p.sup_eng.email) == []
    assert {r.category for r in rows(to_email=p.oem_lead.email)} == {"review"}


def test_a_quality_lead_on_the_team_gets_one_mail_the_reviewers(app, db, parties, report):
    p = parties
    team.add_member(p.sup_eng, report, p.oem_lead.id, "member")
    report.stage = "D3"
    written = notify.review_requested(report, p.sup_eng)
    to_lead = [r for r in written if r.to_email == p.oem_lead.email]
    assert len(to_lead) == 1 and "for your review" in to_lead[0].subject


def test_nobody_who_may_not_see_the_report_is_ever_a_recipient(app, db, parties, report, make_user):
    p = parties
    leaver = make_user("engineer", p.supplier, "Leaving Engineer")
    team.add_member(p.oem_eng, report, leaver.id, "member")
    leaver.active = False
    db.session.commit()
    written = notify.mentioned(report, p.oem_eng, [p.other_eng, p.sup_eng2, p.sup_eng2, p.oem_eng, leaver, None, p.oem_eng2],
                               "D4", "@lukas please check the weld data")
    # the other supplier (cannot see it), the duplicate, the actor and the deactivated user are gone;
    # an OEM engineer off the team may see the report, so a mention reaches him
    assert emails_of(written) == sorted([p.sup_eng2.email, p.oem_eng2.email])
    assert all(r.link.endswith(f"/reports/{report.id}?d=D4") for r in written)
    report.stage = "D1"
    written = notify.stage_advanced(report, p.oem_eng, "D0", "D1")
    assert leaver.email not in emails_of(written)


def test_events_raised_inside_a_request_render_the_same_mail(app, db, parties, report):
    """Services run inside requests (the actor's browser may ask for German): mails are the same."""
    with app.test_request_context("/api/v1/reports", method="POST", headers={"Accept-Language": "de"}):
        written = notify.stage_advanced(report, parties.sup_eng, "D0", "D1")
    assert len(written) == 3 and all(r.body_html.startswith("<!doctype html>") for r in written)
    assert written[0].subject == f"[{report.number}] D0 completed - the team now works on D1 Team"


def test_rows_are_written_in_the_callers_transaction_and_never_committed(app, db, parties, report):
    notify.stage_advanced(report, parties.sup_eng, "D0", "D1")
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 3
    db.session.rollback()  # the change failed: its mails never existed
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_every_event_writes_the_right_mail_with_links_to_the_exact_place(app, db, parties, report, configure):
    configure(BASE_URL="https://8d.example/")
    p = parties
    n = report.number
    link = f"https://8d.example/reports/{report.id}"

    report.stage, report.status = "D4", Status.open
    report.reviews  # noqa: B018 - loaded; no decided review yet: the current stage is used
    approved = notify.review_decided(report, p.oem_lead, "approve", "Fine", stage="D3")
    assert emails_of(approved) == sorted([p.oem_eng.email, p.sup_eng.email, p.sup_eng2.email, p.oem_viewer.email])
    assert approved[0].subject.startswith(f"[{n}] D3 approved by the customer - next: D4")
    assert approved[0].category == "review" and approved[0].link == f"{link}?d=D4"

    report.stage = "D3"
    rejected = notify.review_decided(report, p.oem_lead, "reject", "Ledger for in-transit stock missing", stage="D3")
    assert rejected[0].subject == f"[{n}] D3 rejected by the customer - rework from D3"
    assert "Ledger for in-transit stock missing" in rejected[0].body_text and rejected[0].event == "review.rejected"

    report.stage, report.status, report.closed_at = "D8", Status.closed, utcnow()
    closed = notify.review_decided(report, p.oem_lead, "approve", None, stage="D8")
    assert {r.event for r in closed} == {"report.closed"} and closed[0].subject == f"[{n}] Closed - closure signed by {p.oem_lead.name}"
    assert p.oem_lead.email not in emails_of(closed)

    report.stage, report.status, report.revision = "D4", Status.open, 1
    reopened = notify.report_reopened(report, p.oem_lead, "Field returns continue")
    assert reopened[0].subject == f"[{n}] Reopened at D4 (revision 1)" and reopened[0].link == f"{link}?d=D4"

    returned = notify.report_returned(report, p.sup_eng, "D2", "Wrong part number in D2", old="D4")
    assert returned[0].subject.startswith(f"[{n}] Sent back to D2") and returned[0].link == f"{link}?d=D2"
    assert p.sup_eng.email not in emails_of(returned) and "Wrong part number in D2" in returned[0].body_text

    added = notify.team_added(report, p.sup_eng, p.sup_lead)
    assert emails_of(added) == [p.sup_lead.email] and added[0].category == "team"
    assert added[0].subject == f"[{n}] You were added to the 8D team as member"
    assert notify.team_added(report, p.sup_eng, p.sup_eng) == []  # nobody is told what they did themselves

    assigned = notify.action_assigned(report, p.oem_eng, p.sup_eng2, "Sort stock at the hub", due_date=dt.date(2026, 12, 1))
    assert assigned[0].subject == f"[{n}] Action assigned to you: Sort stock at the hub"
    assert assigned[0].link == "https://8d.example/actions/mine" and "2026-12-01" in assigned[0].body_text
    assert assigned[0].category == "assignment"

    today = dt.date(2026, 11, 25)
    due = notify.action_due(report, p.sup_eng2, 42, "Sort stock at the hub", dt.date(2026, 11, 26), today=today)
    assert due[0].dedupe_key == f"due:42:2026-11-25:to:{p.sup_eng2.id}" and due[0].category == "reminder"
    # the reminder job runs again (another worker, a restart): still one reminder that day ...
    assert notify.action_due(report, p.sup_eng2, 42, "Sort stock at the hub", dt.date(2026, 11, 26), today=today) == []
    db.session.commit()
    assert notify.action_due(report, p.sup_eng2, 42, "Sort stock at the hub", dt.date(2026, 11, 26), today=today) == []
    # ... and one the next day
    assert len(notify.action_due(report, p.sup_eng2, 42, "Sort stock at the hub", "2026-11-26", today=today + dt.timedelta(days=1))) == 1
    overdue = notify.action_overdue(report, p.sup_eng2, 42, "Sort stock at the hub", dt.date(2026, 11, 26), today=dt.date(2026, 11, 27))
    assert overdue[0].subject == f"[{n}] Action overdue since 2026-11-26: Sort stock at the hub"
    db.session.commit()
    assert all(r.status == MailStatus.pending and r.body_html and r.body_text for r in rows())


def test_review_decided_finds_the_reviewed_stage_itself(app, db, parties, report):
    from app.models import Review

    p = parties
    report.reviews.append(Review(report_id=report.id, stage="D5", decided_at=utcnow(), decision="approve"))
    report.stage = "D6"
    (first, *_) = notify.review_decided(report, p.oem_lead, "approve", None)
    assert first.subject.startswith(f"[{report.number}] D5 approved by the customer - next: D6")


# --------------------------------------------------------------------------- preferences
def _prefer(db, user, category, mode):
    db.session.add(NotificationPreference(user_id=user.id, category=category, mode=NotificationMode(mode)))
    db.session.commit()


def test_preferences_off_digest_and_immediate(app, db, parties, report):
    p = parties
    _prefer(db, p.oem_eng, "stage", "off")
    _prefer(db, p.sup_eng2, "stage", "digest")
    _prefer(db, p.oem_viewer, "mention", "off")  # another category: stage mails still come at once
    written = notify.stage_advanced(report, p.sup_eng, "D0", "D1")
    by_email = {r.to_email: r.status for r in written}
    assert by_email == {p.sup_eng2.email: MailStatus.held, p.oem_viewer.email: MailStatus.pending}


def test_mandatory_mails_cannot_be_switched_off_but_may_come_as_digest(app, db, parties, report):
    p = parties
    _prefer(db, p.oem_lead, "review", "off")
    _prefer(db, p.sup_eng2, "assignment", "off")
    _prefer(db, p.sup_eng, "assignment", "digest")
    report.stage = "D3"
    (to_lead,) = [r for r in notify.review_requested(report, p.oem_eng) if r.to_email == p.oem_lead.email]
    assert to_lead.status == MailStatus.pending
    assert notify.action_assigned(report, p.oem_eng, p.sup_eng2, "Sort stock")[0].status == MailStatus.pending
    assert notify.action_assigned(report, p.oem_eng, p.sup_eng, "Sort stock")[0].status == MailStatus.held


def test_held_mail_arrives_as_one_daily_digest(app, smtp, db, parties, report):
    p = parties
    _prefer(db, p.sup_eng2, "stage", "digest")
    _prefer(db, p.sup_eng2, "mention", "digest")
    notify.stage_advanced(report, p.sup_eng, "D0", "D1")
    notify.mentioned(report, p.oem_eng, [p.sup_eng2], "D2", "@mia see the photos")
    db.session.commit()
    assert deliver(app) == 2  # oem_eng and oem_viewer get the stage mail at once
    assert smtp.to(p.sup_eng2.email) == []
    assert digests(app, today=dt.date(2026, 11, 25)) == 1
    assert deliver(app) == 1
    (digest,) = smtp.to(p.sup_eng2.email)
    assert digest["Subject"] == "[8D Workbench] Your daily digest: 2 updates"
    text = digest.get_body(("plain",)).get_content()
    assert f"[{report.number}] D0 completed" in text and f"{p.oem_eng.name} mentioned you in D2" in text
    assert f"/reports/{report.id}?d=D2" in text
    held = rows(recipient_id=p.sup_eng2.id, category="stage") + rows(recipient_id=p.sup_eng2.id, category="mention")
    assert {r.status for r in held} == {MailStatus.sent} and all(r.claimed_by.startswith("digest:") for r in held)
    # once a day: what arrives later waits for tomorrow's digest
    notify.mentioned(report, p.oem_eng, [p.sup_eng2], "D3", "@mia one more")
    db.session.commit()
    assert digests(app, today=dt.date(2026, 11, 25)) == 0
    assert digests(app, today=dt.date(2026, 11, 26)) == 1


def test_digest_leaves_out_what_the_recipient_may_no_longer_see(app, db, parties, report):
    p = parties
    _prefer(db, p.sup_eng2, "stage", "digest")
    notify.stage_advanced(report, p.sup_eng, "D0", "D1")
    p.sup_eng2.active = False
    db.session.commit()
    assert digests(app) == 0
    assert rows(recipient_id=p.sup_eng2.id)[0].status == MailStatus.failed


# ------------------------------------------------------------------------ reliability
def test_while_the_server_is_down_rows_wait_with_backoff_then_arrive_exactly_once(app, smtp, db, parties, report):
    p = parties
    smtp.stop()
    notify.stage_advanced(report, p.sup_eng, "D0", "D1")
    notify.action_assigned(report, p.oem_eng, p.sup_eng2, "Sort stock")
    before = utcnow()
    assert deliver(app) == 0
    waiting = rows()
    assert len(waiting) == 4 and {r.status for r in waiting} == {MailStatus.pending}
    assert {r.attempts for r in waiting} == {1} and all("unavailable" in r.last_error for r in waiting)
    assert all(dt.timedelta(seconds=29) < r.next_attempt_at - before < dt.timedelta(seconds=32) for r in waiting)
    assert deliver(app) == 0 and {r.attempts for r in rows()} == {1}  # not due yet: nobody hammers the server

    make_due()
    before = utcnow()
    assert deliver(app) == 0
    assert {r.attempts for r in rows()} == {2}
    assert all(dt.timedelta(seconds=59) < r.next_attempt_at - before < dt.timedelta(seconds=62) for r in rows())

    smtp.start()
    assert deliver(app) == 0  # still backing off
    make_due()
    assert deliver(app) == 4
    make_due()
    assert deliver(app) == 0
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == 4 and len(set(ids)) == 4
    assert sorted(ids) == sorted(r.message_id for r in rows())
    assert {r.status for r in rows()} == {MailStatus.sent}


def test_backoff_doubles_up_to_an_hour_and_gives_up_after_max_attempts(app, smtp, db, parties, report, configure):
    from app.notify.delivery import backoff_delay

    assert [backoff_delay(app, a).total_seconds() for a in range(9)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    configure(NOTIFY_MAX_ATTEMPTS=3)
    smtp.stop()
    notify.action_assigned(report, parties.oem_eng, parties.sup_eng2, "Sort stock")
    for attempt in (1, 2, 3):
        make_due()
        deliver(app)
        (row,) = rows()
        assert row.attempts == attempt
    assert row.status == MailStatus.failed and row.last_error
    smtp.start()
    make_due()
    assert deliver(app) == 0 and smtp.envelopes == []


class Killed(BaseException):
    """The process dies: nothing after this line runs, no except clause catches it."""


def test_a_worker_killed_between_sending_and_marking_causes_at_most_one_duplicate(app, smtp, db, parties, report, monkeypatch):
    p = parties
    notify.action_assigned(report, p.oem_eng, p.sup_eng2, "Sort stock")
    real_mark_sent = delivery.mark_sent

    def die(*args, **kwargs):
        raise Killed

    monkeypatch.setattr(delivery, "mark_sent", die)
    _db.session.commit()
    with pytest.raises(Killed):
        notify.deliver_due(app)
    monkeypatch.setattr(delivery, "mark_sent", real_mark_sent)
    assert len(smtp.envelopes) == 1
    (row,) = rows()
    assert row.status == MailStatus.sending and row.claimed_by

    # another worker right away: the claim is still fresh, so it does not send again
    assert deliver(app) == 0 and len(smtp.envelopes) == 1
    # after the claim timeout the row is taken again: the one duplicate, with the same Message-ID
    db.session.execute(update(OutboxMessage).values(claimed_at=utcnow() - dt.timedelta(minutes=11)))
    assert deliver(app) == 1
    assert deliver(app) == 0
    ids = [m["Message-ID"] for m in smtp.messages]
    assert ids == [row.message_id, row.message_id]
    (row,) = rows()
    assert row.status == MailStatus.sent and row.attempts == 1  # the lost claim counts as an attempt


def test_a_database_restart_after_sending_does_not_cause_a_duplicate(app, smtp, db, parties, report, monkeypatch):
    """The mail server accepted the message, then the database went away for a moment (a restart):
    the worker records the row as sent once the database answers again, instead of leaving it
    `sending` to be delivered a second time after the claim timeout."""
    from sqlalchemy.exc import OperationalError

    p = parties
    notify.action_assigned(report, p.oem_eng, p.sup_eng2, "Sort stock")
    real_mark_sent = delivery.mark_sent
    calls = {"n": 0}

    def database_restarting(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise OperationalError("UPDATE outbox_messages ...", {}, Exception("terminating connection due to administrator command"))
        return real_mark_sent(*args, **kwargs)

    monkeypatch.setattr(delivery, "mark_sent", database_restarting)
    assert deliver(app) == 1
    assert calls["n"] == 3 and len(smtp.envelopes) == 1
    (row,) = rows()
    assert row.status == MailStatus.sent
    db.session.execute(update(OutboxMessage).values(claimed_at=utcnow() - dt.timedelta(minutes=11)))
    assert deliver(app) == 0 and len(smtp.envelopes) == 1


def test_a_recipient_refused_for_good_fails_at_once_a_temporary_refusal_is_retried(app, smtp, db, parties, report):
    p = parties
    smtp.handler.refuse = {p.oem_eng.email: "550 5.1.1 No such user", p.oem_viewer.email: "451 4.3.0 Try again later"}
    notify.stage_advanced(report, p.sup_eng, "D0", "D1")
    assert deliver(app) == 1  # the batch goes on past the refusals
    assert smtp.recipients() == [p.sup_eng2.email]
    status = {r.to_email: (r.status, r.attempts) for r in rows()}
    assert status == {p.oem_eng.email: (MailStatus.failed, 1), p.oem_viewer.email: (MailStatus.pending, 1), p.sup_eng2.email: (MailStatus.sent, 0)}
    assert "550" in rows(to_email=p.oem_eng.email)[0].last_error
    smtp.handler.refuse = {}
    make_due()
    assert deliver(app) == 1 and smtp.recipients() == sorted([p.sup_eng2.email, p.oem_viewer.email])


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_login_and_a_broken_mail_from_are_retried_not_lost(app, db, parties, report, configure):
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and auth_data.login == b"mailer" and auth_data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    server = SmtpServer(_free_port(), authenticator=authenticator, auth_require_tls=False, auth_required=True)
    server.start()
    try:
        configure(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port, SMTP_SECURITY="none", SMTP_USERNAME="mailer", SMTP_PASSWORD="wrong")
        notify.action_assigned(report, parties.oem_eng, parties.sup_eng2, "Sort stock")
        assert deliver(app) == 0
        (row,) = rows()
        assert row.status == MailStatus.pending and row.attempts == 1 and "unavailable" in row.last_error
        configure(SMTP_PASSWORD="s3cret", MAIL_FROM="8D Workbench <noreply@8d.example>\r\nBcc: x@evil.example")
        make_due()
        assert deliver(app) == 1
        (envelope,) = server.envelopes
        assert envelope.rcpt_tos == [parties.sup_eng2.email] and envelope.mail_from == "noreply@8d.example"
        assert server.parse(envelope)["Bcc"] is None
    finally:
        server.stop()


def test_a_slow_worker_that_lost_its_claim_cannot_overwrite_the_new_owner(app, db, parties, report):
    from app.notify.delivery import Outgoing, claim, mark_failed

    notify.action_assigned(report, parties.oem_eng, parties.sup_eng2, "Sort stock")
    db.session.commit()
    (row_id,) = claim(10, "worker-a")
    db.session.commit()
    # worker-a stalled; its claim expired and worker-b took the row over (still being sent)
    db.session.execute(update(OutboxMessage).values(claimed_by="worker-b"))
    db.session.commit()
    row = rows()[0]
    item = Outgoing(row.id, 0, row.to_email, row.to_name, row.subject, row.body_text, row.body_html, row.message_id, row.created_at)
    mark_failed(app, item, "worker-a", "late failure")
    db.session.commit()
    after = rows()[0]
    assert (after.status, after.claimed_by, after.attempts, after.last_error) == (MailStatus.sending, "worker-b", 0, None)


@pytest.mark.parametrize("workers", [4])
def test_concurrent_workers_never_send_one_row_twice(app, smtp, db, parties, report, workers):
    """Several workers (threads with their own app context and session; on PostgreSQL they claim
    with FOR UPDATE SKIP LOCKED, on SQLite with an atomic UPDATE) share one outbox."""
    p = parties
    for i in range(30):
        notify.mentioned(report, p.oem_eng, [p.sup_eng, p.sup_eng2, p.oem_viewer], "D4", f"note {i}")
    _db.session.commit()
    total = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    assert total == 90
    _db.session.commit()  # the workers are other sessions: the test holds no lock meanwhile
    barrier = threading.Barrier(workers)
    sent_by: dict[int, int] = {}
    largest_claim = {"n": 0}
    errors: list[BaseException] = []

    def work(n: int):
        try:
            barrier.wait()
            count = 0
            while True:
                result = delivery.deliver_batch(app, batch=5, worker_id=f"w{n}")
                count += result.sent
                largest_claim["n"] = max(largest_claim["n"], result.claimed)
                if result.claimed == 0:
                    break
            sent_by[n] = count
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert sum(sent_by.values()) == total
    assert sum(1 for c in sent_by.values() if c) >= 2, sent_by  # they really shared the work
    assert largest_claim["n"] == 5  # nobody claims more than its batch
    ids = [m["Message-ID"] for m in smtp.messages]
    assert len(ids) == total and len(set(ids)) == total
    assert {r.status for r in rows()} == {MailStatus.sent}


def test_cr_lf_in_names_and_subjects_cannot_inject_headers(app, smtp, db, parties, report, make_user):
    p = parties
    evil = make_user("engineer", p.oem, "Eve\r\nBcc: spy@evil.example", email="eve@volta.example")
    victim = make_user("engineer", p.supplier, "Vic\nX-Injected: yes\r\n\r\nbody", email="vic@celltech.example")
    team.add_member(p.oem_eng, report, evil.id, "member")
    team.add_member(p.oem_eng, report, victim.id, "member")
    db.session.commit()
    assert deliver(app) == 2  # each new member is told they joined the team
    with smtp.handler.lock:
        smtp.handler.envelopes.clear()
    notify.mentioned(report, evil, [victim], "D2", "hello\r\nBcc: spy@evil.example")
    notify.action_assigned(report, evil, victim, "Sort\r\nBcc: spy@evil.example\r\nSubject: pwned", due_date="2026-12-01")
    # a row written by something else, with raw line breaks in subject and name, is still safe
    _db.session.add(OutboxMessage(category="stage", event="test", report_id=report.id, recipient_id=victim.id, to_email=victim.email,
                                  to_name="A\r\nBcc: spy@evil.example", subject="Hi\r\nBcc: spy@evil.example", body_text="x"))
    assert deliver(app) == 3
    for envelope in smtp.envelopes:
        mail = smtp.parse(envelope)
        assert envelope.rcpt_tos == ["vic@celltech.example"]
        headers = envelope.content.split(b"\r\n\r\n", 1)[0]
        assert b"\nBcc:" not in headers and b"\nX-Injected" not in headers and b"\nSubject: pwned" not in headers
        assert mail["Bcc"] is None and mail["X-Injected"] is None
        assert len(mail.get_all("Subject")) == 1 and "\n" not in mail["Subject"] and "\r" not in mail["Subject"]
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert f"[{report.number}] Eve Bcc: spy@evil.example mentioned you in D2" in subjects
    assert f"[{report.number}] Action assigned to you: Sort Bcc: spy@evil.example Subject: pwned" in subjects
    assert all(m["To"].addresses[0].addr_spec == "vic@celltech.example" for m in smtp.messages)


def test_without_smtp_host_messages_are_written_as_eml_files(app, db, parties, report, configure, tmp_path):
    configure(SMTP_HOST="", NOTIFY_MAIL_DIR=str(tmp_path / "mail"))
    notify.stage_advanced(report, parties.sup_eng, "D0", "D1")
    assert deliver(app) == 3
    files = sorted((tmp_path / "mail").glob("*.eml"))
    sent = rows()
    assert [f.name for f in files] == [f"outbox-{r.id:08d}.eml" for r in sent]
    mail = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert mail["Message-ID"] == sent[0].message_id and mail["To"].addresses[0].addr_spec == sent[0].to_email
    assert {r.status for r in sent} == {MailStatus.sent}
    assert not list((tmp_path / "mail").glob("*.tmp-*"))


def test_default_mail_directory_is_under_the_instance_folder(app, configure):
    from app.notify.settings import mail_dir

    configure(NOTIFY_MAIL_DIR="")
    assert mail_dir(app) == Path(app.instance_path) / "mail"


def test_a_recipient_deactivated_before_delivery_gets_nothing(app, smtp, db, parties, report):
    notify.action_assigned(report, parties.oem_eng, parties.sup_eng2, "Sort stock")
    parties.sup_eng2.active = False
    assert deliver(app) == 0
    assert smtp.envelopes == [] and rows()[0].status == MailStatus.failed


# ------------------------------------------------------------------------ the worker loop
def test_background_worker_delivers_when_woken_and_runs_daily_jobs_once(app, smtp, db, parties, report, configure):
    configure(NOTIFY_DAILY_HOUR=0)
    calls = []
    notify.register_daily("test-reminders", lambda today: calls.append(today))
    _db.session.commit()
    handle = notify.start_background_worker(app, poll_seconds=30)
    try:
        assert notify.start_background_worker(app) is handle
        deadline = time.monotonic() + 10
        while not calls and time.monotonic() < deadline:
            time.sleep(0.02)
        started = time.monotonic()
        notify.stage_advanced(report, parties.sup_eng, "D0", "D1")
        _db.session.commit()
        notify.wake()  # what the web app does after its commit
        smtp.wait_for(3)
        assert len(smtp.envelopes) == 3 and time.monotonic() - started < 5  # woken, not polled (30 s)
        notify.wake()
        time.sleep(0.2)
        assert calls == [utcnow().date()]  # once a day, not once a round
    finally:
        handle.stop()
        notify.unregister_daily("test-reminders")
        app.extensions.pop("notify_worker", None)
    assert not handle.alive


def test_wake_and_wait_survive_an_unreachable_redis(app, configure):
    from app.notify.delivery import _redis_clients, wait_for_wake

    configure(REDIS_URL="redis://127.0.0.1:1/0")
    try:
        notify.wake(app)  # never raises: a lost wake-up costs one poll interval
        started = time.monotonic()
        wait_for_wake(app, 0.2)
        assert time.monotonic() - started < 5
    finally:
        _redis_clients.pop("redis://127.0.0.1:1/0", None)


def test_daily_jobs_run_after_their_hour_once_a_day_and_retry_after_failure(app, configure):
    from app.notify.periodic import run_due_jobs

    configure(NOTIFY_DAILY_HOUR=6)
    calls = []
    failing = {"n": 0}

    def flaky(today):
        failing["n"] += 1
        if failing["n"] == 1:
            raise RuntimeError("database away")

    notify.register_daily("test-job", lambda today: calls.append(today))
    notify.register_daily("test-flaky", flaky)
    try:
        memory: dict = {}
        at = lambda h, m=0, d=25: dt.datetime(2026, 11, d, h, m)  # noqa: E731
        assert "test-job" not in run_due_jobs(app, memory, now=at(5, 59))  # not before its hour
        ran = run_due_jobs(app, memory, now=at(6))
        assert "test-job" in ran and "test-flaky" not in ran
        assert run_due_jobs(app, memory, now=at(6, 5)) == []  # no retry storm
        assert run_due_jobs(app, memory, now=at(6, 20)) == ["test-flaky"]  # retried later
        assert run_due_jobs(app, memory, now=at(23)) == []
        assert "test-job" in run_due_jobs(app, memory, now=at(7, d=26))
        assert calls == [dt.date(2026, 11, 25), dt.date(2026, 11, 26)]
    finally:
        notify.unregister_daily("test-job")
        notify.unregister_daily("test-flaky")


def test_flask_worker_once_delivers_what_is_due(app, smtp, db, parties, report):
    notify.stage_advanced(report, parties.sup_eng, "D0", "D1")
    _db.session.commit()
    result = app.test_cli_runner().invoke(worker_command, ["--once"])
    assert result.exit_code == 0, result.output
    assert "Delivered 3 message(s)." in result.output
    assert len(smtp.envelopes) == 3


def test_register_adds_the_worker_command():
    from flask import Flask

    bare = Flask("bare")
    notify.register(bare)
    assert "worker" in bare.cli.commands
