"""Template globals and filters: the policy and the method are available to every template, so
buttons are shown by the same rules the server enforces."""

from __future__ import annotations

import datetime as dt
import json

from flask import g
from markupsafe import Markup

from app import i18n, method, policy
from app.models import Status


def _labels():
    from flask_babel import lazy_gettext as _l

    return {
        "report.created": _l("opened the report"), "report.header_updated": _l("edited the complaint"),
        "discipline.updated": _l("edited"), "stage.advanced": _l("completed and moved on"), "stage.returned": _l("sent back"),
        "review.requested": _l("submitted for customer review"), "review.approved": _l("approved and signed"),
        "review.rejected": _l("rejected"), "review.withdrawn": _l("customer acceptance withdrawn"), "report.reopened": _l("reopened"),
        "signature.failed": _l("signature refused (wrong password)"), "team.added": _l("added to the team"),
        "team.changed": _l("changed a team role"), "team.removed": _l("removed from the team"), "comment.added": _l("commented"),
        "comment.edited": _l("edited a comment"), "comment.withdrawn": _l("withdrew a comment"), "action.created": _l("added an action"),
        "action.updated": _l("updated an action"), "evidence.uploaded": _l("added evidence"), "evidence.withdrawn": _l("withdrew evidence"),
        "evidence.purged": _l("purged an evidence file"), "report.cascaded": _l("cascaded to a sub-supplier"),
        "invitation.created": _l("invited by e-mail"), "invitation.revoked": _l("revoked an invitation"),
        "invitation.accepted": _l("accepted an invitation"),
    }


EVENT_LABELS = _labels()


def _statuses():
    from flask_babel import lazy_gettext as _l

    return {"open": _l("Open"), "in_review": _l("In review"), "closed": _l("Closed")}


STATUS_LABELS = _statuses()


def _role_labels() -> dict:
    from app.web.admin.forms import ROLE_CHOICES

    return dict(ROLE_CHOICES)


def _enum_labels() -> dict:
    """Stored values people read (action kinds and states, team roles, mail states), translated."""
    from flask_babel import lazy_gettext as _l

    from app.method.definition import ACTION_KINDS, ACTION_STATUS

    labels = {c.value: c.label for c in ACTION_STATUS + ACTION_KINDS}
    labels.update({
        "champion": _l("champion"), "leader": _l("team leader"), "member": _l("member"), "viewer": _l("viewer"),
        "pending": _l("pending"), "held": _l("held for the digest"), "sending": _l("sending"), "sent": _l("sent"), "failed": _l("failed"),
    })
    return labels


ENUM_LABELS = _enum_labels()


def N_(text: str) -> str:
    """Marks a text for extraction (`make messages` looks for N_) that is translated later."""
    return text


# Written by static/js/app.js and live.js; translated per page into <meta name="i18n">.
JS_TEXTS = (
    N_("Uploading %(name)s…"), N_("Uploading… %(done)s of %(total)s"), N_("Uploaded: %(done)s"), N_("refused: %(list)s"),
    N_("connection lost"), N_("Also here: %(list)s"), N_("editing %(code)s"), N_("viewing %(code)s"),
)


def _choice_label(options, value) -> str:
    if value in (None, ""):
        return "—"
    return next((str(c.label) for c in options if c.value == value), str(value))


def _globals() -> dict:
    return {
        "policy": policy,
        "method": method,
        "Status": Status,
        "csp_nonce": lambda: getattr(g, "csp_nonce", ""),
        "language_names": i18n.NAMES,
        "current_language": i18n.current_language,
        "status_label": lambda s: str(STATUS_LABELS.get(getattr(s, "value", s), s)),
        "enum_label": lambda v: str(ENUM_LABELS.get(getattr(v, "value", v), getattr(v, "value", v))),
        "role_label": lambda r: str(_role_labels().get(getattr(r, "value", r), r)),
    }


def js_messages() -> dict:
    """The few texts the scripts write themselves (static/js), in the page's language."""
    from flask_babel import gettext

    return {k: gettext(k) for k in JS_TEXTS}


def decline_reason(value) -> str:
    from app.notify.events import DECLINE_REASONS

    return str(DECLINE_REASONS.get(value, value or ""))


def location_label(value) -> str:
    return _choice_label(method.definition.LOCATIONS, value)


def cause_label(value) -> str:
    return _choice_label(method.definition.CAUSE_KINDS, value)


def event_label(action: str) -> str:
    return str(EVENT_LABELS.get(action, action))


def dict_without(value: dict, *keys):
    return {k: v for k, v in value.items() if k not in keys}


def report_overdue(report) -> bool:
    from app.serialize import report_overdue as overdue

    return overdue(report)


def is_overdue(action) -> bool:
    from app.services.action_queries import is_overdue as overdue

    return overdue(action)


def today_iso() -> str:
    from app.models import utcnow

    return utcnow().date().isoformat()


def moment_or_day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return i18n.format_moment(value)
    return i18n.format_day(value) if isinstance(value, dt.date) else str(value)


def tojson_attr(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def display(value, field=None):
    """A stored value as a reviewer reads it."""
    from flask_babel import gettext

    if value is None or value == "":
        return Markup('<span class="text-body-secondary">—</span>')
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if field is not None and field.type == "choice":
        return field.choice_label(value)
    if field is not None and field.type == "date":
        return i18n.format_day(value)
    if isinstance(value, int | float):
        return i18n.format_number(value)
    return value


GLOBALS = {"js_messages": js_messages, "decline_reason": decline_reason, "location_label": location_label, "cause_label": cause_label,
           "report_overdue": report_overdue, "is_overdue": is_overdue, "today_iso": today_iso}
FILTERS = {"event_label": event_label, "dict_without": dict_without, "dt": moment_or_day, "day": i18n.format_day, "moment": i18n.format_moment,
           "num": i18n.format_number, "tojson_attr": tojson_attr, "display": display}


def register(app) -> None:
    app.context_processor(_globals)
    for name, function in GLOBALS.items():
        app.add_template_global(function, name)
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
