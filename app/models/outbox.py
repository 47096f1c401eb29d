"""The transactional outbox: an e-mail is a row written in the same transaction as the change
that caused it; a worker delivers it after commit, retries, and never loses one."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User, _enum
from app.models.base import utcnow


class MailStatus(str, enum.Enum):
    pending = "pending"  # waiting for delivery (or for its next attempt)
    sending = "sending"  # claimed by a worker
    sent = "sent"
    failed = "failed"  # gave up after the last attempt; an admin can resend
    held = "held"  # kept for the recipient's daily digest


class NotificationMode(str, enum.Enum):
    immediate = "immediate"
    digest = "digest"
    off = "off"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        UniqueConstraint("dedupe_key", name="uq_outbox_message_dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    category: Mapped[str] = mapped_column(String(40))  # stage, review, assignment, team, mention, reminder, digest
    event: Mapped[str] = mapped_column(String(60))  # e.g. stage.advanced, review.requested
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    to_email: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[MailStatus] = mapped_column(_enum(MailStatus, "mail_status"), default=MailStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None]
    # Idempotency of periodic jobs, e.g. "due:action:42:2026-11-25": one reminder per day.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    recipient: Mapped[User | None] = relationship(lazy="joined")

    @property
    def message_id(self) -> str:
        """Deterministic: a resend after a crash carries the same Message-ID."""
        return f"<outbox-{self.id}.{self.created_at:%Y%m%d%H%M%S}@8d-workbench>"


class NotificationPreference(db.Model):
    __tablename__ = "notification_preference"
    __table_args__ = (UniqueConstraint("user_id", "category", name="uq_notification_preference_user_category"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    category: Mapped[str] = mapped_column(String(40))
    mode: Mapped[NotificationMode] = mapped_column(_enum(NotificationMode, "notification_mode"), default=NotificationMode.immediate)
