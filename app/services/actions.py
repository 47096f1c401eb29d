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
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.models import Action, ActionKind, ActionStatus, Report, Status, User, utcnow
from app.models.action import EVIDENCE_LISTS
from app.services import audit, notifications
from app.services.action_input import (
    EDITABLE,
    KIND_FIELDS,
    action_ref,
    apply_fields,
    cause_refs,
    check_kind_fields,
    date_value,
    evidence_ids,
    int_value,
    location_value,
    team_owner,
    text_value,
    time_value,
)
from app.services.locking import lock_report
from app.services.reports import get_visible_child

STEPS = {
    ActionStatus.open: {ActionStatus.in_progress, ActionStatus.cancelled},
    ActionStatus.in_progress: {ActionStatus.implemented, ActionStatus.cancelled},
    ActionStatus.implemented: {ActionStatus.verified, ActionStatus.cancelled},
    ActionStatus.verified: set(),
    ActionStatus.cancelled: set(),
}
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
    check_kind_fields(kind, data)
    title = text_value(data, "title", 500, required=True)
    if "owner_id" not in data or data.get("owner_id") is None:
        raise Invalid(_("Some values are missing."), fields={"owner_id": "is required"})
    owner = team_owner(report, data.get("owner_id"))
    due = date_value(data, "due_date", required=True)
    cause, causes = cause_refs(report, data)
    if data.get("implemented_on") not in (None, ""):
        raise Invalid(_("An action is implemented after it was created: set the date with the step to implemented."),
                      fields={"implemented_on": "is set with status implemented"})
    action = Action(
        report_id=report.id, kind=kind, ref=action_ref(report, kind, data), title=title, description=text_value(data, "description", 20_000),
        owner_id=owner.id, due_date=due, cause=cause, causes=causes, location=location_value(data),
        qty_suspect=int_value(data, "qty_suspect"), qty_checked=int_value(data, "qty_checked"), qty_nok=int_value(data, "qty_nok"),
        introduced_on=date_value(data, "introduced_on"), effective_from=date_value(data, "effective_from"), effective_pct=int_value(data, "effective_pct", 0, 100),
        pre_verification=text_value(data, "pre_verification", 20_000), error_proofing=text_value(data, "error_proofing", 20_000), target=text_value(data, "target", 500),
        **{name: evidence_ids(report, data, name) for name in EVIDENCE_LISTS},
        status=ActionStatus.open, version=1, created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
    )
    action.owner = owner
    action.report = report
    db.session.add(action)
    db.session.flush()
    audit.record("action.created", actor, report, discipline=action.discipline,
                 changes={"action_id": [None, action.id], **{k: [None, v] for k, v in snapshot(action).items() if v is not None}})
    notifications.action_assigned(report, actor, action)
    return action


def get_action(user: User, action_id: Any, for_update: bool = False) -> Action:
    action, report = get_visible_child(user, Action, action_id, _("No such action."))
    if for_update:
        lock_report(report)  # the action is read again under the report's lock
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
    check_kind_fields(action.kind, data)
    before = snapshot(action)
    previous_owner = action.owner
    apply_fields(action, report, data)
    if "status" in data and data["status"] != action.status.value:
        _step(actor, action, data)
    elif "verification" in data and action.status == ActionStatus.verified and data["verification"] != action.verification:
        raise Conflict(_("A verified action's verification cannot be changed."))
    if "implemented_on" in data:
        if action.status not in (ActionStatus.implemented, ActionStatus.verified):
            raise Invalid(_("An action gets its implementation date when it is implemented (status implemented)."),
                          fields={"implemented_on": "is set with status implemented"})
        action.implemented_on = date_value(data, "implemented_on", required=True)
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
        notifications.action_assigned(report, actor, action)
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
        verification = text_value(data, "verification", 20_000) or action.verification
        if not verification:
            raise Invalid(_("Describe how the effectiveness was verified."), fields={"verification": "is required to verify an action"})
        if actor.id == action.owner_id:
            raise Invalid(_("Someone other than the owner must verify the action."), fields={"status": "the owner cannot verify their own action"}, rule="four_eyes")
        action.verification, action.verified_by_id, action.verified_at = verification, actor.id, utcnow()
    if target == ActionStatus.cancelled:
        reason = text_value(data, "reason", 5000)
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
    when = time_value(value, "removed_at")
    if when is None:
        action.removed_at, action.removed_by_id = None, None
        return
    if method.CODES.index(report.stage) < method.CODES.index("D6"):
        raise Invalid(_("Containment stays until D6 proves the permanent fix."), fields={"removed_at": "containment is lifted in D6"}, rule="containment_until_d6")
    if when > utcnow() + dt.timedelta(minutes=5):
        raise Invalid(_("The removal time lies in the future."), fields={"removed_at": "cannot lie in the future"})
    action.removed_at, action.removed_by_id = when, actor.id


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
