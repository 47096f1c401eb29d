"""One function per event that e-mails people. Services call them next to their audit event,
in the same transaction; they only write outbox rows (see enqueue.py).

Who hears of what (docs/api.md): stage changes go to the report's team of both companies, review
requests also to the OEM's quality leads, and never to the person who made the change. The
webhooks of the report's companies hear of stage changes, review requests and decisions, closure
and overdue actions (webhooks.py), written in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import method, policy
from app.extensions import db
from app.models import OutboxMessage, Report, Role, Status, User, utcnow
from app.notify import webhooks
from app.notify.enqueue import absolute_link, clean_header, enqueue, in_mail_locale, report_link

EXCERPT_MAX = 500


def _title(code: str | None):
    """The discipline's title, lazy: it is read in each recipient's language."""
    if not code or code not in method.BY_CODE:
        return code or ""
    return method.BY_CODE[code].title


def _prefix(report: Report) -> str:
    return f"[{report.number}]"


def _excerpt(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= EXCERPT_MAX else text[: EXCERPT_MAX - 1].rstrip() + "…"


def _base(actor: User | None, **extra) -> dict:
    return {"actor": actor, "actor_name": actor.name if actor is not None else "8D Workbench", **extra}


ROLE_NAMES = {
    "leader": _l("team leader"),
    "champion": _l("champion"),
    "member": _l("member"),
    "engineer": _l("engineer"),
    "viewer": _l("viewer"),
}


KIND_NAMES = {c.value: c.label for c in method.definition.ACTION_KINDS}


def oem_quality_leads(report: Report) -> list[User]:
    """Active quality leads of the report's customer: the people who review and sign."""
    return list(
        db.session.scalars(
            select(User).where(User.company_id == report.oem_id, User.role == Role.quality_lead, User.active.is_(True)).order_by(User.id)
        )
    )


def team_of(report: Report, actor: User | None) -> list[User]:
    return policy.team_recipients(report, exclude=actor)


# ------------------------------------------------------------------------------------ stages
@in_mail_locale
def stage_advanced(report: Report, actor: User, old: str, new: str, comment: str | None = None) -> list[OutboxMessage]:
    webhooks.stage_changed(report, actor, old, new, "advanced")
    subject = _l("%(prefix)s %(old)s completed - the team now works on %(new)s %(title)s", prefix=_prefix(report), old=old, new=new, title=_title(new))
    return enqueue(
        "stage.advanced", "stage", report, team_of(report, actor), subject, "stage_advanced",
        _base(actor, old=old, new=new, old_title=_title(old), new_title=_title(new), comment=comment),
        report_link(report, new), exclude=actor,
    )


@in_mail_locale
def review_requested(report: Report, actor: User, comment: str | None = None, stage: str | None = None) -> list[OutboxMessage]:
    """The OEM's quality leads are asked to review (mandatory); the team is told it was submitted."""
    stage = stage or report.stage
    webhooks.review_requested(report, actor, stage)
    leads = oem_quality_leads(report)
    context = _base(actor, stage=stage, stage_title=_title(stage), comment=comment)
    link = report_link(report, stage)
    rows = enqueue(
        "review.requested", "review", report, leads, _l("%(prefix)s %(stage)s submitted for your review", prefix=_prefix(report), stage=stage),
        "review_requested", {**context, "for_reviewer": True}, link, mandatory=True, exclude=actor,
    )
    lead_ids = {u.id for u in leads}
    rows += enqueue(
        "review.requested", "stage", report, [u for u in team_of(report, actor) if u.id not in lead_ids],
        _l("%(prefix)s %(stage)s submitted to the customer for review", prefix=_prefix(report), stage=stage), "review_requested",
        {**context, "for_reviewer": False}, link, exclude=actor,
    )
    return rows


def _reviewed_stage(report: Report) -> str:
    decided = [r for r in report.reviews if r.decided_at is not None]
    return decided[-1].stage if decided else report.stage


@in_mail_locale
def review_decided(report: Report, actor: User, decision: str, comment: str | None = None, stage: str | None = None) -> list[OutboxMessage]:
    """Call after workflow.review(). Approving D8 closes the report: that mail is report_closed's
    (this function hands over to it, so call only this one after a review)."""
    stage = stage or _reviewed_stage(report)
    webhooks.review_decided(report, actor, stage, decision)
    if report.stage != stage:
        webhooks.stage_changed(report, actor, stage, report.stage, "approved" if decision == "approve" else "rejected")
    if decision == "approve" and report.status == Status.closed:
        return report_closed(report, actor, comment)
    if decision == "approve":
        subject = _l("%(prefix)s %(stage)s approved by the customer - next: %(next)s %(title)s", prefix=_prefix(report), stage=stage,
                     next=report.stage, title=_title(report.stage))
        event = "review.approved"
    else:
        subject = _l("%(prefix)s %(stage)s rejected by the customer - rework from %(next)s", prefix=_prefix(report), stage=stage, next=report.stage)
        event = "review.rejected"
    return enqueue(
        event, "review", report, team_of(report, actor), subject, "review_decided",
        _base(actor, decision=decision, stage=stage, stage_title=_title(stage), now_stage=report.stage,
              now_title=_title(report.stage), comment=comment),
        report_link(report, report.stage), mandatory=True, exclude=actor,
    )


