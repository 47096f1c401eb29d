"""The effectiveness watch after closure: approving D8 starts one (unless 0 days are chosen); at
its end the customer's quality lead decides, signed, whether the fix held."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import JSONType, utcnow
from app.models.report import Report

WATCH_STATUSES = ("watching", "effective", "not_effective")


class EffectivenessWatch(db.Model):
    __tablename__ = "effectiveness_watch"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int] = mapped_column(default=0)  # the report's revision that was closed
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    until: Mapped[dt.date] = mapped_column(Date, index=True)
    criterion: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(15), default="watching", index=True)
    # Reports of the same two companies, part number and failure mode opened during the watch.
    recurrences: Mapped[list] = mapped_column(JSONType, default=list)
    reminded_at: Mapped[dt.datetime | None]  # the reminder before the end was queued
    due_notified_at: Mapped[dt.datetime | None]  # the "decide now" mail at the end was queued
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    signed_name: Mapped[str | None] = mapped_column(String(200))
    meaning: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))

    report: Mapped[Report] = relationship(backref=backref("watches", order_by="EffectivenessWatch.id", lazy="select"))
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
