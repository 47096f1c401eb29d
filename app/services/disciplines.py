"""Saving a discipline: the editor's changed fields merged three-way with what others saved since
(services/merge.py), and evidence attached to a discipline.

A save checks and cleans the submitted values first, then holds the report's lock
(services/locking.py) and reads the discipline, merges and writes - all with the ORM objects.
Two saves of one report take turns from the lock to the commit; the second merges over the first.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.method.definition import MOVED_TO_ACTIONS
from app.method.fields import assign_row_ids, clean_values, evidence_paths
from app.models import Attachment, DisciplineEntry, DisciplineRevision, Report, User, utcnow
from app.services import audit
from app.services.locking import lock_report
from app.services.reports import ensure_not_frozen, withdraw_acceptances


def save_discipline(actor: User, report: Report, code: str, base_version: Any, fields: Any) -> tuple[DisciplineEntry, list[str]]:
    """Save the fields an editor changed since `base_version`, merging with others' saves.

    Returns the entry and notes for the user (e.g. acceptances withdrawn). Raises Conflict with
    details.fields {field: {yours, theirs, base}} - and writes nothing - when someone else changed
    the same field (or the same table row) since base_version.
    """
    yours = _checked_values(actor, report, code, base_version, fields)
    lock_report(report)  # -- from here to the commit no other save of this report runs --
    ensure_not_frozen(report, code)
    entry = db.session.scalars(select(DisciplineEntry).where(DisciplineEntry.report_id == report.id, DisciplineEntry.code == code)
                               .execution_options(populate_existing=True)).one()
    new_values, changes, notes = _merge(report, code, entry, base_version, yours)
    if not changes:
        return entry, notes
    withdrawn = withdraw_acceptances(actor, report, code)
    if withdrawn:
        notes.append(f"The customer's acceptance of {', '.join(withdrawn)} was withdrawn because {code} changed.")
    now = utcnow()
    entry.version += 1
    entry.values = new_values
    entry.field_versions = {**(entry.field_versions or {}), **dict.fromkeys(changes, entry.version)}
    entry.updated_at, entry.updated_by = now, actor
    db.session.add(DisciplineRevision(report_id=report.id, code=code, version=entry.version, values=new_values, created_at=now,
                                      created_by_id=actor.id))
    audit.record("discipline.updated", actor, report, discipline=code, changes=changes, comment="; ".join(notes) or None)
    db.session.flush()
    return entry, notes


def _checked_values(actor: User, report: Report, code: str, base_version: Any, fields: Any) -> dict[str, Any]:
    """The submitted fields, cleaned, once the request and the editor are known to be right."""
    if code not in method.BY_CODE:
        raise NotFound(_('No discipline %(code)s.', code=repr(code)))
    if isinstance(base_version, bool) or not isinstance(base_version, int):
        raise BadRequest(_("'base_version' must be an integer."), {"fields": {"base_version": "must be an integer"}})
    if not isinstance(fields, dict):
        raise BadRequest(_("'fields' must be an object."), {"fields": {"fields": "must be an object"}})
    if not policy.can_edit(actor, report):
        raise Forbidden(_("Only members of the report's team can edit it."))
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
    return yours


def _merge(report: Report, code: str, entry: DisciplineEntry, base_version: int, yours: dict) -> tuple[dict, dict, list[str]]:
    """(new values, changes {field: [old, new]}, notes) of saving `yours` over `entry`; Conflict
    (with details.fields) when someone else changed the same fields since base_version."""
    from app.services.merge import three_way

    if base_version < 0 or base_version > entry.version:
        raise Invalid(_('base_version is not a version of this discipline.'), fields={"base_version": f"must be between 0 and {entry.version}"})
    theirs = dict(entry.values or {})
    changed_since = {f for f, v in (entry.field_versions or {}).items() if v > base_version}
    base = theirs
    if changed_since & set(yours):
        rev = db.session.scalar(select(DisciplineRevision.values).where(
            DisciplineRevision.report_id == report.id, DisciplineRevision.code == code, DisciplineRevision.version == base_version))
        base = dict(rev) if rev else {}
    for f in method.BY_CODE[code].fields:
        if f.type == "table" and f.name in yours:
            assign_row_ids(yours[f.name], [base.get(f.name), theirs.get(f.name)])
    tables = {f.name for f in method.BY_CODE[code].fields if f.type == "table"}
    merged, conflicts = three_way(base, theirs, yours, changed_since, tables)
    if conflicts:
        raise Conflict(
            _('Someone else changed the same fields since you started editing. Nothing was saved; choose which values to keep.'),
            {"fields": conflicts, "version": entry.version},
        )
    new_values = dict(theirs)
    new_values.update(merged)
    notes = method.on_save(code, theirs, new_values)
    changes = {name: [theirs.get(name), new_values.get(name)] for name in method.BY_CODE[code].fields_names() if theirs.get(name) != new_values.get(name)}
    return new_values, changes, notes


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
