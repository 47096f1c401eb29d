"""Opening a report, editing its header and its disciplines (with three-way merge)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import exists, func, insert, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app import method, policy
from app.db import begin_writes
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.method.definition import HEADER_FIELDS, MOVED_TO_ACTIONS
from app.method.fields import assign_row_ids, clean_values, evidence_paths
from app.models import (
    Attachment,
    AuditAnchor,
    Company,
    CompanyKind,
    DisciplineEntry,
    DisciplineRevision,
    Report,
    Review,
    Status,
    TeamMember,
    TeamRole,
    User,
    is_id,
    search,
    utcnow,
)
from app.services import audit, effectiveness

_DATE_HEADER = {f.name for f in HEADER_FIELDS if f.type == "date"}


def _int_id(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{field}' must be an integer id.", {"fields": {field: "must be an integer id"}})
    return value


def get_visible_report(user: User, report_id: Any, *, for_update: bool = False) -> Report:
    """The report if the user may see it; otherwise NotFound, exactly like a missing one."""
    if not is_id(report_id):
        raise NotFound("No such report.")
    stmt = select(Report).where(Report.id == report_id)
    if for_update and db.engine.dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=Report)
    report = db.session.scalar(stmt)
    if report is None or not policy.can_view(user, report):
        raise NotFound("No such report.")
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
            raise Invalid("The title is required.", fields={"title": "is required"})
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
        raise BadRequest("The request body must be a JSON object.")
    if not policy.can_create_report(actor):
        raise Forbidden("Your account cannot open reports.")
    data = dict(data)
    missing = {k: "is required" for k in ("title", "oem_id", "supplier_id") if data.get(k) in (None, "")}
    if missing:
        raise Invalid("Some required values are missing.", fields=missing)
    oem_id = _int_id(data.pop("oem_id"), "oem_id")
    supplier_id = _int_id(data.pop("supplier_id"), "supplier_id")
    header = clean_values(HEADER_FIELDS, data, "report")
    oem = db.session.get(Company, oem_id) if is_id(oem_id) else None
    supplier = db.session.get(Company, supplier_id) if is_id(supplier_id) else None
    visible = set(db.session.scalars(select(Company.id).where(policy.pickable_companies_clause(actor))))
    errors = {}
    if oem is None or oem.id not in visible or oem.kind != CompanyKind.oem or not oem.active:
        errors["oem_id"] = "is not a customer (OEM) company you can choose"
    if supplier is None or supplier.id not in visible or supplier.kind != CompanyKind.supplier or not supplier.active:
        errors["supplier_id"] = "is not a supplier company you can choose"
    if errors:
        raise Invalid("The parties of the report are not valid.", fields=errors)
    if not policy.can_be_party(actor, oem, supplier):
        raise Forbidden("Your company must be the customer or the supplier of the report.")
    now = utcnow()
    seq, number = _next_number(now.year)
    report = Report(number=number, year=now.year, seq=seq, oem_id=oem.id, supplier_id=supplier.id, title=header.get("title") or "",
                    created_by_id=actor.id, created_at=now, updated_at=now, stage="D0", status=Status.open, lots=[], due={})
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
        raise Conflict("The report is closed; a quality lead must reopen it before anything can change.", {"rule": "closed"})
    if policy.report_is_frozen(report, code):
        raise Conflict(
            f"{code} is frozen while the customer reviews {report.stage}; work on later disciplines meanwhile.",
            {"rule": "frozen"},
        )


def update_header(actor: User, report: Report, data: Any) -> Report:
    if not policy.can_edit(actor, report, "D0"):
        raise Forbidden("Only the report's team can change its header.")
    ensure_not_frozen(report, "D0")
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
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
    later one (8D-METHOD.md, "Staleness"); so does withdrawing evidence it relied on (`why`)."""
    withdrawn = []
    for review in report.reviews:
        if review.accepted and method.CODES.index(review.stage) >= method.CODES.index(code):
            review.withdrawn_at = utcnow()
            review.withdrawn_reason = why or f"{code} edited by {actor.name} after the customer accepted it"
            withdrawn.append(review.stage)
            audit.record("review.withdrawn", actor, report, discipline=review.stage, comment=review.withdrawn_reason,
                         changes={"accepted": [True, False], "review": [None, audit.review_snapshot(review, audit.WITHDRAWAL_COLUMNS)]})
    return withdrawn


