"""The 8D report: header, disciplines with their versions, team and review decisions."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Company, User, _enum
from app.models.base import JSONType, utcnow


class Status(str, enum.Enum):
    open = "open"  # the team works on `stage`
    in_review = "in_review"  # waiting for the OEM's quality lead
    closed = "closed"


class TeamRole(str, enum.Enum):
    champion = "champion"
    leader = "leader"
    member = "member"
    viewer = "viewer"


EDITING_ROLES = (TeamRole.champion, TeamRole.leader, TeamRole.member)
STEERING_ROLES = (TeamRole.champion, TeamRole.leader)


class Report(db.Model):
    __tablename__ = "report"
    __table_args__ = (
        UniqueConstraint("year", "seq", name="uq_report_year_seq"),
        Index("ix_report_status_stage", "status", "stage"),
        Index("ix_report_updated", "updated_at"),
        Index("ix_report_oem_updated", "oem_id", "updated_at"),
        Index("ix_report_supplier_updated", "supplier_id", "updated_at"),
        Index("ix_report_supplier_status", "supplier_id", "status"),
        # the KPIs: each figure reads a range of one of these times, in the caller's scope
        Index("ix_report_oem_created", "oem_id", "created_at"),
        Index("ix_report_supplier_created", "supplier_id", "created_at"),
        Index("ix_report_closed", "closed_at"),
        Index("ix_report_contained", "contained_at"),
        Index("ix_report_root_cause", "root_cause_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    year: Mapped[int]
    seq: Mapped[int]
    oem_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    stage: Mapped[str] = mapped_column(String(2), default="D0")
    status: Mapped[Status] = mapped_column(_enum(Status, "report_status"), default=Status.open)
    revision: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[dt.datetime | None]
    # When the report first left D3 (containment reached: D3 approved, or advanced where D3 is no
    # review point) and D4 (root cause found): what the KPIs count days to. Kept on reopen.
    contained_at: Mapped[dt.datetime | None]
    root_cause_at: Mapped[dt.datetime | None]
    due: Mapped[dict] = mapped_column(JSONType, default=dict)
    # Bumped on every change: live views poll it cheaply (works across processes).
    change_counter: Mapped[int] = mapped_column(default=0)
    # Sequence number of the newest audit event: anchors the hash chain so that cutting events
    # off its end is detected too.
    audit_seq: Mapped[int] = mapped_column(default=0)

    # Header (the complaint) - field definitions in app/method/definition.py HEADER_FIELDS.
    title: Mapped[str] = mapped_column(String(500))
    complaint_ref: Mapped[str | None] = mapped_column(String(500), index=True)
    oem_plant: Mapped[str | None] = mapped_column(String(500))
    supplier_plant: Mapped[str | None] = mapped_column(String(500))
    part_number: Mapped[str | None] = mapped_column(String(500), index=True)
    part_name: Mapped[str | None] = mapped_column(String(500))
    customer_part_no: Mapped[str | None] = mapped_column(String(500))
    lots: Mapped[list] = mapped_column(JSONType, default=list)
    detected_on: Mapped[dt.date | None] = mapped_column(Date)
    detected_at: Mapped[str | None] = mapped_column(String(20))
    complaint_type: Mapped[str | None] = mapped_column(String(20))
    severity: Mapped[str | None] = mapped_column(String(20))
    qty_complained: Mapped[float | None]
    qty_delivered: Mapped[float | None]
    qty_returned: Mapped[float | None]
    part_return_date: Mapped[dt.date | None] = mapped_column(Date)
    repeat_failure: Mapped[bool | None]
    related_report: Mapped[str | None] = mapped_column(String(500))
    # The language of record: the one the report is written in (en, de, zh), set at D0.
    language: Mapped[str | None] = mapped_column(String(5))
    # A repeat failure links the earlier report of the same two companies.
    related_report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    # How a closed report ended: resolved (closure approved) or declined (the supplier's decline accepted).
    outcome: Mapped[str | None] = mapped_column(String(10))
    # A cascade: the report of the customer whose supplier opened this one with its own supplier
    # (this report's customer is the parent's supplier), and the parent's discipline it serves
    # (D4: the cause sits at the sub-supplier; D5: so does the corrective action).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    cascade_discipline: Mapped[str | None] = mapped_column(String(2))

    oem: Mapped[Company] = relationship(foreign_keys=[oem_id], lazy="joined", innerjoin=True)
    supplier: Mapped[Company] = relationship(foreign_keys=[supplier_id], lazy="joined", innerjoin=True)
    related: Mapped[Report | None] = relationship(foreign_keys=[related_report_id], remote_side=[id], lazy="select")
    parent: Mapped[Report | None] = relationship(foreign_keys=[parent_id], remote_side=[id], lazy="select")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="select")
    disciplines: Mapped[list[DisciplineEntry]] = relationship(
        back_populates="report", order_by="DisciplineEntry.code", lazy="select"
    )
    team: Mapped[list[TeamMember]] = relationship(back_populates="report", order_by="TeamMember.id", lazy="select")
    reviews: Mapped[list[Review]] = relationship(back_populates="report", order_by="Review.id", lazy="select", foreign_keys="Review.report_id")

    def discipline(self, code: str) -> DisciplineEntry:
        return next(d for d in self.disciplines if d.code == code)

    @property
    def pending_review(self) -> Review | None:
        return next((r for r in reversed(self.reviews) if r.decided_at is None and r.withdrawn_at is None), None)

    def team_member(self, user: User) -> TeamMember | None:
        return next((m for m in self.team if m.user_id == user.id), None)


class DisciplineEntry(db.Model):
    """The content of one discipline of one report, with its own version for safe co-editing."""

    __tablename__ = "discipline"
    __table_args__ = (UniqueConstraint("report_id", "code", name="uq_discipline_report_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(2))
    version: Mapped[int] = mapped_column(default=0)
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    # field name -> the version in which it last changed: what three-way merges read.
    field_versions: Mapped[dict] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[dt.datetime | None]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    report: Mapped[Report] = relationship(back_populates="disciplines")
    updated_by: Mapped[User | None] = relationship(lazy="joined")


class DisciplineRevision(db.Model):
    """The values of a discipline as of each version: the 'base' of a three-way merge."""

    __tablename__ = "discipline_revision"
    __table_args__ = (UniqueConstraint("report_id", "code", "version", name="uq_discipline_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(2))
    version: Mapped[int]
    values: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class TeamMember(db.Model):
    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("report_id", "user_id", name="uq_team_member_report_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[TeamRole] = mapped_column(_enum(TeamRole, "team_role"))
    function: Mapped[str | None] = mapped_column(String(200))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    report: Mapped[Report] = relationship(back_populates="team")
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class Review(db.Model):
    """A staged submission to the customer and its decision, with the electronic signature -
    or the supplier's request to decline the complaint (kind "decline")."""

    __tablename__ = "review"
    __table_args__ = (Index("ix_review_kind_decided", "kind", "decided_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default="stage", server_default="stage")  # stage | decline
    stage: Mapped[str] = mapped_column(String(2))
    # A decline: why (not_our_part, customer_caused, no_trouble_found, duplicate), the report it
    # duplicates, and the evidence (attachment ids of the report).
    decline_reason: Mapped[str | None] = mapped_column(String(30))
    related_report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    evidence: Mapped[list | None] = mapped_column(JSONType)
    revision: Mapped[int] = mapped_column(default=0)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    request_comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[dt.datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decision: Mapped[str | None] = mapped_column(String(10))  # approve | reject
    comment: Mapped[str | None] = mapped_column(Text)
    return_to: Mapped[str | None] = mapped_column(String(2))
    # Electronic signature of an approval (21 CFR 11 style: printed name, time, meaning, content).
    signed_name: Mapped[str | None] = mapped_column(String(200))
    signed_at: Mapped[dt.datetime | None]
    meaning: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    # Editing an accepted discipline withdraws the acceptance.
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)

    report: Mapped[Report] = relationship(back_populates="reviews", foreign_keys=[report_id])
    related: Mapped[Report | None] = relationship(foreign_keys=[related_report_id], lazy="select")
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")

    @property
    def accepted(self) -> bool:
        return self.decision == "approve" and self.withdrawn_at is None
