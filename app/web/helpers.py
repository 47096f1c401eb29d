"""Template globals and filters: the policy and the method are available to every template, so
buttons are shown by the same rules the server enforces."""

from __future__ import annotations

import datetime as dt
import json

from flask import g
from markupsafe import Markup

from app import method, policy
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


def register(app) -> None:
    from flask_babel import gettext

    @app.context_processor
    def _globals():
        return {
            "policy": policy,
            "method": method,
            "Status": Status,
            "csp_nonce": lambda: getattr(g, "csp_nonce", ""),
            "status_label": lambda s: gettext({"open": "Open", "in_review": "In review", "closed": "Closed"}.get(getattr(s, "value", s), str(s))),
        }

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
            return value.strftime("%Y-%m-%d %H:%M UTC")
        return value.isoformat() if isinstance(value, dt.date) else str(value)

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
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return value