def _merge(report: Report, code: str, entry, base_version: int, yours: dict) -> tuple[dict, dict, list[str]]:
    """(new values, changes {field: [old, new]}, notes) of saving `yours` over `entry` (anything
    with version, values and field_versions); Conflict
    (with details.fields) when someone else changed the same fields since base_version."""
    if base_version < 0 or base_version > entry.version:
        raise Invalid("base_version is not a version of this discipline.", fields={"base_version": f"must be between 0 and {entry.version}"})
    theirs = dict(entry.values or {})
    changed_since = {f for f, v in (entry.field_versions or {}).items() if v > base_version}
    base = theirs
    if changed_since & set(yours):
        rev = db.session.scalar(select(DisciplineRevision).where(
            DisciplineRevision.report_id == report.id, DisciplineRevision.code == code, DisciplineRevision.version == base_version))
        base = dict(rev.values) if rev else {}
    from app.services.merge import three_way

    for f in method.BY_CODE[code].fields:
        if f.type == "table" and f.name in yours:
            assign_row_ids(yours[f.name], [base.get(f.name), theirs.get(f.name)])
    tables = {f.name for f in method.BY_CODE[code].fields if f.type == "table"}
    merged, conflicts = three_way(base, theirs, yours, changed_since, tables)
    if conflicts:
        raise Conflict(
            "Someone else changed the same fields since you started editing. Nothing was saved; choose which values to keep.",
            {"fields": conflicts, "version": entry.version},
        )
    new_values = dict(theirs)
    new_values.update(merged)
    notes = method.on_save(code, theirs, new_values)
    changes = {name: [theirs.get(name), new_values.get(name)] for name in method.BY_CODE[code].fields_names() if theirs.get(name) != new_values.get(name)}
    return new_values, changes, notes


def _write_state(report: Report, code: str):
    """Take the report's write lock, then read in one statement all that a save must see current:
    stage and status, the discipline's version, the audit chain's head, and whether the customer
    accepted this discipline or a later one. (SQLite: the write transaction begins here,
    see app/db.py "late writes".)"""
    begin_writes(db.session)
    r, d, a, v = Report.__table__, DisciplineEntry.__table__, AuditAnchor.__table__, Review.__table__
    chain = audit.chain_of(report)
    if db.engine.dialect.name == "postgresql":
        # The lock first, on its own: a statement that waited for it reads with its older snapshot,
        # so what must be current is read by the next one.
        db.session.connection().execute(select(r.c.id).where(r.c.id == report.id).with_for_update())
    stmt = select(
        r.c.stage, r.c.status, r.c.change_counter, d.c.id.label("entry_id"), d.c.version, d.c["values"], d.c.field_versions,
        select(a.c.seq).where(a.c.chain == chain).scalar_subquery().label("head_seq"),
        select(a.c.hash).where(a.c.chain == chain).scalar_subquery().label("head_hash"),
        exists().where(v.c.report_id == r.c.id, v.c.decision == "approve", v.c.withdrawn_at.is_(None),
                       v.c.stage.in_(method.CODES[method.CODES.index(code):])).label("accepted_later"),
    ).select_from(r.join(d, (d.c.report_id == r.c.id) & (d.c.code == code))).where(r.c.id == report.id)
    state = db.session.connection().execute(stmt).one()
    set_committed_value(report, "stage", state.stage)
    set_committed_value(report, "status", state.status)
    return state


