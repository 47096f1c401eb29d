"""The request edge of a page form: run the service step, commit once, say how it went."""

from __future__ import annotations

from collections.abc import Callable

from flask import flash

from app.errors import DomainError, Forbidden
from app.extensions import db


def commit_or_flash(step: Callable[[], object], success: str, category: str = "success") -> bool:
    """Commit what `step` did and flash `success`; a refused step changes nothing and its message
    is flashed. A missing permission is not a message but a 403 from the shared handler."""
    try:
        step()
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        if isinstance(exc, Forbidden):
            raise
        flash(exc.message, "danger")
        return False
    flash(success, category)
    return True
