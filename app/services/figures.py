"""Dashboard figures: open reports per supplier, overdue actions, and the median days spent per
discipline, split by who held the ball (the team working vs. the customer reviewing)."""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict

from sqlalchemy import func, select

from app import method, policy
from app.extensions import db
from app.models import Action, AuditEvent, Company, Report, Status, User, utcnow
from app.services.action_queries import OPEN_STATES

TIMELINE_ACTIONS = ("report.created", "stage.advanced", "review.requested", "review.approved", "review.rejected", "stage.returned", "report.reopened")
SAMPLE = 300  # most recently updated visible reports the medians are computed from
CACHE_SECONDS = 60
_cache: dict[tuple, tuple[float, dict]] = {}
_lock = threading.Lock()


def dashboard_figures(user: User) -> dict:
    """The dashboard's figures for the user's scope (all reports for admins, else the company's),
    recomputed at most once a minute per process: they summarise, they need not be live."""
    key = ("all",) if user.role.value == "admin" else (user.company_id,)
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
        if hit and hit[0] > now:
            return hit[1]
    figs = {
        "per_supplier": open_reports_per_supplier(user),
        "overdue_actions": overdue_actions(user),
        "overdue_reports": overdue_reports(user),
        "medians": ball_medians(user),
    }
    with _lock:
        _cache[key] = (now + CACHE_SECONDS, figs)
    return figs


def open_reports_per_supplier(user: User) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Company.name, func.count(Report.id))
        .join(Report, Report.supplier_id == Company.id)
        .where(policy.visible_reports_clause(user), Report.status != Status.closed)
        .group_by(Company.name)
        .order_by(func.count(Report.id).desc(), Company.name)
    ).all()
    return [(name, n) for name, n in rows]


def overdue_actions(user: User) -> int:
    return db.session.scalar(
        select(func.count(Action.id))
        .join(Report, Report.id == Action.report_id)
        .where(policy.visible_reports_clause(user), Action.status.in_(OPEN_STATES), Action.due_date < utcnow().date())
    ) or 0


def overdue_reports(user: User) -> int:
    from app.services.reports import overdue_clause

    return db.session.scalar(select(func.count(Report.id)).where(policy.visible_reports_clause(user), overdue_clause())) or 0


def ball_medians(user: User) -> dict[str, dict[str, float | None]]:
    """{code: {"team": median days, "customer": median days}} over completed periods."""
    ids = select(Report.id).where(policy.visible_reports_clause(user)).order_by(Report.updated_at.desc()).limit(SAMPLE).subquery()
    events = db.session.execute(
        select(AuditEvent.report_id, AuditEvent.at, AuditEvent.action, AuditEvent.changes, AuditEvent.discipline)
        .where(AuditEvent.report_id.in_(select(ids.c.id)), AuditEvent.action.in_(TIMELINE_ACTIONS))
        .order_by(AuditEvent.report_id, AuditEvent.seq)
    ).all()
    per_report: dict[int, dict[tuple[str, str], float]] = defaultdict(lambda: defaultdict(float))
    state: dict[int, tuple[str, str, object]] = {}
    for report_id, at, action, changes, _discipline in events:
        changes = changes or {}
        if action == "report.created":
            state[report_id] = ("D0", "team", at)
            continue
        if report_id not in state:
            continue
        stage, holder, since = state[report_id]
        per_report[report_id][(stage, holder)] += (at - since).total_seconds() / 86400
        if action == "review.requested":
            state[report_id] = (stage, "customer", at)
        elif action in ("stage.advanced", "stage.returned", "review.rejected", "report.reopened"):
            new_stage = (changes.get("stage") or [None, stage])[1] or stage
            state[report_id] = (new_stage, "team", at)
        elif action == "review.approved":
            new_stage = (changes.get("stage") or [None, None])[1]
            if new_stage:
                state[report_id] = (new_stage, "team", at)
            else:  # closed
                del state[report_id]
    out: dict[str, dict[str, float | None]] = {}
    for code in method.CODES:
        out[code] = {}
        for holder in ("team", "customer"):
            values = [v[(code, holder)] for v in per_report.values() if (code, holder) in v]
            out[code][holder] = round(statistics.median(values), 1) if values else None
    return out
