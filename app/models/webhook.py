"""Outbound webhooks: a company admin registers a URL for events of the reports their company is
party to; each event becomes a WebhookDelivery row written in the same transaction as the change
(the outbox, like e-mails), delivered by the worker, retried with backoff, never lost."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import Company, User, _enum
from app.models.base import JSONType, utcnow

WEBHOOK_EVENTS = ("report.stage_changed", "review.requested", "review.decided", "report.closed", "action.overdue")


class DeliveryStatus(str, enum.Enum):
    pending = "pending"  # waiting for delivery (or its next attempt)
    sending = "sending"  # claimed by a worker
    sent = "sent"  # the receiver answered 2xx
    failed = "failed"  # gave up after the last attempt, or the hook was deleted; an admin can resend


class Webhook(db.Model):
    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    events: Mapped[list] = mapped_column(JSONType)
    # The shared secret, sealed with the server's key (app/notify/webhooks.py): usable for
    # signing, never shown again after creation.
    secret_sealed: Mapped[str] = mapped_column(String(400))
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    deleted_at: Mapped[dt.datetime | None]

    company: Mapped[Company] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(lazy="joined")


class WebhookDelivery(db.Model):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        UniqueConstraint("delivery_id", name="uq_webhook_delivery_delivery_id"),
        UniqueConstraint("dedupe_key", name="uq_webhook_delivery_dedupe_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhook.id"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[str] = mapped_column(String(40))  # X-8D-Delivery, a UUID; a resend keeps it
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent (UTF-8 JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus, "webhook_delivery_status"), default=DeliveryStatus.pending)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(1000))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(String(600))  # the first few hundred bytes only
    last_attempt_at: Mapped[dt.datetime | None]
    sent_at: Mapped[dt.datetime | None]
    dedupe_key: Mapped[str | None] = mapped_column(String(200))

    webhook: Mapped[Webhook] = relationship(lazy="joined")
