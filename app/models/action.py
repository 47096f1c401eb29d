"""Containment, corrective and preventive actions, tracked to verified effectiveness."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User, _enum
from app.models.base import utcnow


class ActionKind(str, enum.Enum):
    containment = "containment"  # D3, lifted in D6
    corrective = "corrective"  # D5 chosen, D6 implemented
    preventive = "preventive"  # D7


class ActionStatus(str, enum.Enum):
    open = "open"
    in_progress = "in_progress"
    implemented = "implemented"
    verified = "verified"
    cancelled = "cancelled"


DISCIPLINE_OF_KIND = {ActionKind.containment: "D3", ActionKind.corrective: "D5", ActionKind.preventive: "D7"}


class Action(db.Model):
    __tablename__ = "action"
    __table_args__ = (
        Index("ix_action_report", "report_id", "kind"),
        Index("ix_action_owner_due", "owner_id", "due_date"),
        Index("ix_action_status_due", "status", "due_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind, "action_kind"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    cause: Mapped[str | None] = mapped_column(String(20))  # occurrence | non_detection | systemic
    cause_ref: Mapped[str | None] = mapped_column(String(40))  # the D4 cause it addresses, e.g. "C1"
    location: Mapped[str | None] = mapped_column(String(20))  # containment: where
    qty_suspect: Mapped[int | None]
    qty_checked: Mapped[int | None]
    qty_nok: Mapped[int | None]
    status: Mapped[ActionStatus] = mapped_column(_enum(ActionStatus, "action_status"), default=ActionStatus.open)
    verification: Mapped[str | None] = mapped_column(Text)
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    verified_at: Mapped[dt.datetime | None]
    implemented_at: Mapped[dt.datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[dt.datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id], lazy="joined", innerjoin=True)
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id], lazy="joined")
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id], lazy="joined")
    report = relationship("Report", lazy="joined", innerjoin=True)

    @property
    def discipline(self) -> str:
        return DISCIPLINE_OF_KIND[self.kind]
