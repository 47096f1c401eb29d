"""Languages: which one a request, a user or a mail is written in, and dates and numbers per locale.

A signed-in user's own choice (account page, `PATCH /api/v1/me`) wins; without one the browser's
Accept-Language decides among the shipped languages; otherwise English. Mails are written in the
recipient's language (app/notify), the PDF in the reader's (app/services/export.py).

English keeps ISO 8601 dates (2026-12-01), the habit of international engineering teams; German
and Chinese read dates and numbers the CLDR way (1. Dez. 2026, 2026年12月1日, 1.234,5).
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

from flask import current_app, has_request_context, request
from flask_babel import force_locale, format_date, format_decimal, format_time, get_locale, refresh
from sqlalchemy.exc import SQLAlchemyError

# Each language named in itself: a reader finds their own even when the page is in another.
NAMES = {"en": "English", "de": "Deutsch", "zh": "中文"}


def languages() -> list[str]:
    return list(current_app.config.get("LANGUAGES") or ["en"])


def default_language() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"


def valid(code: object) -> bool:
    return isinstance(code, str) and code in languages()


def browser_language() -> str | None:
    if not has_request_context():
        return None
    return request.accept_languages.best_match(languages())


def select_locale() -> str:
    """Flask-Babel's locale selector: the user's choice, else Accept-Language, else English."""
    if not has_request_context():
        return default_language()
    from flask_login import current_user

    try:
        chosen = getattr(current_user, "language", None) if current_user else None
    except SQLAlchemyError:  # the database does not answer: the browser's language still does
        chosen = None
    if valid(chosen):
        return chosen
    return browser_language() or default_language()


def refresh_locale() -> None:
    refresh()


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else default_language()


def user_language(user) -> str:
    """The language to write to `user` in when they are not the one asking (mails)."""
    chosen = getattr(user, "language", None)
    return chosen if valid(chosen) else default_language()


@contextmanager
def language_of(user):
    with force_locale(user_language(user)):
        yield


def _english() -> bool:
    return current_language() == "en"


def format_day(value: dt.date | str | None) -> str:
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.isoformat() if _english() else format_date(value, "medium")


def format_moment(value: dt.datetime | str | None) -> str:
    """A moment in UTC, as the reader's locale writes it."""
    if value in (None, ""):
        return ""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    if _english():
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return f"{format_date(value.date(), 'medium')} {format_time(value.time(), 'short')} UTC"


def format_number(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if _english() or not isinstance(value, int | float):
        return str(value)
    return format_decimal(value, format="#,##0.###")
