"""Derived state has one owner: this module.

What the app keeps that is computed from the database - a report's JSON document, its PDF, the
rendered fields of a discipline - is keyed on two numbers that only this module moves:

- a report's `change_counter`: bumped by every flush that changes the report or one of its parts
  (a discipline, a team member, a review, an action, an attachment, a comment), or one of the
  8Ds cascaded from it (their stage and status show in it and decide its gates);
- the accounts generation (`Generation` "accounts"): bumped by every flush that changes what a
  view shows of a person or a company (name, e-mail, role, company, active);
- the full-text index (app/models/search.py): the rows of the parts a flush changed (header, a
  discipline, the actions, the comments) are rewritten after it, in the same transaction.

Services change rows and nothing else; no feature has to remember to invalidate a cache. What
depends on the clock (overdue marks, a comment's edit window) is keyed on the day or computed when
the page is rendered (see app/services/documents.py).
"""

from __future__ import annotations

from itertools import chain

from sqlalchemy import String, event, insert, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db
from app.models import search
from app.models.accounts import Company, User
from app.models.action import Action
from app.models.base import utcnow
from app.models.collab import Comment
from app.models.evidence import Attachment
from app.models.learning import EffectivenessWatch
from app.models.report import DisciplineEntry, Report, Review, TeamMember

# The rows a report's views are made of (presence heartbeats and mails are not).
REPORT_PARTS = (DisciplineEntry, TeamMember, Review, Action, Attachment, Comment, EffectivenessWatch)
# What the views show of people and companies (a login time or a failed signature is not).
SHOWN = {User: ("name", "email", "company_id", "role", "active", "platform_admin"), Company: ("name", "kind", "active")}
ACCOUNTS = "accounts"


class Generation(db.Model):
    """A counter for derived state that belongs to no report."""

    __tablename__ = "generation"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


def accounts_generation(session: Session | None = None) -> int:
    return (session or db.session).scalar(select(Generation.value).where(Generation.name == ACCOUNTS)) or 0


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names if n in state.attrs)


def _search_part(session: Session, obj) -> str | None:
    """Which row of the full-text index this changed object is part of (None: not indexed)."""
    if isinstance(obj, Report):
        return "header" if obj in session.new or _changed(obj, search.HEADER_COLUMNS) else None
    if isinstance(obj, DisciplineEntry):
        return obj.code if obj in session.new or _changed(obj, ("values",)) else None
    return {Action: "actions", Comment: "comments"}.get(type(obj))


def _before_flush(session: Session, _context, _instances) -> None:
    reports: set[int] = set()
    accounts = False
    indexed = session.info["search_pending"] = []  # this flush's (a failed one's are dropped)
    for obj in chain(session.new, session.dirty, session.deleted):
        part = _search_part(session, obj) if obj not in session.deleted else None
        if part is not None:
            indexed.append((obj, part))  # the report's id is known after the flush
        if isinstance(obj, Report):
            if obj.id is not None and (obj in session.deleted or session.is_modified(obj)):
                reports.add(obj.id)
            if obj.parent_id is not None and (obj in session.new or obj in session.deleted or session.is_modified(obj)):
                reports.add(obj.parent_id)  # a cascade's progress shows in its parent (panel, gates)
        elif isinstance(obj, REPORT_PARTS):
            report_id = obj.report_id if obj.report_id is not None else getattr(obj.__dict__.get("report"), "id", None)
            if report_id is not None:
                reports.add(report_id)
        elif isinstance(obj, tuple(SHOWN)):
            accounts = accounts or obj in session.new or obj in session.deleted or _changed(obj, SHOWN[type(obj)])
    if not reports and not accounts:
        return
    now = utcnow()
    loaded = {}
    for report_id in reports:
        report = session.identity_map.get(session.identity_key(Report, report_id))
        if report is not None and report not in session.deleted:
            loaded[report_id] = report
            report.change_counter = Report.change_counter + 1  # in SQL: two flushes at once never lose a bump
            report.updated_at = now
    pending = session.info.setdefault("derived_pending", [set(), False])
    pending[0].update(reports - set(loaded))
    pending[1] = pending[1] or accounts


def _refresh_search(session: Session) -> None:
    indexed = session.info.pop("search_pending", None)
    if not indexed:
        return
    wanted: dict[int, set[str]] = {}
    for obj, part in indexed:
        report_id = obj.id if isinstance(obj, Report) else obj.report_id
        if report_id is not None:
            wanted.setdefault(report_id, set()).add(part)
    search.refresh(session.connection(), wanted)


def _after_flush(session: Session, _context) -> None:
    _refresh_search(session)
    pending = session.info.pop("derived_pending", None)
    if not pending:
        return
    reports, accounts = pending
    conn = session.connection()
    if reports:
        conn.execute(update(Report).where(Report.id.in_(sorted(reports))).values(change_counter=Report.change_counter + 1, updated_at=utcnow())
                     .execution_options(synchronize_session=False))
    if accounts:
        table = Generation.__table__
        if not conn.execute(update(table).where(table.c.name == ACCOUNTS).values(value=table.c.value + 1)).rowcount:
            conn.execute(insert(table).values(name=ACCOUNTS, value=1))


def install() -> None:
    """Once per process (app.register_database)."""
    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)
        event.listen(Session, "after_flush", _after_flush)
