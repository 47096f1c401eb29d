"""Lists of actions across visible reports: scoped in SQL by the tenancy rule, with a constant
number of queries however many actions there are."""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import contains_eager, joinedload

from app import policy
from app.errors import BadRequest
from app.extensions import db
from app.models import Action, ActionKind, ActionStatus, Report, User, utcnow
from app.models.action import EVIDENCE_LISTS

OPEN_STATES = (ActionStatus.open, ActionStatus.in_progress, ActionStatus.implemented)


def actions_query(user: User, args) -> select:
    """Filters: owner (me | user id), company_id (owner's company), kind, status, overdue=true,
    due_within (days, e.g. 7 for 'due this week'), report_id."""
    stmt = (
        select(Action)
        .join(Report, Report.id == Action.report_id)
        .where(policy.visible_reports_clause(user))
        .options(contains_eager(Action.report), joinedload(Action.owner))
    )
    owner = args.get("owner")
    if owner:
        if owner == "me":
            stmt = stmt.where(Action.owner_id == user.id)
        elif owner.isdigit() and len(owner) < 10:
            stmt = stmt.where(Action.owner_id == int(owner))
        else:
            raise BadRequest(_("'owner' must be 'me' or a user id."), {"fields": {"owner": "must be me or an integer"}})
    company = args.get("company_id")
    if company:
        if not company.isdigit() or len(company) > 9:
            raise BadRequest(_("'company_id' must be an integer."), {"fields": {"company_id": "must be an integer"}})
        stmt = stmt.where(Action.owner_id.in_(select(User.id).where(User.company_id == int(company))))
    kind = args.get("kind")
    if kind:
        if kind not in {k.value for k in ActionKind}:
            raise BadRequest(_("'kind' must be containment, corrective or preventive."), {"fields": {"kind": "unknown kind"}})
        stmt = stmt.where(Action.kind == ActionKind(kind))
    status = args.get("status")
    if status:
        if status == "active":
            stmt = stmt.where(Action.status.in_(OPEN_STATES))
        elif status in {s.value for s in ActionStatus}:
            stmt = stmt.where(Action.status == ActionStatus(status))
        else:
            raise BadRequest(_("'status' is not a status of an action."), {"fields": {"status": "unknown status"}})
    today = utcnow().date()
    if args.get("overdue") in ("true", "1", "yes"):
        stmt = stmt.where(Action.due_date < today, Action.status.in_(OPEN_STATES))
    within = args.get("due_within")
    if within:
        if not within.isdigit() or len(within) > 4:
            raise BadRequest(_("'due_within' must be a number of days."), {"fields": {"due_within": "must be an integer"}})
        stmt = stmt.where(Action.due_date <= today + dt.timedelta(days=int(within)), Action.status.in_(OPEN_STATES))
    report_id = args.get("report_id")
    if report_id:
        if not report_id.isdigit() or len(report_id) > 9:
            raise BadRequest(_("'report_id' must be an integer."), {"fields": {"report_id": "must be an integer"}})
        stmt = stmt.where(Action.report_id == int(report_id))
    q = (args.get("q") or "").strip().lower()[:200]
    if q:
        stmt = stmt.where(or_(Action.title.ilike(f"%{q}%"), Report.number.ilike(f"%{q}%")))
    return stmt.order_by(Action.due_date, Action.id)


def is_overdue(a: Action) -> bool:
    return a.status in OPEN_STATES and a.due_date < utcnow().date()


def action_facts(report: Report) -> list[dict]:
    """What the gates read of a report's actions (one query)."""
    rows = db.session.scalars(select(Action).where(Action.report_id == report.id).order_by(Action.id)).unique().all()
    return [
        {"id": a.id, "ref": a.ref, "kind": a.kind.value, "title": a.title, "description": a.description, "status": a.status.value,
         "owner_id": a.owner_id, "verified_by_id": a.verified_by_id, "location": a.location, "cause": a.cause, "causes": list(a.causes or []),
         "removed": a.removed_at is not None, "removed_on": a.removed_at.date() if a.removed_at else None,
         "implemented_on": a.implemented_on, "introduced_on": a.introduced_on, "effective_from": a.effective_from, "effective_pct": a.effective_pct,
         "pre_verification": a.pre_verification, "error_proofing": a.error_proofing, "target": a.target,
         "qty_suspect": a.qty_suspect, "qty_checked": a.qty_checked, "qty_nok": a.qty_nok,
         **{name: list(getattr(a, name) or []) for name in EVIDENCE_LISTS}}
        for a in rows
    ]
