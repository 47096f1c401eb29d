"""Evidence attachments: metadata rows pointing at content-addressed blobs in the store."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import utcnow


class Attachment(db.Model):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_report", "report_id", "discipline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    discipline: Mapped[str] = mapped_column(String(2))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("action.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))  # original name, for display only
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(200))
    storage_key: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    # A new version of an evidence item points at the item it replaces; older versions are kept.
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("attachment.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    purged_at: Mapped[dt.datetime | None]

    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id], lazy="joined", innerjoin=True)