def _write_together(statements: list) -> None:
    """Run INSERT/UPDATE statements in order - on PostgreSQL as one statement (data-modifying
    CTEs), so a save that holds the report's lock waits for one round trip instead of five."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(select(literal(1)).add_cte(*(s.cte(f"w{i}") for i, s in enumerate(statements))))
    else:
        for statement in statements:
            conn.execute(statement)


def save_discipline(actor: User, report: Report, code: str, base_version: Any, fields: Any) -> tuple[DisciplineEntry, list[str]]:
    """Save the fields an editor changed since `base_version`, merging with others' saves.

    Returns the entry and notes for the user (e.g. acceptances withdrawn). Raises Conflict with
    details.fields {field: {yours, theirs, base}} - and writes nothing - when someone else changed
    the same field (or the same table row) since base_version.

    Concurrent editors of one report queue only for the short write at the end: the values are
    checked and cleaned first; then the report is locked, the discipline and the trail's head are
    read in one statement, merged, and written with plain statements.
    """
    if code not in method.BY_CODE:
        raise NotFound(f"No discipline {code!r}.")
    if isinstance(base_version, bool) or not isinstance(base_version, int):
        raise BadRequest("'base_version' must be an integer.", {"fields": {"base_version": "must be an integer"}})
    if not isinstance(fields, dict):
        raise BadRequest("'fields' must be an object.", {"fields": {"fields": "must be an object"}})
    if not policy.can_edit(actor, report, code):
        raise Forbidden("Only members of the report's team can edit it.")
    ensure_not_frozen(report, code)
    moved = {name: kind for name, kind in MOVED_TO_ACTIONS.get(code, {}).items() if name in fields}
    if moved:
        raise Invalid(
            _("%(fields)s: no longer a field of %(code)s - that work is recorded as tracked actions "
              "(POST /api/v1/reports/{id}/actions, PATCH /api/v1/actions/{id}).", fields=", ".join(moved), code=code),
            fields={name: f"is not a field of {code}: use {kind} actions (POST /api/v1/reports/{{id}}/actions with kind {kind}; "
                          "implementation and lifting: PATCH /api/v1/actions/{id})" for name, kind in moved.items()},
        )
    yours = clean_values(method.BY_CODE[code].fields, fields)
    check_discipline_evidence(report, code, yours)
    actor_id, report_id = actor.id, report.id

    state = _write_state(report, code)  # -- the report is locked from here to the commit --
    ensure_not_frozen(report, code)
    new_values, changes, notes = _merge(report, code, state, base_version, yours)
    if not changes:
        return db.session.get(DisciplineEntry, state.entry_id), notes
    now, version = utcnow(), state.version + 1
    versions = dict(state.field_versions or {})
    for name in changes:
        versions[name] = version
    row = {"version": version, "values": new_values, "field_versions": versions, "updated_at": now, "updated_by_id": actor_id}
    entries, reports = DisciplineEntry.__table__, Report.__table__
    head = (state.head_seq, state.head_hash) if state.head_seq is not None else None
    if state.accepted_later:
        withdrawn = withdraw_acceptances(actor, report, code)
        notes.append(f"The customer's acceptance of {', '.join(withdrawn)} was withdrawn because {code} changed.")
        head = None  # the trail has moved on; read its head again
    event, anchored = audit.next_event("discipline.updated", actor, report, discipline=code, changes=changes,
                                       comment="; ".join(notes) or None, head=head)
    _write_together([
        update(entries).where(entries.c.id == state.entry_id).values(row),
        insert(DisciplineRevision.__table__).values(report_id=report_id, code=code, version=version, values=new_values, created_at=now,
                                                    created_by_id=actor_id),
        *audit.write_statements(event, anchored),
        update(reports).where(reports.c.id == report_id).values(updated_at=now, change_counter=reports.c.change_counter + 1, audit_seq=event.seq),
        search.discipline_statement(report_id, code, new_values),  # the full-text index, in the same transaction
    ])
    # The entry as saved, without reading it again: the session's copy if it holds one (kept
    # current), else a plain object with what callers read (code, version, values, updated_*).
    entry = db.session.identity_map.get(identity_key(DisciplineEntry, state.entry_id))
    if entry is None:
        entry = SimpleNamespace(id=state.entry_id, report_id=report_id, code=code, **row, updated_by=actor)
    else:
        for key, value in row.items():
            set_committed_value(entry, key, value)
        set_committed_value(entry, "updated_by", actor)
    for key, value in (("updated_at", now), ("change_counter", state.change_counter + 1), ("audit_seq", event.seq)):
        set_committed_value(report, key, value)
    return entry, notes


def check_discipline_evidence(report: Report, code: str, values: dict[str, Any]) -> None:
    """Evidence values name files of this report that are not withdrawn. An id the discipline
    holds already may stay after its file was withdrawn (so that the rest can still be saved);
    the gates count only live files. Errors name the field or cell, e.g. causes[2].evidence."""
    paths = evidence_paths(method.BY_CODE[code].fields, values)
    ids = {i for _path, _f, value, _c, _r in paths for i in value}
    if not ids:
        return
    rows = dict(db.session.execute(select(Attachment.id, Attachment.withdrawn_at).where(Attachment.id.in_(ids), Attachment.report_id == report.id)).all())
    stored = {i for _p, _f, value, _c, _r in evidence_paths(method.BY_CODE[code].fields, report.discipline(code).values or {}) for i in value}
    errors = {}
    for path, _f, value, _c, _r in paths:
        wrong = [i for i in value if i not in rows]
        withdrawn = [i for i in value if i in rows and rows[i] is not None and i not in stored]
        if wrong:
            errors[path] = f"{', '.join(map(str, wrong))} is not an attachment of this report"
        elif withdrawn:
            errors[path] = f"{', '.join(map(str, withdrawn))} is withdrawn"
    if errors:
        raise Invalid(_("Evidence must be files uploaded to this report and not withdrawn."), fields=errors)


def evidence_claims(report: Report, code: str) -> list[tuple[str, str]]:
    """Where a file uploaded to `code` can be attached at once: (claim, label) - an evidence
    field ("validation_evidence") or a table row's evidence cell ("causes.<row id>.evidence")."""
    values = report.discipline(code).values or {}
    out = []
    for f in method.BY_CODE[code].fields:
        if f.type == "evidence":
            out.append((f.name, str(f.label)))
        elif f.type == "table":
            for c in f.columns:
                if c.type != "evidence":
                    continue
                for i, row in enumerate(values.get(f.name) or [], start=1):
                    if row.get("id"):
                        name = row.get("ref") or row.get("doc_no") or row.get("target") or f"{f.label} {i}"
                        out.append((f"{f.name}.{row['id']}.{c.name}", f"{name} · {c.label}"))
    return out


