"""The monthly supplier review handout: the month's KPIs and their trend over the twelve months up
to it, the supplier's open reports, its overdue actions and the reports closed in the month -
all scoped by the tenancy rule, with a constant number of queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from app import policy
from app.extensions import db
from app.models import Action, Company, Report, Status, User, utcnow
from app.services import kpis
from app.services.action_queries import OPEN_STATES


def review_data(user: User, supplier: Company, month: str) -> dict:
    month_period = kpis.Period(month, month)
    trend = kpis.compute(user, kpis.Period(kpis._shift(month, -11), month), supplier.id)
    figures = kpis.compute(user, month_period, supplier.id)
    scope = (policy.visible_reports_clause(user), Report.supplier_id == supplier.id)
    open_reports = db.session.scalars(select(Report).where(*scope, Report.status != Status.closed).order_by(Report.created_at)).all()
    closed = db.session.scalars(select(Report).where(*scope, Report.status == Status.closed, Report.closed_at >= month_period.start,
                                                     Report.closed_at < month_period.end).order_by(Report.closed_at)).all()
    overdue = db.session.scalars(
        select(Action).join(Report, Report.id == Action.report_id).options(contains_eager(Action.report))
        .where(*scope, Action.status.in_(OPEN_STATES), Action.due_date < utcnow().date()).order_by(Action.due_date)
    ).unique().all()
    row = next((s for s in figures["suppliers"] if s["supplier"]["id"] == supplier.id), None)
    return {"supplier": supplier, "month": month, "figures": row, "trend": trend["months"], "open_reports": open_reports,
            "closed_reports": closed, "overdue_actions": overdue, "generated_at": utcnow()}
