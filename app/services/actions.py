"""Containment, corrective and preventive actions - the one record of that work: assignment,
status steps with verification by someone other than the owner, cancellation with a reason,
containment lifted in D6, and what each kind of action claims:

- containment (D3): where (`location`), introduced on, effective from, % effective, quantities;
- corrective (D5, D6): the D4 causes it addresses (`causes`), whether it removes the cause or adds
  detection (`cause`), its pre-verification with files, error-proofing, implementation date and files;
- preventive (D7): the product, line or plant it applies to (`target`).

Evidence lists hold attachment ids of the same report (as evidence fields of the method do).
After closure, only the follow-up actions (tracked read-across, not yet verified) still move."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.method.definition import LOCATIONS
from app.method.fields import parse_date
from app.models import Action, ActionKind, ActionStatus, Attachment, Report, Status, User, utcnow
from app.models.action import EVIDENCE_LISTS, REF_PREFIX
from app.services import audit
from app.services.reports import get_visible_child

CAUSES = ("occurrence", "non_detection", "systemic")
STEPS = {
    ActionStatus.open: {ActionStatus.in_progress, ActionStatus.cancelled},
    ActionStatus.in_progress: {ActionStatus.implemented, ActionStatus.cancelled},
    ActionStatus.implemented: {ActionStatus.verified, ActionStatus.cancelled},
    ActionStatus.verified: set(),
    ActionStatus.cancelled: set(),
}
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



def _kind_label(kind) -> str:
    from app.method.definition import ACTION_KINDS

    return next((str(c.label) for c in ACTION_KINDS if c.value == kind.value), kind.value)

def _str(data: dict, name: str, limit: int, required: bool = False) -> str | None:
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


def _int(data: dict, name: str, minimum: int = 0, maximum: int = 10**9) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(_("'%(name)s' must be an integer.", name=name), {"fields": {name: "must be an integer"}})
    if value < minimum or value > maximum:
        raise Invalid(_("A quantity is out of range."), fields={name: f"must be between {minimum} and {maximum}"})
    return value


def _date(data: dict, name: str, required: bool = False) -> dt.date | None:
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


def _time(value: Any, name: str) -> dt.datetime | None:
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


def _owner(report: Report, value: Any) -> User:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(_("'owner_id' must be an integer."), {"fields": {"owner_id": "must be an integer"}})
    member = next((m for m in report.team if m.user_id == value), None)
    if member is None or not member.user.active or member.role.value == "viewer":
        raise Invalid(_("The owner must be a working member of the report's team."), fields={"owner_id": "is not on the report's team"})
    return member.user


def _cause(report: Report, data: dict) -> tuple[str | None, list[str]]:
    """The kind of cause and the D4 cause refs addressed (`causes`, or the older `cause_ref`)."""
    cause = _str(data, "cause", 20)
    if cause is not None and cause not in CAUSES:
        raise Invalid(_("Unknown cause."), fields={"cause": "must be occurrence, non_detection or systemic"})
    name = "causes" if "causes" in data else "cause_ref"
    raw = data.get(name)
    if name == "cause_ref":
        ref = _str(data, "cause_ref", 40)
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


def _location(data: dict) -> str | None:
    loc = _str(data, "location", 20)
    if loc is not None and loc not in {c.value for c in LOCATIONS}:
        raise Invalid(_("Unknown location."), fields={"location": "must be one of " + ", ".join(c.value for c in LOCATIONS)})
    return loc


def _ref(report: Report, kind: ActionKind, data: dict, current: Action | None = None) -> str:
    """The action's reference: as given (unique among the report's actions of its kind), or the
    next free one of its kind (ICA3, PCA2, PA1)."""
    taken = set(db.session.scalars(select(Action.ref).where(Action.report_id == report.id, Action.kind == kind)))
    if current is not None:
        taken.discard(current.ref)
    value = _str(data, "ref", 20)
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


def _evidence(report: Report, data: dict, name: str, current: list | None = None) -> list[int]:
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


def _kind_fields(kind: ActionKind, data: dict) -> None:
    wrong = {k: f"is not a field of a {kind.value} action" for k, kinds in KIND_FIELDS.items() if data.get(k) not in (None, "", []) and kind not in kinds}
    if wrong:
        raise Invalid(_("Some values do not belong to a %(kind)s action.", kind=_kind_label(kind)), fields=wrong)


def _guard(actor: User, report: Report, action: Action | None = None) -> None:
    if not policy.can_manage_actions(actor, report):
        raise Forbidden(_("Only members of the report's team can manage its actions."))
    if report.status == Status.closed and (action is None or action.status in (ActionStatus.verified, ActionStatus.cancelled)):
        # A closed report keeps only its follow-ups moving: the read-across tracked after closure.
        raise Conflict(_("The report is closed."), {"rule": "closed"})


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def snapshot(a: Action) -> dict:
    return {
        "ref": a.ref, "title": a.title, "description": a.description, "owner": a.owner.email if a.owner else None,
        "due_date": _iso(a.due_date), "cause": a.cause, "causes": list(a.causes or []),
        "location": a.location, "qty_suspect": a.qty_suspect, "qty_checked": a.qty_checked, "qty_nok": a.qty_nok,
        "introduced_on": _iso(a.introduced_on), "effective_from": _iso(a.effective_from), "effective_pct": a.effective_pct,
        "pre_verification": a.pre_verification, "error_proofing": a.error_proofing, "target": a.target, "implemented_on": _iso(a.implemented_on),
        **{name: list(getattr(a, name) or []) for name in EVIDENCE_LISTS},
        "status": a.status.value, "verification": a.verification, "cancel_reason": a.cancel_reason,
        "removed_at": _iso(a.removed_at),
    }


def warnings_for(a: Action) -> list[str]:
    out = []
    if a.due_date and a.due_date < utcnow().date() and a.status not in (ActionStatus.verified, ActionStatus.cancelled):
        out.append(_("The due date lies in the past."))
    if a.kind == ActionKind.containment and a.qty_checked is not None and a.qty_suspect is not None and a.qty_checked > a.qty_suspect:
        out.append(_("More parts checked than suspect."))
    return out


def create_action(actor: User, report: Report, data: Any, *, at_closure: bool = False) -> Action:
    """`at_closure`: created by the closure itself (the read-across tracked after it), on behalf
    of the customer's quality lead who signs it - not a team member's edit."""
    if not at_closure:
        _guard(actor, report)
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    kind = data.get("kind")
    if kind is None:
        raise Invalid(_("Choose the kind of action."), fields={"kind": "is required"})
    if not isinstance(kind, str):
        raise BadRequest(_("'kind' must be a string."), {"fields": {"kind": "must be containment, corrective or preventive"}})
    if kind not in {k.value for k in ActionKind}:
        raise Invalid(_("Unknown kind of action."), fields={"kind": "must be containment, corrective or preventive"})
    kind = ActionKind(kind)
    unknown = [k for k in data if k not in (*EDITABLE, "kind")]
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: "is not a field of an action" for k in unknown})
    _kind_fields(kind, data)
    title = _str(data, "title", 500, required=True)
    if "owner_id" not in data or data.get("owner_id") is None:
        raise Invalid(_("Some values are missing."), fields={"owner_id": "is required"})
    owner = _owner(report, data.get("owner_id"))
    due = _date(data, "due_date", required=True)
    cause, causes = _cause(report, data)
    if data.get("implemented_on") not in (None, ""):
        raise Invalid(_("An action is implemented after it was created: set the date with the step to implemented."),
                      fields={"implemented_on": "is set with status implemented"})
    action = Action(
        report_id=report.id, kind=kind, ref=_ref(report, kind, data), title=title, description=_str(data, "description", 20_000),
        owner_id=owner.id, due_date=due, cause=cause, causes=causes, location=_location(data),
        qty_suspect=_int(data, "qty_suspect"), qty_checked=_int(data, "qty_checked"), qty_nok=_int(data, "qty_nok"),
        introduced_on=_date(data, "introduced_on"), effective_from=_date(data, "effective_from"), effective_pct=_int(data, "effective_pct", 0, 100),
        pre_verification=_str(data, "pre_verification", 20_000), error_proofing=_str(data, "error_proofing", 20_000), target=_str(data, "target", 500),
        **{name: _evidence(report, data, name) for name in EVIDENCE_LISTS},
        status=ActionStatus.open, version=1, created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
    )
    action.owner = owner
    action.report = report
    db.session.add(action)
    db.session.flush()
    audit.record("action.created", actor, report, discipline=action.discipline,
                 changes={"action_id": [None, action.id], **{k: [None, v] for k, v in snapshot(action).items() if v is not None}})
    _notify_assigned(report, actor, action, previous_owner=None)
    return action


def _notify_assigned(report: Report, actor: User, action: Action, previous_owner: User | None) -> None:
    from app.services import notifications

    notifications.action_assigned(report, actor, action, previous_owner)


def get_action(user: User, action_id: Any, for_update: bool = False) -> Action:
    action, _report = get_visible_child(user, Action, action_id, _("No such action."))
    if for_update and db.engine.dialect.name == "postgresql":
        db.session.execute(select(Report.id).where(Report.id == action.report_id).with_for_update())
        db.session.refresh(action)
    return action


def update_action(actor: User, action: Action, data: Any) -> Action:
    report = action.report
    _guard(actor, report, action)
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadRequest(_("'version' must be an integer."), {"fields": {"version": "is required (an integer)"}})
    if version != action.version:
        raise Conflict(
            _("Someone else changed this action since you loaded it. Reload it and apply your change again."),
            {"fields": {k: {"yours": data[k], "theirs": snapshot(action).get(k)} for k in data if k in snapshot(action)},
             "version": action.version},
        )
    unknown = [k for k in data if k not in (*EDITABLE, "version", "status", "verification", "reason", "removed_at")]
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: "is not a field of an action" for k in unknown})
    _kind_fields(action.kind, data)
    before = snapshot(action)
    previous_owner = action.owner
    if "ref" in data:
        action.ref = _ref(report, action.kind, data, action)
    if "title" in data:
        action.title = _str(data, "title", 500, required=True)
    if "description" in data:
        action.description = _str(data, "description", 20_000)
    if "owner_id" in data:
        owner = _owner(report, data["owner_id"])
        action.owner_id, action.owner = owner.id, owner
    if "due_date" in data:
        action.due_date = _date(data, "due_date", required=True)
    if "cause" in data or "causes" in data or "cause_ref" in data:
        given = {"cause": data.get("cause", action.cause)}
        if "causes" in data or "cause_ref" in data:
            given.update({k: data[k] for k in ("causes", "cause_ref") if k in data})
        else:
            given["causes"] = list(action.causes or [])
        action.cause, action.causes = _cause(report, given)
    if "location" in data:
        action.location = _location(data)
    for q in ("qty_suspect", "qty_checked", "qty_nok"):
        if q in data:
            setattr(action, q, _int(data, q))
    for name in ("introduced_on", "effective_from"):
        if name in data:
            setattr(action, name, _date(data, name))
    if "effective_pct" in data:
        action.effective_pct = _int(data, "effective_pct", 0, 100)
    for name, limit in (("pre_verification", 20_000), ("error_proofing", 20_000), ("target", 500)):
        if name in data:
            setattr(action, name, _str(data, name, limit))
    for name in EVIDENCE_LISTS:
        if name in data:
            setattr(action, name, _evidence(report, data, name, getattr(action, name)))
    if "status" in data and data["status"] != action.status.value:
        _step(actor, action, data)
    elif "verification" in data and action.status == ActionStatus.verified and data["verification"] != action.verification:
        raise Conflict(_("A verified action's verification cannot be changed."))
    if "implemented_on" in data:
        if action.status not in (ActionStatus.implemented, ActionStatus.verified):
            raise Invalid(_("An action gets its implementation date when it is implemented (status implemented)."),
                          fields={"implemented_on": "is set with status implemented"})
        action.implemented_on = _date(data, "implemented_on", required=True)
    if "removed_at" in data:
        _lift(actor, action, report, data["removed_at"])
    after = snapshot(action)
    changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changes:
        return action
    action.version += 1
    action.updated_at = utcnow()
    audit.record("action.updated", actor, report, discipline=action.discipline,
                 changes={"action_id": [action.id, action.id], **changes}, comment=data.get("reason") if isinstance(data.get("reason"), str) else None)
    if action.owner_id != previous_owner.id:
        _notify_assigned(report, actor, action, previous_owner)
    return action


def _step(actor: User, action: Action, data: dict) -> None:
    target = data["status"]
    if not isinstance(target, str):
        raise BadRequest(_("'status' must be a string."), {"fields": {"status": "must be a string"}})
    if target not in {s.value for s in ActionStatus}:
        raise Invalid(_("Unknown status."), fields={"status": "must be open, in_progress, implemented, verified or cancelled"})
    target = ActionStatus(target)
    if target not in STEPS[action.status]:
        raise Invalid(
            _("An action goes open -> in progress -> implemented -> verified (or is cancelled); %(a)s -> %(b)s is not a step.", a=action.status.value, b=target.value),
            fields={"status": f"cannot go from {action.status.value} to {target.value}"},
            rule="status_step",
        )
    if target == ActionStatus.verified:
        verification = _str(data, "verification", 20_000) or action.verification
        if not verification:
            raise Invalid(_("Describe how the effectiveness was verified."), fields={"verification": "is required to verify an action"})
        if actor.id == action.owner_id:
            raise Invalid(_("Someone other than the owner must verify the action."), fields={"status": "the owner cannot verify their own action"}, rule="four_eyes")
        action.verification, action.verified_by_id, action.verified_at = verification, actor.id, utcnow()
    if target == ActionStatus.cancelled:
        reason = _str(data, "reason", 5000)
        if not reason:
            raise Invalid(_("Give a reason for cancelling the action."), fields={"reason": "is required to cancel an action"})
        action.cancel_reason = reason
    if target == ActionStatus.implemented:
        action.implemented_at = utcnow()
        action.implemented_on = action.implemented_on or action.implemented_at.date()
    action.status = target


def _lift(actor: User, action: Action, report: Report, value: Any) -> None:
    if action.kind != ActionKind.containment:
        raise Invalid(_("Only containment actions are lifted."), fields={"removed_at": "only for containment actions"})
    when = _time(value, "removed_at")
    if when is None:
        action.removed_at, action.removed_by_id = None, None
        return
    if method.CODES.index(report.stage) < method.CODES.index("D6"):
        raise Invalid(_("Containment stays until D6 proves the permanent fix."), fields={"removed_at": "containment is lifted in D6"}, rule="containment_until_d6")
    if when > utcnow() + dt.timedelta(minutes=5):
        raise Invalid(_("The removal time lies in the future."), fields={"removed_at": "cannot lie in the future"})
    action.removed_at, action.removed_by_id = when, actor.id


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


def referencing(report: Report, attachment_id: int) -> list[tuple[Action, str]]:
    """The report's actions whose evidence lists name the attachment: (action, list name)."""
    rows = db.session.scalars(select(Action).where(Action.report_id == report.id).order_by(Action.id)).unique().all()
    return [(a, name) for a in rows for name in EVIDENCE_LISTS if attachment_id in (getattr(a, name) or [])]


def add_evidence(actor: User, action: Action, name: str, attachment_id: int) -> None:
    """A file uploaded for the action (the action page's upload) joins one of its evidence lists."""
    if name not in EVIDENCE_LISTS or action.kind not in KIND_FIELDS.get(name, set(ActionKind)):
        raise Invalid(_("This action has no such evidence."), fields={"claim": f"must be one of: {', '.join(claims_of(action))}"})
    current = list(getattr(action, name) or [])
    if attachment_id not in current:
        update_action(actor, action, {"version": action.version, name: [*current, attachment_id]})


def claims_of(action: Action) -> list[str]:
    """The evidence lists an action of this kind has."""
    return [n for n in EVIDENCE_LISTS if action.kind in KIND_FIELDS.get(n, set(ActionKind))]
