"""Containment, corrective and preventive actions: assignment, status steps with verification
by someone other than the owner, cancellation with a reason, containment lifted in D6."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import method, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid
from app.extensions import db
from app.method.definition import LOCATIONS
from app.method.fields import parse_date
from app.models import Action, ActionKind, ActionStatus, Report, Status, User, utcnow
from app.services import audit
from app.services.reports import get_visible_child, touch

CAUSES = ("occurrence", "non_detection", "systemic")
STEPS = {
    ActionStatus.open: {ActionStatus.in_progress, ActionStatus.cancelled},
    ActionStatus.in_progress: {ActionStatus.implemented, ActionStatus.cancelled},
    ActionStatus.implemented: {ActionStatus.verified, ActionStatus.cancelled},
    ActionStatus.verified: set(),
    ActionStatus.cancelled: set(),
}
EDITABLE = ("title", "description", "owner_id", "due_date", "cause", "cause_ref", "location", "qty_suspect", "qty_checked", "qty_nok")


def _str(data: dict, name: str, limit: int, required: bool = False) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise Invalid(_("Some values are missing."), fields={name: "is required"})
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a string.", {"fields": {name: "must be a string"}})
    value = value.strip()
    if required and not value:
        raise Invalid(_("Some values are missing."), fields={name: "is required"})
    if len(value) > limit or "\x00" in value:
        raise Invalid(_("A value is too long."), fields={name: f"is too long (at most {limit} characters)"})
    return value or None


def _int(data: dict, name: str, minimum: int = 0) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"'{name}' must be an integer.", {"fields": {name: "must be an integer"}})
    if value < minimum or value > 10**9:
        raise Invalid(_("A quantity is out of range."), fields={name: f"must be between {minimum} and 1000000000"})
    return value


def _date(data: dict, name: str, required: bool = False) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        if required:
            raise Invalid(_("Some values are missing."), fields={name: "is required (YYYY-MM-DD)"})
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be a date string.", {"fields": {name: "must be a date YYYY-MM-DD"}})
    parsed = parse_date(value)
    if parsed is None or not 2000 <= parsed.year <= 2100:
        raise Invalid(_("The date is not valid."), fields={name: "must be a valid date YYYY-MM-DD"})
    return parsed


def _time(value: Any, name: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{name}' must be an ISO 8601 time.", {"fields": {name: "must be a time string"}})
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
        raise BadRequest("'owner_id' must be an integer.", {"fields": {"owner_id": "must be an integer"}})
    member = next((m for m in report.team if m.user_id == value), None)
    if member is None or not member.user.active or member.role.value == "viewer":
        raise Invalid(_("The owner must be a working member of the report's team."), fields={"owner_id": "is not on the report's team"})
    return member.user


def _cause(report: Report, data: dict) -> tuple[str | None, str | None]:
    cause = _str(data, "cause", 20)
    if cause is not None and cause not in CAUSES:
        raise Invalid(_("Unknown cause."), fields={"cause": "must be occurrence, non_detection or systemic"})
    ref = _str(data, "cause_ref", 40)
    if ref is not None:
        causes = report.discipline("D4").values.get("causes") or []
        match = next((c for c in causes if c.get("ref") == ref), None)
        if match is None:
            raise Invalid(_("D4 lists no cause with this reference."), fields={"cause_ref": "is not a cause of D4"})
        if cause is None:
            cause = match.get("kind")
    return cause, ref


def _location(data: dict) -> str | None:
    loc = _str(data, "location", 20)
    if loc is not None and loc not in {c.value for c in LOCATIONS}:
        raise Invalid(_("Unknown location."), fields={"location": "must be one of " + ", ".join(c.value for c in LOCATIONS)})
    return loc


def _guard(actor: User, report: Report) -> None:
    if not policy.can_manage_actions(actor, report):
        raise Forbidden(_("Only members of the report's team can manage its actions."))
    if report.status == Status.closed:
        raise Conflict(_("The report is closed."), {"rule": "closed"})


def snapshot(a: Action) -> dict:
    return {
        "title": a.title, "description": a.description, "owner": a.owner.email if a.owner else None,
        "due_date": a.due_date.isoformat() if a.due_date else None, "cause": a.cause, "cause_ref": a.cause_ref,
        "location": a.location, "qty_suspect": a.qty_suspect, "qty_checked": a.qty_checked, "qty_nok": a.qty_nok,
        "status": a.status.value, "verification": a.verification, "cancel_reason": a.cancel_reason,
        "removed_at": a.removed_at.isoformat() if a.removed_at else None,
    }


def warnings_for(a: Action) -> list[str]:
    out = []
    if a.due_date and a.due_date < utcnow().date() and a.status not in (ActionStatus.verified, ActionStatus.cancelled):
        out.append(_("The due date lies in the past."))
    if a.kind == ActionKind.containment and a.qty_checked is not None and a.qty_suspect is not None and a.qty_checked > a.qty_suspect:
        out.append(_("More parts checked than suspect."))
    return out


def create_action(actor: User, report: Report, data: Any) -> Action:
    _guard(actor, report)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    kind = data.get("kind")
    if kind is None:
        raise Invalid(_("Choose the kind of action."), fields={"kind": "is required"})
    if not isinstance(kind, str):
        raise BadRequest("'kind' must be a string.", {"fields": {"kind": "must be containment, corrective or preventive"}})
    if kind not in {k.value for k in ActionKind}:
        raise Invalid(_("Unknown kind of action."), fields={"kind": "must be containment, corrective or preventive"})
    title = _str(data, "title", 500, required=True)
    if "owner_id" not in data or data.get("owner_id") is None:
        raise Invalid(_("Some values are missing."), fields={"owner_id": "is required"})
    owner = _owner(report, data.get("owner_id"))
    due = _date(data, "due_date", required=True)
    cause, cause_ref = _cause(report, data)
    action = Action(
        report_id=report.id, kind=ActionKind(kind), title=title, description=_str(data, "description", 20_000),
        owner_id=owner.id, due_date=due, cause=cause, cause_ref=cause_ref, location=_location(data),
        qty_suspect=_int(data, "qty_suspect"), qty_checked=_int(data, "qty_checked"), qty_nok=_int(data, "qty_nok"),
        status=ActionStatus.open, version=1, created_by_id=actor.id, created_at=utcnow(), updated_at=utcnow(),
    )
    action.owner = owner
    action.report = report
    db.session.add(action)
    db.session.flush()
    audit.record("action.created", actor, report, discipline=action.discipline,
                 changes={"action_id": [None, action.id], **{k: [None, v] for k, v in snapshot(action).items() if v is not None}})
    _notify_assigned(report, actor, action, previous_owner=None)
    touch(report)
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
    _guard(actor, report)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise BadRequest("'version' must be an integer.", {"fields": {"version": "is required (an integer)"}})
    if version != action.version:
        raise Conflict(
            _("Someone else changed this action since you loaded it. Reload it and apply your change again."),
            {"fields": {k: {"yours": data[k], "theirs": snapshot(action).get(k)} for k in data if k in snapshot(action)},
             "version": action.version},
        )
    unknown = [k for k in data if k not in (*EDITABLE, "version", "status", "verification", "reason", "removed_at")]
    if unknown:
        raise Invalid(_("Unknown fields."), fields={k: "is not a field of an action" for k in unknown})
    before = snapshot(action)
    previous_owner = action.owner
    if "title" in data:
        action.title = _str(data, "title", 500, required=True)
    if "description" in data:
        action.description = _str(data, "description", 20_000)
    if "owner_id" in data:
        owner = _owner(report, data["owner_id"])
        action.owner_id, action.owner = owner.id, owner
    if "due_date" in data:
        action.due_date = _date(data, "due_date", required=True)
    if "cause" in data or "cause_ref" in data:
        action.cause, action.cause_ref = _cause(report, {"cause": data.get("cause", action.cause), "cause_ref": data.get("cause_ref", action.cause_ref)})
    if "location" in data:
        action.location = _location(data)
    for q in ("qty_suspect", "qty_checked", "qty_nok"):
        if q in data:
            setattr(action, q, _int(data, q))
    if "status" in data and data["status"] != action.status.value:
        _step(actor, action, data)
    elif "verification" in data and action.status == ActionStatus.verified:
        raise Conflict(_("A verified action's verification cannot be changed."))
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
    touch(report)
    return action


def _step(actor: User, action: Action, data: dict) -> None:
    target = data["status"]
    if not isinstance(target, str):
        raise BadRequest("'status' must be a string.", {"fields": {"status": "must be a string"}})
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
    """What the gates read of a report's actions."""
    rows = db.session.scalars(select(Action).where(Action.report_id == report.id)).all()
    return [
        {"id": a.id, "kind": a.kind.value, "title": a.title, "status": a.status.value, "location": a.location,
         "cause": a.cause, "cause_ref": a.cause_ref, "removed": a.removed_at is not None, "qty_suspect": a.qty_suspect}
        for a in rows
    ]