DECLINE_REASONS = {
    "not_our_part": _l("not the supplier's part"),
    "customer_caused": _l("caused at the customer"),
    "no_trouble_found": _l("no trouble found"),
    "duplicate": _l("a duplicate of another report"),
}


@in_mail_locale
def decline_requested(report: Report, actor: User, reason: str, comment: str | None = None) -> list[OutboxMessage]:
    """The supplier asks to decline the complaint: the OEM's quality leads decide (mandatory), the
    team is told - as for a review request."""
    webhooks.review_requested(report, actor, report.stage, kind="decline")
    leads = oem_quality_leads(report)
    context = _base(actor, stage=report.stage, reason=DECLINE_REASONS.get(reason, reason), comment=comment)
    link = report_link(report, report.stage)
    rows = enqueue(
        "decline.requested", "review", report, leads, _l("%(prefix)s The supplier asks to decline the complaint: %(reason)s", prefix=_prefix(report), reason=DECLINE_REASONS.get(reason, reason)),
        "decline_requested", {**context, "for_reviewer": True}, link, mandatory=True, exclude=actor,
    )
    lead_ids = {u.id for u in leads}
    rows += enqueue(
        "decline.requested", "stage", report, [u for u in team_of(report, actor) if u.id not in lead_ids],
        _l("%(prefix)s Decline of the complaint submitted to the customer", prefix=_prefix(report)), "decline_requested",
        {**context, "for_reviewer": False}, link, exclude=actor,
    )
    return rows


@in_mail_locale
def decline_decided(report: Report, actor: User, decision: str, comment: str | None = None) -> list[OutboxMessage]:
    """The customer's quality lead accepted the decline (the report is closed) or refused it (the
    team works on at the same discipline) - to the team, as review decisions are."""
    webhooks.review_decided(report, actor, report.stage, decision, kind="decline")
    if decision == "approve":
        webhooks.report_closed(report, actor)
        subject, event = _l("%(prefix)s Decline accepted by the customer - the report is closed", prefix=_prefix(report)), "decline.accepted"
    else:
        subject, event = _l("%(prefix)s Decline refused by the customer - work goes on at %(stage)s", prefix=_prefix(report), stage=report.stage), "decline.refused"
    return enqueue(
        event, "review", report, team_of(report, actor), subject, "decline_decided",
        _base(actor, decision=decision, now_stage=report.stage, now_title=_title(report.stage), comment=comment),
        report_link(report, report.stage), mandatory=True, exclude=actor,
    )


@in_mail_locale
def report_closed(report: Report, actor: User, comment: str | None = None) -> list[OutboxMessage]:
    webhooks.report_closed(report, actor)
    subject = _l("%(prefix)s Closed - closure signed by %(name)s", prefix=_prefix(report), name=actor.name)
    return enqueue(
        "report.closed", "review", report, team_of(report, actor), subject, "report_closed",
        _base(actor, comment=comment, closed_at=report.closed_at or utcnow()),
        report_link(report, "D8"), mandatory=True, exclude=actor,
    )


@in_mail_locale
def report_returned(report: Report, actor: User, to: str, comment: str | None = None, old: str | None = None) -> list[OutboxMessage]:
    webhooks.stage_changed(report, actor, old, to, "returned")
    subject = _l("%(prefix)s Sent back to %(stage)s %(title)s", prefix=_prefix(report), stage=to, title=_title(to))
    return enqueue(
        "stage.returned", "stage", report, team_of(report, actor), subject, "report_returned",
        _base(actor, to=to, to_title=_title(to), old=old, comment=comment),
        report_link(report, to), exclude=actor,
    )


@in_mail_locale
def report_reopened(report: Report, actor: User, comment: str | None = None) -> list[OutboxMessage]:
    webhooks.stage_changed(report, actor, None, report.stage, "reopened")
    subject = _l("%(prefix)s Reopened at %(stage)s (revision %(revision)s)", prefix=_prefix(report), stage=report.stage, revision=report.revision)
    return enqueue(
        "report.reopened", "stage", report, team_of(report, actor), subject, "report_reopened",
        _base(actor, stage=report.stage, stage_title=_title(report.stage), comment=comment),
        report_link(report, report.stage), exclude=actor,
    )


