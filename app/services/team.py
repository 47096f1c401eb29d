"""The report's team: people of both companies with a role on this report."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app import notify, policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import STEERING_ROLES, Report, TeamMember, TeamRole, User, is_id
from app.services import audit
from app.services.reports import ensure_not_frozen

ROLES = [r.value for r in TeamRole]


def _role(value: Any) -> TeamRole:
    if not isinstance(value, str):
        raise BadRequest(_("'role' must be a string."), {"fields": {"role": "must be a string"}})
    if value not in ROLES:
        raise Invalid(_("Unknown team role."), fields={"role": "must be one of " + ", ".join(ROLES)})
    return TeamRole(value)


def _function(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise BadRequest(_("'function' must be a string."), {"fields": {"function": "must be a string"}})
    if len(value) > 200:
        raise Invalid(_("The function is too long."), fields={"function": "is too long (at most 200 characters)"})
    return value.strip() or None


def _check_single(report: Report, role: TeamRole, except_user: int | None = None) -> None:
    if role in STEERING_ROLES and any(m.role == role and m.user_id != except_user for m in report.team):
        raise Invalid(
            _("The report already has a %(role)s - change that person's role first.", role=role.value),
            fields={"role": f"the report already has a {role.value}"},
            rule=f"one_{role.value}",
        )


def _check_steering_left(report: Report, leaving: TeamMember) -> None:
    if leaving.role in STEERING_ROLES and not any(m.role in STEERING_ROLES for m in report.team if m.id != leaving.id):
        raise Invalid(
            _("The team must keep a leader or a champion - appoint another one first."), rule="steering_role_required"
        )


def _guard(actor: User, report: Report) -> None:
    if not policy.can_manage_team(actor, report):
        raise Forbidden(_("Only the team leader, the champion or an administrator can change the team."))
    ensure_not_frozen(report, "D1")


def find_member(report: Report, user_id: Any) -> TeamMember:
    member = next((m for m in report.team if m.user_id == user_id), None) if isinstance(user_id, int) else None
    if member is None:
        raise NotFound(_("This person is not on the team."))
    return member


def add_member(actor: User, report: Report, user_id: Any, role: Any, function: Any = None) -> TeamMember:
    _guard(actor, report)
    if isinstance(user_id, bool) or not isinstance(user_id, int):
        raise BadRequest(_("'user_id' must be an integer."), {"fields": {"user_id": "must be an integer"}})
    role = _role(role)
    function = _function(function)
    candidate = db.session.get(User, user_id) if is_id(user_id) else None
    if candidate is None or not policy.may_join_team(candidate, report):
        raise Invalid(_("Only active users of the report's two companies can join its team."), fields={"user_id": "is not a user of the customer or the supplier"})
    if report.team_member(candidate):
        raise Conflict(_("%(name)s is already on the team.", name=candidate.name))
    _check_single(report, role)
    member = TeamMember(report_id=report.id, user_id=candidate.id, role=role, function=function)
    member.user = candidate
    report.team.append(member)
    audit.record("team.added", actor, report, discipline="D1", changes={"member": [None, candidate.email], "role": [None, role.value]})
    notify.team_added(report, actor, candidate, role.value)
    return member


def change_member(actor: User, report: Report, user_id: Any, data: Any) -> TeamMember:
    _guard(actor, report)
    if not isinstance(data, dict):
        raise BadRequest(_('The request body must be a JSON object.'))
    member = find_member(report, user_id)
    changes = {}
    if "role" in data:
        role = _role(data["role"])
        if role != member.role:
            if member.role in STEERING_ROLES and role not in STEERING_ROLES:
                _check_steering_left(report, member)
            _check_single(report, role, except_user=member.user_id)
            changes["role"] = [member.role.value, role.value]
            member.role = role
    if "function" in data:
        function = _function(data["function"])
        if function != member.function:
            changes["function"] = [member.function, function]
            member.function = function
    if changes:
        audit.record("team.changed", actor, report, discipline="D1", changes={"member": [member.user.email, member.user.email], **changes})
    return member


def remove_member(actor: User, report: Report, user_id: Any) -> None:
    _guard(actor, report)
    member = find_member(report, user_id)
    _check_steering_left(report, member)
    report.team.remove(member)
    db.session.delete(member)
    audit.record("team.removed", actor, report, discipline="D1", changes={"member": [member.user.email, None], "role": [member.role.value, None]})
