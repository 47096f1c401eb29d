"""Working together on a report: comments per discipline and presence (who is looking where)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.accounts import User
from app.models.base import utcnow


class Comment(db.Model):
    __tablename__ = "comment"
    __table_args__ = (Index("ix_comment_report_discipline", "report_id", "discipline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    discipline: Mapped[str] = mapped_column(String(2))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)  # Markdown as written
    body_html: Mapped[str] = mapped_column(Text)  # rendered and sanitised once, at write time
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[dt.datetime | None]
    withdrawn_at: Mapped[dt.datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)


class Presence(db.Model):
    """A heartbeat per user and report: who else is looking at or editing which discipline."""

    __tablename__ = "presence"
    __table_args__ = (UniqueConstraint("report_id", "user_id", name="uq_presence_report_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    discipline: Mapped[str | None] = mapped_column(String(2))
    editing: Mapped[bool] = mapped_column(default=False)
    seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
