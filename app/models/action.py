"""Containment, corrective and preventive actions, tracked to verified effectiveness."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User, _enum
from app.models.base import JSONType, utcnow


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
# The short reference other disciplines, the PDF and the people use: ICA1, PCA2, PA1.
REF_PREFIX = {ActionKind.containment: "ICA", ActionKind.corrective: "PCA", ActionKind.preventive: "PA"}
# Lists of attachment ids (of the same report) that prove a claim about the action.
EVIDENCE_LISTS = ("evidence", "pre_verification_evidence", "implementation_evidence")


class Action(db.Model):
    __tablename__ = "action"
    __table_args__ = (
        Index("ix_action_report", "report_id", "kind"),
        Index("ix_action_owner_due", "owner_id", "due_date"),
        Index("ix_action_status_due", "status", "due_date"),
        Index("uq_action_report_kind_ref", "report_id", "kind", "ref", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    kind: Mapped[ActionKind] = mapped_column(_enum(ActionKind, "action_kind"))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    due_date: Mapped[dt.date] = mapped_column(Date)
    ref: Mapped[str] = mapped_column(String(20))
    # Corrective: whether it removes the cause (occurrence), adds detection (non_detection) or fixes the system.
    cause: Mapped[str | None] = mapped_column(String(20))
    causes: Mapped[list] = mapped_column(JSONType, default=list)  # the D4 cause refs it addresses, e.g. ["C1"]
    location: Mapped[str | None] = mapped_column(String(20))  # containment: where (a D3 location)
    introduced_on: Mapped[dt.date | None] = mapped_column(Date)  # containment
    effective_from: Mapped[dt.date | None] = mapped_column(Date)  # containment
    effective_pct: Mapped[int | None]  # containment: % effective
    pre_verification: Mapped[str | None] = mapped_column(Text)  # corrective (D5): proof it works without side effects
    error_proofing: Mapped[str | None] = mapped_column(Text)  # corrective (IATF 16949 10.2.4)
    target: Mapped[str | None] = mapped_column(String(500))  # preventive: the product, line or plant it applies to
    implemented_on: Mapped[dt.date | None] = mapped_column(Date)  # the day it was implemented (a claimed fact)
    evidence: Mapped[list] = mapped_column(JSONType, default=list)  # effectiveness / done
    pre_verification_evidence: Mapped[list] = mapped_column(JSONType, default=list)
    implementation_evidence: Mapped[list] = mapped_column(JSONType, default=list)
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

    @property
    def cause_ref(self) -> str | None:
        """The first D4 cause it addresses (the API's `cause_ref`, kept for older clients)."""
        return self.causes[0] if self.causes else None
