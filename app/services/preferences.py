"""Per-user notification preferences: immediate, daily digest or off, per category. Review
requests and assignments cannot be switched off (someone waits for the user to act)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.errors import Invalid
from app.extensions import db
from app.models import NotificationMode, NotificationPreference, User
from app.notify import CATEGORIES, MANDATORY_CATEGORIES

CATEGORY_LABELS = {
    "stage": _l("Stage changes of my reports"),
    "review": _l("Review requests and decisions"),
    "assignment": _l("Actions assigned to me"),
    "team": _l("Added to a team"),
    "mention": _l("Mentions in comments"),
    "reminder": _l("Due and overdue reminders"),
}


def preferences(user: User) -> dict[str, str]:
    stored = {p.category: p.mode.value for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    return {c: stored.get(c, "immediate") for c in CATEGORIES}


def set_preferences(user: User, wanted: dict[str, Any]) -> dict[str, str]:
    modes = {m.value for m in NotificationMode}
    errors = {}
    for category, mode in wanted.items():
        if category not in CATEGORIES:
            errors[category] = "is not a notification category"
        elif mode not in modes:
            errors[category] = "must be immediate, digest or off"
        elif mode == "off" and category in MANDATORY_CATEGORIES:
            errors[category] = str(_("cannot be switched off"))
    if errors:
        raise Invalid(_("Some preferences are not valid."), fields=errors)
    existing = {p.category: p for p in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))}
    for category, mode in wanted.items():
        row = existing.get(category) or NotificationPreference(user_id=user.id, category=category)
        row.mode = NotificationMode(mode)
        db.session.add(row)
    return preferences(user)