# ------------------------------------------------------------------------------ people
@in_mail_locale
def team_added(report: Report, actor: User | None, member_user: User, role: str | None = None) -> list[OutboxMessage]:
    role = getattr(role, "value", role)
    if role is None:
        member = report.team_member(member_user)
        role = member.role.value if member is not None else "member"
    subject = _l("%(prefix)s You were added to the 8D team as %(role)s", prefix=_prefix(report), role=ROLE_NAMES.get(role, role))
    return enqueue(
        "team.added", "team", report, [member_user], subject, "team_added",
        _base(actor, role=role, role_name=ROLE_NAMES.get(role, role)), report_link(report, "D1"), exclude=actor,
    )


@in_mail_locale
def mentioned(report: Report, actor: User, users: Iterable[User], discipline: str | None, excerpt: str | None) -> list[OutboxMessage]:
    if discipline:
        subject = _l("%(prefix)s %(name)s mentioned you in %(where)s", prefix=_prefix(report), name=actor.name, where=discipline)
    else:
        subject = _l("%(prefix)s %(name)s mentioned you in a comment", prefix=_prefix(report), name=actor.name)
    return enqueue(
        "comment.mention", "mention", report, list(users), subject, "mentioned",
        _base(actor, discipline=discipline, discipline_title=_title(discipline), excerpt=_excerpt(excerpt)),
        report_link(report, discipline), exclude=actor,
    )


# ----------------------------------------------------------------------------- actions
def _due(value: dt.date | str | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


@in_mail_locale
def action_assigned(
    report: Report, actor: User | None, owner: User, action_title: str, link: str | None = None,
    due_date: dt.date | str | None = None, kind: str | None = None,
) -> list[OutboxMessage]:
    subject = _l("%(prefix)s Action assigned to you: %(title)s", prefix=_prefix(report), title=clean_header(action_title, 200))
    return enqueue(
        "action.assigned", "assignment", report, [owner], subject, "action_assigned",
        _base(actor, action_title=action_title, due_date=_due(due_date), kind=kind, kind_name=KIND_NAMES.get(kind, kind)),
        absolute_link(link or "/actions/mine"), mandatory=True, exclude=actor,
    )


@in_mail_locale
def action_due(
    report: Report, owner: User, action_id: int, action_title: str, due_date: dt.date | str,
    today: dt.date | None = None, link: str | None = None,
) -> list[OutboxMessage]:
    """Reminder that an action falls due; one per action and day however often the job runs."""
    today = today or utcnow().date()
    subject = _l("%(prefix)s Action due %(date)s: %(title)s", prefix=_prefix(report), date=_due(due_date), title=clean_header(action_title, 200))
    return enqueue(
        "action.due", "reminder", report, [owner], subject, "action_due",
        _base(None, action_title=action_title, due_date=_due(due_date), overdue=False),
        absolute_link(link or "/actions/mine"), dedupe_key=f"due:{action_id}:{today.isoformat()}",
    )


@in_mail_locale
def action_overdue(
    report: Report, owner: User, action_id: int, action_title: str, due_date: dt.date | str,
    today: dt.date | None = None, link: str | None = None,
) -> list[OutboxMessage]:
    today = today or utcnow().date()
    webhooks.action_overdue(report, action_id, action_title, due_date, owner)
    subject = _l("%(prefix)s Action overdue since %(date)s: %(title)s", prefix=_prefix(report), date=_due(due_date), title=clean_header(action_title, 200))
    return enqueue(
        "action.overdue", "reminder", report, [owner], subject, "action_due",
        _base(None, action_title=action_title, due_date=_due(due_date), overdue=True),
        absolute_link(link or "/actions/mine"), dedupe_key=f"overdue:{action_id}:{today.isoformat()}",
    )


# ------------------------------------------------------------------- effectiveness watch
@in_mail_locale
def watch_ending(report: Report, until: dt.date, criterion: str, due: bool, today: dt.date | None = None) -> list[OutboxMessage]:
    """To the customer's quality leads: the watch ends soon (reminder) or has ended (decide now)."""
    today = today or utcnow().date()
    subject = (f"{_prefix(report)} Effectiveness watch ended {_due(until)} - decide whether the fix held" if due
               else f"{_prefix(report)} Effectiveness watch ends {_due(until)}")
    return enqueue(
        "watch.due" if due else "watch.reminder", "reminder", report, oem_quality_leads(report), subject, "watch_ending",
        _base(None, until=_due(until), criterion=criterion, due=due), report_link(report, "D8"), mandatory=True,
        dedupe_key=f"watch:{'due' if due else 'soon'}:{report.id}:{report.revision}",
    )


@in_mail_locale
def watch_recurrence(report: Report, new_report: Report, actor: User | None) -> list[OutboxMessage]:
    """To the customer's quality leads at once: a report that looks like a recurrence was opened during the watch."""
    subject = f"{_prefix(report)} Possible recurrence during the effectiveness watch: {new_report.number}"
    return enqueue(
        "watch.recurrence", "review", report, oem_quality_leads(report), subject, "watch_recurrence",
        _base(actor, new_number=new_report.number, new_title=new_report.title), report_link(report, "D8"), mandatory=True,
    )
