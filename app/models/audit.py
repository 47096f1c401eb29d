"""The audit trail: append-only events, hash-chained per report."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.base import JSONType, utcnow

GENESIS = "0" * 64


class AuditEvent(db.Model):
    __tablename__ = "audit_event"
    __table_args__ = (
        UniqueConstraint("chain", "seq", name="uq_audit_event_chain_seq"),
        Index("ix_audit_event_report", "report_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[str] = mapped_column(String(40))  # "report:<id>" or "global"
    seq: Mapped[int]
    report_id: Mapped[int | None] = mapped_column(ForeignKey("report.id"))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_company: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(60))
    discipline: Mapped[str | None] = mapped_column(String(2))
    changes: Mapped[dict] = mapped_column(JSONType, default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def payload(self) -> dict:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "report_id": self.report_id,
            "at": self.at.isoformat(timespec="microseconds"),
            "actor_id": self.actor_id,
            "actor_name": self.actor_name,
            "actor_company": self.actor_company,
            "action": self.action,
            "discipline": self.discipline,
            "changes": self.changes,
            "comment": self.comment,
            "prev_hash": self.prev_hash,
        }

    def compute_hash(self) -> str:
        blob = json.dumps(self.payload(), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()


class AuditAnchor(db.Model):
    """The newest event of every chain: cutting events off the end of a chain is detected too."""

    __tablename__ = "audit_anchor"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
