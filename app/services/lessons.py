"""The lessons-learned library (issue 18): the D7 lessons of every report a user may see,
searchable and filterable by process (the lesson's category and tags) and failure mode (words of
the report's title); "apply to my line" turns a lesson into a read-across preventive action in a
report of the user's choice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import policy
from app.errors import BadRequest, Invalid, NotFound
from app.extensions import db
from app.models import DisciplineEntry, Report, Status, User, utcnow
from app.services import actions
from app.services.search import terms
from app.services.similar import failure_words

MAX_SCANNED = 2000  # reports read per query (newest first)


@dataclass
class Lesson:
    report_id: int
    number: str
    title: str
    supplier: str
    part_number: str | None
    index: int  # the row of the D7 lessons table (1-based)
    lesson: str
    category: str | None
    tags: str | None


def _rows(user, report_ids: list[int] | None) -> list[Lesson]:
    stmt = (select(Report, DisciplineEntry.values).join(DisciplineEntry, (DisciplineEntry.report_id == Report.id) & (DisciplineEntry.code == "D7"))
            .where(policy.visible_reports_clause(user)))
    if report_ids is not None:
        stmt = stmt.where(Report.id.in_(report_ids))
    out = []
    for report, values in db.session.execute(stmt.order_by(Report.id.desc()).limit(MAX_SCANNED)).all():
        for i, row in enumerate((values or {}).get("lessons") or [], 1):
            if isinstance(row, dict) and isinstance(row.get("text"), str) and row["text"].strip():
                out.append(Lesson(report.id, report.number, report.title, report.supplier.name, report.part_number, i, row["text"].strip(),
                                  (row.get("category") or "").strip() or None, (row.get("tags") or "").strip() or None))
    return out


def find(user, q: str = "", process: str = "", failure_mode: str = "") -> list[Lesson]:
    """The visible lessons with every word of q (in the lesson, its category or tags), of the
    process named (category or tags) and of the failure mode (a word of the report's title)."""
    from app.services.search import Filters, _matches

    words = terms(q)
    ids = None
    if words:  # narrow with the full-text index first (D7 rows that hold every word)
        ids = list({row.report_id for row in db.session.execute(_matches(user, words, Filters(discipline="D7")).limit(MAX_SCANNED * 4))})
    found = _rows(user, ids)
    if words:
        found = [x for x in found if all(w in f"{x.lesson} {x.category or ''} {x.tags or ''}".lower() or _stem_in(w, x) for w in words)]
    if process.strip():
        p = process.strip().lower()
        found = [x for x in found if p in f"{x.category or ''} {x.tags or ''}".lower()]
    if failure_mode.strip():
        wanted = failure_words(failure_mode)
        found = [x for x in found if wanted & failure_words(x.title)]
    return found


def _stem_in(word: str, lesson: Lesson) -> bool:
    return bool(failure_words(word) & failure_words(f"{lesson.lesson} {lesson.category or ''} {lesson.tags or ''}"))


def lesson_of(user, report_id: Any, index: Any) -> Lesson:
    if not str(report_id).isdigit() or not str(index).isdigit() or len(str(report_id)) > 9:
        raise NotFound(_("No such lesson."))
    found = [x for x in _rows(user, [int(report_id)]) if x.index == int(index)]
    if not found:
        raise NotFound(_("No such lesson."))
    return found[0]


def apply_to_line(actor: User, lesson: Lesson, report: Report, target: Any, due_date: Any) -> Any:
    """A read-across preventive action in `report` (the actor's choice, where they may add
    actions): apply the lesson of another 8D to their line."""
    if report.status == Status.closed:
        raise Invalid(_("Choose an open report: a closed one takes no new actions."), fields={"report_id": "is closed"})
    if not isinstance(target, str) or not target.strip():
        raise Invalid(_("Name the product, line or plant it applies to."), fields={"target": "is required"})
    if due_date in (None, ""):
        due_date = (utcnow().date() + dt.timedelta(days=30)).isoformat()
    if not isinstance(due_date, str):
        raise BadRequest("'due_date' must be a date (YYYY-MM-DD).", {"fields": {"due_date": "must be a date"}})
    description = f"Read-across of the lesson learned in {lesson.number} ({lesson.title}):\n{lesson.lesson}"
    return actions.create_action(actor, report, {
        "kind": "preventive", "title": f"Read-across from {lesson.number}: {lesson.lesson}"[:500], "owner_id": actor.id, "due_date": due_date,
        "target": target.strip()[:500], "description": description})
