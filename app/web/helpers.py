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
        "evidence.purged": _l("purged an evidence file"),
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


def register(app) -> None:
    from flask_babel import gettext

    @app.context_processor
    def _globals():
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

    @app.template_global("js_messages")
    def _js_messages() -> dict:
        """The few texts the scripts write themselves (static/js), in the page's language."""
        return {k: gettext(k) for k in JS_TEXTS}

    @app.template_global("decline_reason")
    def _decline_reason(value) -> str:
        from app.notify.events import DECLINE_REASONS

        return str(DECLINE_REASONS.get(value, value or ""))

    @app.template_global("location_label")
    def _location_label(value) -> str:
        return _choice_label(method.definition.LOCATIONS, value)

    @app.template_global("cause_label")
    def _cause_label(value) -> str:
        return _choice_label(method.definition.CAUSE_KINDS, value)

    @app.template_filter("event_label")
    def _event_label(action: str) -> str:
        return str(EVENT_LABELS.get(action, action))

    @app.template_filter("dict_without")
    def _dict_without(value: dict, *keys):
        return {k: v for k, v in value.items() if k not in keys}

    @app.template_global("report_overdue")
    def _report_overdue(report) -> bool:
        from app.serialize import report_overdue

        return report_overdue(report)

    @app.template_global("is_overdue")
    def _is_overdue(action) -> bool:
        from app.services.action_queries import is_overdue

        return is_overdue(action)

    @app.template_global("today_iso")
    def _today_iso():
        from app.models import utcnow

        return utcnow().date().isoformat()

    @app.template_filter("dt")
    def _dt(value):
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            return i18n.format_moment(value)
        return i18n.format_day(value) if isinstance(value, dt.date) else str(value)

    app.add_template_filter(i18n.format_day, "day")
    app.add_template_filter(i18n.format_moment, "moment")
    app.add_template_filter(i18n.format_number, "num")

    @app.template_filter("tojson_attr")
    def _tojson_attr(value):
        return json.dumps(value, ensure_ascii=False)

    @app.template_filter("display")
    def _display(value, field=None):
        """A stored value as a reviewer reads it."""
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

