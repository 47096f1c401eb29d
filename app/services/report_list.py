"""The report list's filters, once for the dashboard and the API: the same arguments mean the same
reports, and a bad one is the same BadRequest - the API answers 400 with it, the page shows it."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from app import method, policy
from app.errors import BadRequest
from app.models import Report, Status, User
from app.services.reports import overdue_clause


def _status(value: str):
    if value not in {s.value for s in Status}:
        raise BadRequest(_("'status' must be open, in_review or closed."), {"fields": {"status": "unknown status"}})
    return Report.status == Status(value)


def _stage(value: str):
    if value not in method.CODES:
        raise BadRequest(_("'stage' must be one of D0-D8."), {"fields": {"stage": "unknown discipline"}})
    return Report.stage == value


def _company(name: str, column):
    def clause(value: str):
        if not value.isdigit() or len(value) > 9:
            raise BadRequest(_("'%(name)s' must be an integer.", name=name), {"fields": {name: "must be an integer"}})
        return column == int(value)

    return clause


def _text(value: str):
    like = f"%{value.strip()[:200].lower()}%"
    return or_(func.lower(Report.title).like(like), func.lower(Report.number).like(like),
               func.lower(Report.part_number).like(like), func.lower(Report.complaint_ref).like(like))


def _overdue(value: str):
    if value not in ("true", "1", "false", "0"):
        raise BadRequest(_("'overdue' must be true or false."), {"fields": {"overdue": "must be true or false"}})
    return overdue_clause() if value in ("true", "1") else None


FILTERS = {
    "status": _status,
    "stage": _stage,
    "supplier_id": _company("supplier_id", Report.supplier_id),
    "oem_id": _company("oem_id", Report.oem_id),
    "overdue": _overdue,
    "q": _text,
}


def visible_reports(user: User, args: Mapping[str, str]) -> Select:
    """The reports `user` may see that match the list's arguments (absent or empty ones ignored),
    newest change first. BadRequest names the argument that is wrong."""
    stmt = select(Report).where(policy.visible_reports_clause(user))
    for name, clause in FILTERS.items():
        value = (args.get(name) or "").strip()
        if value:
            condition = clause(value)
            if condition is not None:
                stmt = stmt.where(condition)
    return stmt.order_by(Report.updated_at.desc(), Report.id.desc())
