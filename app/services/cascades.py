"""Multi-tier 8Ds: the supplier of a report opens a linked child 8D with one of its own suppliers
(a cascade). The child's customer is the parent's supplier; it starts with the problem
description the parent's supplier chose to pass on - nothing else of the parent. Who sees what of
the link is policy (`sees_cascade_content`, `can_see_parent`)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.method.definition import HEADER_FIELDS
from app.method.fields import clean_values
from app.models import Company, Report, Status, User, is_id
from app.services import audit
from app.services.disciplines import save_discipline
from app.services.reports import open_report

CASCADE_DISCIPLINES = ("D4", "D5")
PASSED_ON = "customer_description"  # the child's D2 field the passed-on description fills
MAX_DESCRIPTION = 20000


def _string(data: dict, name: str, required: bool = False, limit: int = 500) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(_("Some required values are missing."), fields={name: "is required"})
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string.", {"fields": {name: "must be a string"}})
    value = value.strip()
    if required and not value:
        raise Invalid(_("Some required values are missing."), fields={name: "is required"})
    if len(value) > limit:
        raise Invalid(_("A value is too long."), fields={name: f"is too long (at most {limit} characters)"})
    return value or None


def _target(report: Report, supplier_id: Any) -> Company:
    if isinstance(supplier_id, bool) or not isinstance(supplier_id, int):
        raise BadRequest("'supplier_id' must be an integer id.", {"fields": {"supplier_id": "must be an integer id"}})
    company = db.session.scalar(select(Company).where(Company.id == supplier_id, policy.cascade_targets_clause(report))) \
        if is_id(supplier_id) else None
    if company is None:
        raise Invalid(_("Choose an active company other than the report's customer and supplier."),
                      fields={"supplier_id": "is not a company this report can be cascaded to"})
    return company


def cascade(actor: User, parent: Report, data: Any) -> Report:
    """Open the child 8D; the actor (the parent's supplier's leader or champion) is its champion."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    if not policy.can_cascade(actor, parent):
        raise Forbidden(_("Only the supplier's team leader or champion can cascade a report to a sub-supplier."))
    if parent.status == Status.closed:
        raise Conflict(_("The report is closed; a cascade starts from an open report."), {"rule": "closed"})
    discipline = data.get("discipline") or "D4"
    if discipline not in CASCADE_DISCIPLINES:
        raise Invalid(_("A cascade serves D4 (the root cause) or D5 (the corrective action)."), fields={"discipline": "must be D4 or D5"})
    title = _string(data, "title", required=True)
    description = _string(data, "description", limit=MAX_DESCRIPTION)
    header = clean_values(HEADER_FIELDS, {"title": title, **({"part_number": data["part_number"]} if data.get("part_number") else {})}, "report")
    supplier = _target(parent, data.get("supplier_id"))
    child = open_report(actor, parent.supplier, supplier, header, parent=parent, cascade_discipline=discipline)
    if description:
        save_discipline(actor, child, "D2", 0, {PASSED_ON: description})
    audit.record("report.cascaded", actor, parent, discipline=discipline,
                 changes={"cascade": [None, child.number], "supplier": [None, supplier.name]})
    return child


def children(parent: Report) -> list[Report]:
    return list(db.session.scalars(select(Report).where(Report.parent_id == parent.id).order_by(Report.id)))


def _done(child: Report, code: str) -> bool:
    """Has the child delivered `code`: past it, or closed as resolved?"""
    if child.status == Status.closed:
        return child.outcome != "declined"
    return method.CODES.index(child.stage) > method.CODES.index(code)


def cascade_facts(parent: Report) -> list[dict[str, Any]]:
    """What the parent's gates read of its cascades."""
    return [{"number": c.number, "supplier": c.supplier.name, "stage": c.stage, "status": c.status.value, "outcome": c.outcome,
             "cause_verified": _done(c, "D4"), "action_verified": _done(c, "D5")} for c in children(parent)]
