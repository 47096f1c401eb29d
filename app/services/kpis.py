"""Supplier KPIs for the monthly performance review, per supplier and per month of a period.

Computed in SQL from what the workflow records (report.created_at, contained_at, root_cause_at,
closed_at and outcome; the review rows with their decisions; the actions with their due dates),
with a constant number of queries (four) however many reports there are. Every figure is scoped
by the tenancy rule: a supplier sees its own figures, a customer those of its suppliers.

The definitions (shown on the page next to each figure, DEFINITIONS) are the contract: the page,
the CSV, the review PDF and GET /api/v1/kpis all read `compute`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, Float, String, and_, case, cast, func, literal, null, or_, select, union_all

from app import policy
from app.errors import BadRequest, Invalid
from app.extensions import db
from app.models import Action, ActionStatus, Company, Report, Review, User, utcnow
from app.services.kpis_sql import day_of, days_between, month_of

MAX_MONTHS = 60
DEFAULT_MONTHS = 12
DURATIONS = {"contained": "median_days_to_containment", "root_cause": "median_days_to_root_cause", "closed": "median_days_to_close"}
FIGURES = ("reports_opened", "reports_closed", "reports_declined", "containment_on_time_rate", "median_days_to_containment",
           "median_days_to_root_cause", "median_days_to_close", "p90_days_to_close", "first_pass_acceptance_rate", "repeat_rate",
           "open_actions", "overdue_actions", "ppm", "days_team_working", "days_customer_reviewing")
RATES = ("containment_on_time_rate", "first_pass_acceptance_rate", "repeat_rate")

DEFINITIONS = {
    "reports_opened": _l("Reports opened in the period (by the month they were opened)."),
    "reports_closed": _l("Reports whose closure (D8) the customer approved in the period. Declined reports and reopened reports "
                         "not closed again are excluded."),
    "reports_declined": _l("Reports closed in the period because the customer accepted the supplier's decline."),
    "containment_on_time_rate": _l("Of the reports whose D3 (containment) was due in the period: the share that reached containment "
                                   "(D3 approved) on or before the due date. Reports still uncontained whose due date has not come "
                                   "yet, and declined reports never contained, are excluded."),
    "median_days_to_containment": _l("Median days from opening the report to containment (D3 approved), over the reports contained "
                                     "in the period."),
    "median_days_to_root_cause": _l("Median days from opening the report to the root cause (D4 completed), over the reports whose "
                                    "D4 was completed in the period."),
    "median_days_to_close": _l("Median days from opening to the approved closure, over the reports closed in the period "
                               "(declined reports excluded)."),
    "p90_days_to_close": _l("90th percentile of the same: nine in ten reports closed in the period closed within this many days."),
    "first_pass_acceptance_rate": _l("Of the review points (D3, D5, D8) the customer first decided in the period: the share approved "
                                     "at the first submission (no rejection before). Decline requests are excluded."),
    "repeat_rate": _l("Of the reports opened in the period: the share marked as a repeat failure or linked to an earlier report."),
    "open_actions": _l("Actions not yet verified or cancelled at the end of the month (for a supplier: at the end of the period, "
                       "today at the latest). Cancellations count from their last change."),
    "overdue_actions": _l("Of those open actions: the ones whose due date had passed by then."),
    "ppm": _l("Parts per million: complained over delivered quantity, over the reports opened in the period that state both."),
    "days_team_working": _l("Average days per report closed in the period with the ball at the team (open, working on a discipline)."),
    "days_customer_reviewing": _l("Average days per report closed in the period with the ball at the customer (waiting for a review "
                                  "decision or a decline decision)."),
}


@dataclass(frozen=True)
class Period:
    first: str  # YYYY-MM
    last: str  # YYYY-MM

    @property
    def months(self) -> list[str]:
        y, m = map(int, self.first.split("-"))
        out = []
        while f"{y:04d}-{m:02d}" <= self.last:
            out.append(f"{y:04d}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out

    @property
    def start(self) -> dt.datetime:
        return _month_start(self.first)

    @property
    def end(self) -> dt.datetime:
        return _month_start(_next_month(self.last))


def _month_start(month: str) -> dt.datetime:
    y, m = map(int, month.split("-"))
    return dt.datetime(y, m, 1)


def _next_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y + 1:04d}-01" if m == 12 else f"{y:04d}-{m + 1:02d}"


def _shift(month: str, n: int) -> str:
    y, m = map(int, month.split("-"))
    total = y * 12 + (m - 1) + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_period(first: str | None, last: str | None) -> Period:
    """?from=YYYY-MM&to=YYYY-MM; by default the twelve months up to the current one."""
    for name, value in (("from", first), ("to", last)):
        if value not in (None, "") and not (isinstance(value, str) and MONTH.match(value) and 1 <= int(value[:4])):
            raise BadRequest(f"'{name}' must be a month as YYYY-MM.", {"fields": {name: "must be YYYY-MM"}})
    last = last or utcnow().strftime("%Y-%m")
    first = first or _shift(last, -(DEFAULT_MONTHS - 1))
    if first > last:
        raise Invalid(_("The period starts after it ends."), fields={"from": "must not be after 'to'"})
    if len(Period(first, last).months) > MAX_MONTHS:
        raise Invalid(_("The period is longer than %(n)s months.", n=MAX_MONTHS), fields={"from": f"at most {MAX_MONTHS} months before 'to'"})
    return Period(first, last)


def parse_id(name: str, value: str | None) -> int | None:
    if value in (None, ""):
        return None
    if not value.isdigit() or len(value) > 9:
        raise BadRequest(f"'{name}' must be an integer.", {"fields": {name: "must be an integer"}})
    return int(value)


# ------------------------------------------------------------------------------------ the SQL
def _scope(user: User, supplier_id: int | None, oem_id: int | None):
    clause = policy.visible_reports_clause(user)
    if supplier_id is not None:
        clause = and_(clause, Report.supplier_id == supplier_id)
    if oem_id is not None:
        clause = and_(clause, Report.oem_id == oem_id)
    return clause


def _between(column, period: Period):
    return and_(column >= literal(period.start, DateTime), column < literal(period.end, DateTime))


def _fact(kind: str, when, where, a=None, b=None, tag=None, frm=Report):
    return select(
        Report.supplier_id.label("supplier_id"), when.label("month"), literal(kind, String).label("kind"),
        (tag if tag is not None else literal("", String)).label("tag"),
        cast(a if a is not None else null(), Float).label("a"), cast(b if b is not None else null(), Float).label("b"),
    ).select_from(frm).where(where)


def _facts(scope, period: Period):
    """One row per counted event: (supplier_id, month, kind, tag, a, b) - all of them, and those
    with a duration (what the percentiles rank)."""
    customer_days = (select(func.coalesce(func.sum(days_between(Review.requested_at, Review.decided_at)), 0.0))
                     .where(Review.report_id == Report.id, Review.decided_at.is_not(None)).scalar_subquery())
    repeat = case((or_(Report.repeat_failure.is_(True), Report.related_report_id.is_not(None)), 1), else_=0)
    due = Report.due["D3"].as_string()
    today = utcnow().date().isoformat()
    due_in = and_(due >= period.start.date().isoformat(), due < period.end.date().isoformat(),
                  or_(Report.contained_at.is_not(None), and_(due < today, or_(Report.outcome.is_(None), Report.outcome != "declined"))))
    on_time = case((and_(Report.contained_at.is_not(None), day_of(Report.contained_at) <= due), 1), else_=0)
    # the first decision on a review point: no earlier decided stage review of the same report and stage
    earlier = Review.__table__.alias("earlier")
    first_decision = ~select(earlier.c.id).where(earlier.c.report_id == Review.report_id, earlier.c.stage == Review.stage,
                                                earlier.c.kind == "stage", earlier.c.decided_at < Review.decided_at).exists()
    first_join = Report.__table__.join(Review.__table__, Review.report_id == Report.id)
    approved = case((Review.decision == "approve", 1), else_=0)
    durations = (
        _fact("closed", month_of(Report.closed_at), and_(scope, Report.outcome == "resolved", _between(Report.closed_at, period)),
              a=days_between(Report.created_at, Report.closed_at), b=customer_days),
        _fact("contained", month_of(Report.contained_at), and_(scope, _between(Report.contained_at, period)),
              a=days_between(Report.created_at, Report.contained_at)),
        _fact("root_cause", month_of(Report.root_cause_at), and_(scope, _between(Report.root_cause_at, period)),
              a=days_between(Report.created_at, Report.root_cause_at)),
    )
    counted = (
        _fact("opened", month_of(Report.created_at), and_(scope, _between(Report.created_at, period)), a=repeat),
        _fact("ppm", month_of(Report.created_at), and_(scope, _between(Report.created_at, period), Report.qty_complained.is_not(None),
                                                        Report.qty_delivered > 0), a=Report.qty_complained, b=Report.qty_delivered),
        _fact("declined", month_of(Report.closed_at), and_(scope, Report.outcome == "declined", _between(Report.closed_at, period))),
        _fact("containment_due", func.substr(due, 1, 7), and_(scope, due_in), a=on_time),
        _fact("first_pass", month_of(Review.decided_at), and_(scope, Review.kind == "stage", _between(Review.decided_at, period),
                                                            first_decision), a=approved, tag=Review.stage, frm=first_join),
    )
    return union_all(*durations, *counted).subquery("facts"), union_all(*durations).cte("durations")


def _counts(facts) -> list:
    return db.session.execute(
        select(facts.c.supplier_id, facts.c.month, facts.c.kind, facts.c.tag, func.count(), func.sum(facts.c.a), func.sum(facts.c.b))
        .group_by(facts.c.supplier_id, facts.c.month, facts.c.kind, facts.c.tag)
    ).all()


def _percentile_rows(facts) -> list:
    """The (at most two) neighbouring values around the median and the 90th percentile of each
    duration, per supplier and per month, ranked in SQL."""
    ranked = []
    for axis, key in (("s", cast(facts.c.supplier_id, String)), ("m", facts.c.month)):
        parts = (facts.c.kind, key)
        ranked.append(select(
            literal(axis, String).label("axis"), facts.c.kind.label("kind"), key.label("key"), facts.c.a.label("value"),
            func.row_number().over(partition_by=parts, order_by=facts.c.a).label("rn"),
            func.count().over(partition_by=parts).label("n"),
        ))
    r = union_all(*ranked).subquery()
    near = or_(*(func.abs(r.c.rn - 1 - p * (r.c.n - 1)) < 1 for p in (0.5, 0.9)))
    return db.session.execute(select(r.c.axis, r.c.kind, r.c.key, r.c.rn, r.c.n, r.c.value).where(near)).all()


LATER = "9999-99"  # a bucket after every month: times not reached yet


def _bucket(value, now):
    return case((value >= literal(now, DateTime if isinstance(now, dt.datetime) else Date), LATER), else_=month_of(value))


def _later(a, b):
    return case((a > b, a), else_=b)


def _action_rows(scope, period: Period) -> list:
    """Open and overdue actions at the end of each month of the period (now, for the current
    month): one pass over the actions, grouped by the months they were created, became overdue
    and were finished in; the month-end counts are summed up from those."""
    now = utcnow()
    done_at = case((Action.status == ActionStatus.verified, Action.verified_at),
                   (Action.status == ActionStatus.cancelled, Action.updated_at), else_=null())
    created, done = _bucket(Action.created_at, now), _bucket(done_at, now)
    overdue_from = _later(created, _bucket(Action.due_date, now.date()))
    rows = db.session.execute(
        select(Report.supplier_id, created, done, overdue_from, func.count())
        .select_from(Action).join(Report, Report.id == Action.report_id)
        .where(scope, Action.created_at < literal(period.end, DateTime), or_(done_at.is_(None), done_at >= literal(period.start, DateTime)))
        .group_by(Report.supplier_id, created, done, overdue_from)
    ).all()
    out: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for sid, c, d, o, n in rows:
        for m in period.months:
            if c <= m and not (d is not None and d <= m):
                out[(sid, m)][0] += n
                if o <= m:
                    out[(sid, m)][1] += n
    return [(sid, m, n, overdue) for (sid, m), (n, overdue) in out.items()]


# ------------------------------------------------------------------------------------ figures
def _percentile(values: dict[int, float], n: int, p: float) -> float | None:
    pos = p * (n - 1)
    lo, hi = int(pos), min(int(pos) + (pos > int(pos)), n - 1)
    if lo + 1 not in values or hi + 1 not in values:
        return None
    return values[lo + 1] + (pos - lo) * (values[hi + 1] - values[lo + 1])


def _empty() -> dict:
    return {"n": defaultdict(int), "a": defaultdict(float), "b": defaultdict(float), "fp": defaultdict(lambda: [0, 0]),
            "open_actions": 0, "overdue_actions": 0}


def _add(acc: dict, kind: str, tag: str, n: int, a, b) -> None:
    acc["n"][kind] += n
    acc["a"][kind] += a or 0
    acc["b"][kind] += b or 0
    if kind == "first_pass":
        acc["fp"][tag][0] += a or 0
        acc["fp"][tag][1] += n


def _ratio(num: float, den: float, digits: int = 4) -> float | None:
    return round(num / den, digits) if den else None


def _figures(acc: dict, ranks: dict) -> dict:
    n, a, b = acc["n"], acc["a"], acc["b"]
    out = {
        "reports_opened": n["opened"], "reports_closed": n["closed"], "reports_declined": n["declined"],
        "containment_on_time_rate": _ratio(a["containment_due"], n["containment_due"]),
        "first_pass_acceptance_rate": _ratio(a["first_pass"], n["first_pass"]),
        "first_pass_by_review_point": {tag: _ratio(ok, total) for tag, (ok, total) in sorted(acc["fp"].items())},
        "repeat_rate": _ratio(a["opened"], n["opened"]),
        "open_actions": acc["open_actions"], "overdue_actions": acc["overdue_actions"],
        "ppm": round(a["ppm"] / b["ppm"] * 1_000_000, 1) if b["ppm"] else None,
        "days_customer_reviewing": _ratio(b["closed"], n["closed"], 2),
        "days_team_working": _ratio(a["closed"] - b["closed"], n["closed"], 2),
    }
    for kind, name in DURATIONS.items():
        values, count = ranks.get(kind, ({}, 0))
        out[name] = round(_percentile(values, count, 0.5), 2) if count else None
    values, count = ranks.get("closed", ({}, 0))
    out["p90_days_to_close"] = round(_percentile(values, count, 0.9), 2) if count else None
    return out


def compute(user: User, period: Period, supplier_id: int | None = None, oem_id: int | None = None) -> dict:
    """{"period": {...}, "suppliers": [{"supplier": {"id","name"}, figures...}], "months": [{"month", figures...}]}."""
    scope = _scope(user, supplier_id, oem_id)
    facts, durations = _facts(scope, period)
    per_supplier: dict[int, dict] = defaultdict(_empty)
    per_month: dict[str, dict] = {m: _empty() for m in period.months}
    for sid, month, kind, tag, n, a, b in _counts(facts):
        _add(per_supplier[sid], kind, tag, n, a, b)
        if month in per_month:
            _add(per_month[month], kind, tag, n, a, b)
    ranks: dict[tuple[str, str], dict] = defaultdict(dict)
    for axis, kind, key, rn, n, value in _percentile_rows(durations):
        values, _ = ranks[(axis, key)].get(kind, ({}, n))
        values[rn] = value
        ranks[(axis, key)][kind] = (values, n)
    for sid, month, n, overdue in _action_rows(scope, period):
        if month in per_month:
            per_month[month]["open_actions"] += n
            per_month[month]["overdue_actions"] += overdue or 0
        if month == period.last:
            per_supplier[sid]["open_actions"] += n
            per_supplier[sid]["overdue_actions"] += overdue or 0
    names = db.session.execute(
        select(Company.id, Company.name).where(Company.id.in_(select(Report.supplier_id).where(scope).distinct())).order_by(Company.name)
    ).all()
    return {
        "period": {"first": period.first, "last": period.last},
        "suppliers": [{"supplier": {"id": sid, "name": name}, **_figures(per_supplier[sid], ranks[("s", str(sid))])} for sid, name in names],
        "months": [{"month": m, **_figures(per_month[m], ranks[("m", m)])} for m in period.months],
    }
