"""What a client sends for an action, checked and turned into values: texts, numbers, dates, the
owner (a member of the report's team), the D4 causes it addresses, the D3 location, its reference
and its evidence lists. Every refusal names the field (Invalid/BadRequest, never a 5xx)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.errors import BadRequest, Invalid
from app.extensions import db
from app.method.definition import LOCATIONS
from app.method.fields import parse_date
from app.models import Action, ActionKind, Attachment, Report, User
from app.models.action import EVIDENCE_LISTS, REF_PREFIX

CAUSES = ("occurrence", "non_detection", "systemic")
EDITABLE = (
    "title", "description", "owner_id", "due_date", "ref", "cause", "causes", "cause_ref", "location", "qty_suspect", "qty_checked", "qty_nok",
    "introduced_on", "effective_from", "effective_pct", "pre_verification", "error_proofing", "target", "implemented_on", *EVIDENCE_LISTS,
)
# Fields that belong to one kind of action only (a value for another kind is refused).
KIND_FIELDS = {
    "location": {ActionKind.containment}, "qty_suspect": {ActionKind.containment}, "qty_checked": {ActionKind.containment},
    "qty_nok": {ActionKind.containment}, "introduced_on": {ActionKind.containment}, "effective_from": {ActionKind.containment},
    "effective_pct": {ActionKind.containment},
    "causes": {ActionKind.corrective, ActionKind.preventive}, "cause_ref": {ActionKind.corrective, ActionKind.preventive},
    "pre_verification": {ActionKind.corrective}, "error_proofing": {ActionKind.corrective},
    "pre_verification_evidence": {ActionKind.corrective}, "implementation_evidence": {ActionKind.corrective},
    "target": {ActionKind.preventive},
}
REF_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9._-]{0,19}$")


def _kind_label(kind: ActionKind) -> str:
    """The kind of action as users read it, in their language."""
    from app.method.definition import ACTION_KINDS

    return next((str(c.label) for c in ACTION_KINDS if c.value == kind.value), kind.value)


def text_value(data: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(_("Some values are missing."), fields={name: "is required"})
        return None
    if not isinstance(value, str):
        raise BadRequest(_("'%(name)s' must be a string.", name=name), {"fields": {name: "must be a string"}})
    value = value.strip()
    if required and not value:
        raise Invalid(_("Some values are missing."), fields={name: "is required"})
    if len(value) > limit or "\x00" in value:
        raise Invalid(_("A value is too long."), fields={name: f"is too long (at most {limit} characters)"})
    return value or None


def int_value(data: dict, name: str, minimum: int = 0, maximum: int = 10**9) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(_("'%(name)s' must be an integer.", name=name), {"fields": {name: "must be an integer"}})
    if value < minimum or value > maximum:
        raise Invalid(_("A quantity is out of range."), fields={name: f"must be between {minimum} and {maximum}"})
    return value


def date_value(data: dict, name: str, required: bool = False) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise Invalid(_("Some values are missing."), fields={name: "is required (YYYY-MM-DD)"})
        return None
    if not isinstance(value, str):
        raise BadRequest(_("'%(name)s' must be a date string.", name=name), {"fields": {name: "must be a date YYYY-MM-DD"}})
    parsed = parse_date(value)
    if parsed is None or not 2000 <= parsed.year <= 2100:
        raise Invalid(_("The date is not valid."), fields={name: "must be a valid date YYYY-MM-DD"})
    return parsed


def time_value(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(_("'%(name)s' must be an ISO 8601 time.", name=name), {"fields": {name: "must be a time string"}})
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None and parse_date(value):
        parsed = dt.datetime.combine(parse_date(value), dt.time())
    if parsed is None:
        raise Invalid(_("The time is not valid."), fields={name: "must be an ISO 8601 time"})
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed


def team_owner(report: Report, value: Any) -> User:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(_("'owner_id' must be an integer."), {"fields": {"owner_id": "must be an integer"}})
    member = next((m for m in report.team if m.user_id == value), None)
    if member is None or not member.user.active or member.role.value == "viewer":
        raise Invalid(_("The owner must be a working member of the report's team."), fields={"owner_id": "is not on the report's team"})
    return member.user


def cause_refs(report: Report, data: dict) -> tuple[str | None, list[str]]:
    """The kind of cause and the D4 cause refs addressed (`causes`, or the older `cause_ref`)."""
    cause = text_value(data, "cause", 20)
    if cause is not None and cause not in CAUSES:
        raise Invalid(_("Unknown cause."), fields={"cause": "must be occurrence, non_detection or systemic"})
    name = "causes" if "causes" in data else "cause_ref"
    raw = data.get(name)
    if name == "cause_ref":
        ref = text_value(data, "cause_ref", 40)
        raw = [ref] if ref else []
    elif raw is None:
        raw = []
    if not isinstance(raw, list) or any(not isinstance(r, str) for r in raw):
        raise BadRequest(_("'causes' must be a list of cause references."), {"fields": {"causes": "must be a list of strings such as [\"C1\"]"}})
    refs = list(dict.fromkeys(r.strip() for r in raw if r.strip()))
    if len(refs) > 50 or any(len(r) > 40 for r in refs):
        raise Invalid(_("Too many or too long cause references."), fields={name: "at most 50 references of up to 40 characters"})
    if refs:
        known = {c.get("ref"): c for c in report.discipline("D4").values.get("causes") or [] if c.get("ref")}
        unknown = [r for r in refs if r not in known]
        if unknown:
            raise Invalid(_("D4 lists no cause with this reference: %(refs)s.", refs=", ".join(unknown)),
                          fields={name: f"{', '.join(unknown)} is not a cause of D4"})
        if cause is None:
            cause = known[refs[0]].get("kind")
    return cause, refs


def location_value(data: dict) -> str | None:
    loc = text_value(data, "location", 20)
    if loc is not None and loc not in {c.value for c in LOCATIONS}:
        raise Invalid(_("Unknown location."), fields={"location": "must be one of " + ", ".join(c.value for c in LOCATIONS)})
    return loc


def action_ref(report: Report, kind: ActionKind, data: dict, current: Action | None = None) -> str:
    """The action's reference: as given (unique among the report's actions of its kind), or the
    next free one of its kind (ICA3, PCA2, PA1)."""
    taken = set(db.session.scalars(select(Action.ref).where(Action.report_id == report.id, Action.kind == kind)))
    if current is not None:
        taken.discard(current.ref)
    value = text_value(data, "ref", 20)
    if value is None:
        if current is not None:
            return current.ref
        prefix, n = REF_PREFIX[kind], 1
        while f"{prefix}{n}" in taken:
            n += 1
        return f"{prefix}{n}"
    if not REF_PATTERN.match(value):
        raise Invalid(_("A reference is a short code such as ICA1 or PCA2."), fields={"ref": "must start with a letter: letters, digits, . _ - (up to 20)"})
    if value in taken:
        raise Invalid(_("Another %(kind)s action of this report has the reference %(ref)s.", kind=_kind_label(kind), ref=value), fields={"ref": "is already used"})
    return value


def check_evidence(report: Report, ids: list[int], name: str, keep: set[int] | frozenset = frozenset()) -> None:
    """Every id must be an attachment of `report` that is not withdrawn (ids already recorded,
    `keep`, may stay when their file was withdrawn since: the gates no longer count them)."""
    if not ids:
        return
    rows = dict(db.session.execute(select(Attachment.id, Attachment.withdrawn_at).where(Attachment.id.in_(ids), Attachment.report_id == report.id)).all())
    wrong = [i for i in ids if i not in rows]
    withdrawn = [i for i in ids if i in rows and rows[i] is not None and i not in keep]
    if wrong:
        raise Invalid(_("Evidence must be files uploaded to this report."), fields={name: f"{', '.join(map(str, wrong))} is not an attachment of this report"})
    if withdrawn:
        raise Invalid(_("Withdrawn evidence cannot prove anything."), fields={name: f"{', '.join(map(str, withdrawn))} is withdrawn"})


def evidence_ids(report: Report, data: dict, name: str, current: list | None = None) -> list[int]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise BadRequest(_("'%(name)s' must be a list of attachment ids.", name=name), {"fields": {name: "must be a list of attachment ids (integers)"}})
    ids = list(dict.fromkeys(value))
    if len(ids) > 100:
        raise Invalid(_("Too many files."), fields={name: "at most 100 files"})
    check_evidence(report, ids, name, set(current or []))
    return ids


def check_kind_fields(kind: ActionKind, data: dict) -> None:
    wrong = {k: f"is not a field of a {kind.value} action" for k, kinds in KIND_FIELDS.items() if data.get(k) not in (None, "", []) and kind not in kinds}
    if wrong:
        raise Invalid(_("Some values do not belong to a %(kind)s action.", kind=_kind_label(kind)), fields=wrong)


def apply_fields(action: Action, report: Report, data: dict) -> None:
    """The editable fields present in `data`, checked and set on `action` (status steps aside)."""
    if "ref" in data:
        action.ref = action_ref(report, action.kind, data, action)
    if "title" in data:
        action.title = text_value(data, "title", 500, required=True)
    if "description" in data:
        action.description = text_value(data, "description", 20_000)
    if "owner_id" in data:
        owner = team_owner(report, data["owner_id"])
        action.owner_id, action.owner = owner.id, owner
    if "due_date" in data:
        action.due_date = date_value(data, "due_date", required=True)
    if "cause" in data or "causes" in data or "cause_ref" in data:
        given = {"cause": data.get("cause", action.cause)}
        if "causes" in data or "cause_ref" in data:
            given.update({k: data[k] for k in ("causes", "cause_ref") if k in data})
        else:
            given["causes"] = list(action.causes or [])
        action.cause, action.causes = cause_refs(report, given)
    if "location" in data:
        action.location = location_value(data)
    for q in ("qty_suspect", "qty_checked", "qty_nok"):
        if q in data:
            setattr(action, q, int_value(data, q))
    for name in ("introduced_on", "effective_from"):
        if name in data:
            setattr(action, name, date_value(data, name))
    if "effective_pct" in data:
        action.effective_pct = int_value(data, "effective_pct", 0, 100)
    for name, limit in (("pre_verification", 20_000), ("error_proofing", 20_000), ("target", 500)):
        if name in data:
            setattr(action, name, text_value(data, name, limit))
    for name in EVIDENCE_LISTS:
        if name in data:
            setattr(action, name, evidence_ids(report, data, name, getattr(action, name)))