def attach_evidence(actor: User, report: Report, code: str, claim: str, attachment_id: int) -> list[str]:
    """Add a just-uploaded file to an evidence field or cell of `code` (a normal, audited save)."""
    entry = report.discipline(code)
    values = entry.values or {}
    name, _sep, rest = claim.partition(".")
    f = method.BY_CODE[code].field(name)
    if f is None:
        raise Invalid(_("There is no such evidence to attach the file to."), fields={"claim": f"is not an evidence field of {code}"})
    if f.type == "evidence" and not rest:
        current = list(values.get(name) or [])
        if attachment_id in current:
            return []
        _entry, notes = save_discipline(actor, report, code, entry.version, {name: [*current, attachment_id]})
        return notes
    row_id, _sep, column = rest.partition(".")
    col = f.column(column) if f.type == "table" else None
    rows = [dict(r) for r in values.get(name) or []]
    row = next((r for r in rows if r.get("id") == row_id), None)
    if col is None or col.type != "evidence" or row is None:
        raise Invalid(_("There is no such evidence to attach the file to."), fields={"claim": f"is not an evidence cell of {code}"})
    if attachment_id in (row.get(column) or []):
        return []
    row[column] = [*(row.get(column) or []), attachment_id]
    _entry, notes = save_discipline(actor, report, code, entry.version, {name: rows})
    return notes


def gate_context(report: Report) -> method.GateContext:
    from app.services.actions import action_facts

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
        team=[{"role": m.role.value, "company_kind": m.user.company.kind.value, "email": m.user.email} for m in report.team],
        # The problem's start: the complaint date when it precedes the report's creation here.
        opened_on=min(filter(None, [report.created_at.date(), report.detected_on])),
        due=report.due or {},
        today=utcnow().date(),
        actions=action_facts(report),
        live_attachments=live,
        related_report=related,
        status=report.status.value,
        stage=report.stage,
    )


_FINDINGS_CACHE: OrderedDict[tuple, dict] = OrderedDict()
_FINDINGS_LOCK = threading.Lock()


def findings(report: Report) -> dict[str, list[method.Finding]]:
    """Every discipline's findings. Cached per report version (its change counter, which every
    change bumps), day and language: viewing a report again costs no rule evaluation."""
    from flask_babel import get_locale

    key = (report.id, report.created_at, report.change_counter, report.status.value, report.stage, utcnow().date(), str(get_locale()))
    with _FINDINGS_LOCK:
        hit = _FINDINGS_CACHE.get(key)
        if hit is not None:
            _FINDINGS_CACHE.move_to_end(key)
            return hit
    ctx = gate_context(report)
    result = {code: method.check_discipline(ctx, code) for code in method.CODES}
    with _FINDINGS_LOCK:
        _FINDINGS_CACHE[key] = result
        while len(_FINDINGS_CACHE) > 512:
            _FINDINGS_CACHE.popitem(last=False)
    return result
