"""Opening a report, reading it as its user may, editing its header; staleness of acceptances.
Saving a discipline: services/disciplines.py."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, literal, select

from app import i18n, method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.method.definition import HEADER_FIELDS
from app.method.fields import assign_row_ids, clean_values
from app.models import (
    Attachment,
    Company,
    DisciplineEntry,
    DisciplineRevision,
    Report,
    Status,
    TeamMember,
    TeamRole,
    User,
    is_id,
    utcnow,
)
from app.services import audit, effectiveness, locking
from app.services.action_queries import action_facts

_DATE_HEADER = {f.name for f in HEADER_FIELDS if f.type == "date"}


def _int_id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(_("'%(field)s' must be an integer id.", field=field), {"fields": {field: "must be an integer id"}})
    return value


def get_visible_report(user: User, report_id: Any, *, for_update: bool = False) -> Report:
    """The report if the user may see it; otherwise NotFound, exactly like a missing one."""
    if not is_id(report_id):
        raise NotFound(_('No such report.'))
    stmt = select(Report).where(Report.id == report_id)
    if for_update:  # a change follows: the report's lock first (services/locking.py)
        stmt = locking.locked(stmt).execution_options(populate_existing=True)
    report = db.session.scalar(stmt)
    if report is None or not policy.can_view(user, report):
        raise NotFound(_('No such report.'))
    return report


def overdue_clause():
    """SQL for "past the due date of its current stage and not closed": the stage's date is read
    from the JSON of due dates in the database, so no list is filtered in Python."""
    if db.engine.dialect.name == "postgresql":
        due = Report.due.op("->>")(Report.stage)
    else:
        due = func.json_extract(Report.due, literal("$.") + Report.stage)
    return (Report.status != Status.closed) & due.is_not(None) & (due < utcnow().date().isoformat())


def get_visible_child(user: User, model, child_id: Any, message: str):
    """A comment, action or attachment with its report, if the user may see that report;
    otherwise NotFound - exactly like a missing one, and as fast: one statement reads both, so
    a child of an invisible report costs no more than a missing one."""
    row = db.session.execute(select(model, Report).join(Report, Report.id == model.report_id).where(model.id == child_id)).first() \
        if is_id(child_id) else None
    if row is None or not policy.can_view(user, row[1]):
        raise NotFound(message)
    return row[0], row[1]


def header_values(report: Report) -> dict[str, Any]:
    out = {}
    for f in HEADER_FIELDS:
        value = getattr(report, f.name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[f.name] = value
    return out


def _check_related(actor: User, report: Report, cleaned: dict[str, Any]) -> None:
    """A related report (a repeat failure's earlier report) is one the caller can see, of the
    same two companies, and not the report itself."""
    value = cleaned.get("related_report_id")
    if value is None:
        return
    if not isinstance(value, int):
        raise Invalid(_("The related report must be given by its id."), fields={"related_report_id": "must be a report id"})
    other = db.session.get(Report, value) if is_id(value) else None
    if (other is None or not policy.can_view(actor, other) or other.id == report.id
            or (other.oem_id, other.supplier_id) != (report.oem_id, report.supplier_id)):
        raise Invalid(_("The related report must be another report of the same customer and supplier."),
                      fields={"related_report_id": "is not a report of the same customer and supplier"})


def _apply_header(report: Report, cleaned: dict[str, Any]) -> dict[str, list]:
    changes: dict[str, list] = {}
    before = header_values(report)
    for name, value in cleaned.items():
        if name == "title" and not value:
            raise Invalid(_('The title is required.'), fields={"title": "is required"})
        if name == "lots":
            value = value or []
            assign_row_ids(value, [report.lots or []])
        stored = dt.date.fromisoformat(value) if name in _DATE_HEADER and value else value
        if before.get(name) != value:
            changes[name] = [before.get(name), value]
            setattr(report, name, stored)
    return changes


def _next_number(year: int) -> tuple[int, str]:
    seq = (db.session.scalar(select(func.max(Report.seq)).where(Report.year == year)) or 0) + 1
    return seq, f"8D-{year}-{seq:04d}"


def create_report(actor: User, data: Any) -> Report:
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    if not policy.can_create_report(actor):
        raise Forbidden(_('Your account cannot open reports.'))
    data = dict(data)
    missing = {k: "is required" for k in ("title", "oem_id", "supplier_id") if data.get(k) in (None, "")}
    if missing:
        raise Invalid(_('Some required values are missing.'), fields=missing)
    oem_id = _int_id(data.pop("oem_id"), "oem_id")
    supplier_id = _int_id(data.pop("supplier_id"), "supplier_id")
    header = clean_values(HEADER_FIELDS, data, "report")
    header["language"] = header.get("language") or i18n.current_language()  # the language of record, set at D0
    oem = db.session.get(Company, oem_id) if is_id(oem_id) else None
    supplier = db.session.get(Company, supplier_id) if is_id(supplier_id) else None
    visible = set(db.session.scalars(select(Company.id).where(policy.pickable_companies_clause(actor))))
    errors = {}
    # Any company may take either side (a Tier-1 is its sub-supplier's customer); the two differ.
    if oem is None or oem.id not in visible or not oem.active:
        errors["oem_id"] = "is not a customer company you can choose"
    if supplier is None or supplier.id not in visible or not supplier.active:
        errors["supplier_id"] = "is not a supplier company you can choose"
    elif oem is not None and oem.id == supplier.id:
        errors["supplier_id"] = "must be another company than the customer"
    if errors:
        raise Invalid(_('The parties of the report are not valid.'), fields=errors)
    if not policy.can_be_party(actor, oem, supplier):
        raise Forbidden(_('Your company must be the customer or the supplier of the report.'))
    return open_report(actor, oem, supplier, header)


def open_report(actor: User, oem: Company, supplier: Company, header: dict[str, Any], parent: Report | None = None,
                cascade_discipline: str | None = None) -> Report:
    """Write a new report of two checked parties (the creator joins as champion); a cascade
    names the report it was opened from."""
    now = utcnow()
    seq, number = _next_number(now.year)
    report = Report(number=number, year=now.year, seq=seq, oem_id=oem.id, supplier_id=supplier.id, title=header.get("title") or "",
                    created_by_id=actor.id, created_at=now, updated_at=now, stage="D0", status=Status.open, lots=[], due={},
                    parent_id=parent.id if parent is not None else None, cascade_discipline=cascade_discipline)
    report.oem, report.supplier = oem, supplier
    _check_related(actor, report, header)
    _apply_header(report, header)
    report.due = method.due_dates(report.detected_on or now.date())
    db.session.add(report)
    db.session.flush()
    for code in method.CODES:
        db.session.add(DisciplineEntry(report_id=report.id, code=code, version=0, values={}, field_versions={}))
        db.session.add(DisciplineRevision(report_id=report.id, code=code, version=0, values={}, created_by_id=actor.id))
    db.session.add(TeamMember(report_id=report.id, user_id=actor.id, role=TeamRole.champion))
    audit.record("report.created", actor, report, changes={"number": [None, number], **{k: [None, v] for k, v in header_values(report).items() if v not in (None, [], "")}})
    audit.record("team.added", actor, report, discipline="D1", changes={"member": [None, actor.email], "role": [None, "champion"]})
    effectiveness.note_recurrence(actor, report)  # a recurrence during another report's watch flags it at once
    db.session.flush()
    db.session.expire(report, ["disciplines", "team"])
    return report


def ensure_not_frozen(report: Report, code: str) -> None:
    if report.status == Status.closed:
        raise Conflict(_('The report is closed; a quality lead must reopen it before anything can change.'), {"rule": "closed"})
    if policy.report_is_frozen(report, code):
        raise Conflict(
            _('%(code)s is frozen while the customer reviews %(stage)s; work on later disciplines meanwhile.', code=code, stage=report.stage),
            {"rule": "frozen"},
        )


def update_header(actor: User, report: Report, data: Any) -> Report:
    if not policy.can_edit(actor, report):
        raise Forbidden(_("Only the report's team can change its header."))
    ensure_not_frozen(report, "D0")
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    cleaned = clean_values(HEADER_FIELDS, {k: v for k, v in data.items() if k not in ("oem_id", "supplier_id", "id", "number")}, "report")
    _check_related(actor, report, cleaned)
    changes = _apply_header(report, cleaned)
    if changes:
        if "detected_on" in changes:
            report.due = method.due_dates(report.detected_on or report.created_at.date())
        withdraw_acceptances(actor, report, "D0")
        audit.record("report.header_updated", actor, report, discipline="D0", changes=changes)
    return report


def withdraw_acceptances(actor: User, report: Report, code: str, why: str | None = None) -> list[str]:
    """Editing a discipline the customer already accepted withdraws that acceptance and every
    later one (docs/method.md, "Staleness"); so does withdrawing evidence it relied on (`why`)."""
    withdrawn = []
    for review in report.reviews:
        if review.accepted and method.CODES.index(review.stage) >= method.CODES.index(code):
            review.withdrawn_at = utcnow()
            review.withdrawn_reason = why or f"{code} edited by {actor.name} after the customer accepted it"
            withdrawn.append(review.stage)
            audit.record("review.withdrawn", actor, report, discipline=review.stage, comment=review.withdrawn_reason,
                         changes={"accepted": [True, False], "review": [None, audit.review_snapshot(review, audit.WITHDRAWAL_COLUMNS)]})
    return withdrawn


def gate_context(report: Report, cascades: list[dict] | None = None) -> method.GateContext:
    from app.services.cascades import cascade_facts

    live = set(db.session.scalars(select(Attachment.id).where(Attachment.report_id == report.id, Attachment.withdrawn_at.is_(None))))
    related = None
    if report.related_report_id:
        other = db.session.get(Report, report.related_report_id)
        if other is not None:
            related = {"id": other.id, "number": other.number,
                       "same_parties": (other.oem_id, other.supplier_id) == (report.oem_id, report.supplier_id) and other.id != report.id}
    return method.GateContext(
        header=header_values(report),
        values={d.code: d.values or {} for d in report.disciplines},
        # the side each member's company takes in this report (not the company's kind)
        team=[{"role": m.role.value, "company_kind": "oem" if m.user.company_id == report.oem_id else "supplier", "email": m.user.email}
              for m in report.team],
        # The problem's start: the complaint date when it precedes the report's creation here.
        opened_on=min(filter(None, [report.created_at.date(), report.detected_on])),
        due=report.due or {},
        today=utcnow().date(),
        actions=action_facts(report),
        live_attachments=live,
        related_report=related,
        cascades=cascade_facts(report) if cascades is None else cascades,
        status=report.status.value,
        stage=report.stage,
    )


def findings(report: Report) -> dict[str, list[method.Finding]]:
    """Every discipline's findings. Kept per report version, day and language (app/services/
    documents.py): viewing a report again costs no rule evaluation."""
    from app.services import documents

    def check() -> dict[str, list[method.Finding]]:
        ctx = gate_context(report)
        return {code: method.check_discipline(ctx, code) for code in method.CODES}

    return documents.FINDINGS.get_or_make(documents.key(report, "findings", report.status.value, report.stage), check)
