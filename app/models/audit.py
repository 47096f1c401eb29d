"""The audit trail: append-only events, hash-chained per report.

Each event's hash is an HMAC-SHA256 of its content and its predecessor's hash, keyed with
AUDIT_KEY - a key that does not live in the database, so whoever can write the database but not
read the key cannot forge a chain. Trails written before the key (plain SHA-256) are accepted only
up to the keyed seal that `flask audit seal-legacy` writes once (AuditSeal)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
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
    # The company an event of the global chain is about (a user's, a new company): what a
    # company admin may read of the administration log.
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"))

    def legacy_payload(self) -> dict:
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

    def payload(self) -> dict:
        return {**self.legacy_payload(), "company_id": self.company_id}

    def compute_hash(self, key: bytes) -> str:
        """HMAC-SHA256 with the audit key over every column but the surrogate id and the hash."""
        return hmac.new(key, _canonical(self.payload()), hashlib.sha256).hexdigest()

    def legacy_hash(self) -> str:
        """The unkeyed SHA-256 of trails written before AUDIT_KEY existed."""
        return hashlib.sha256(_canonical(self.legacy_payload())).hexdigest()


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def seal_mac(key: bytes, chain: str, seq: int, hash_: str) -> str:
    return hmac.new(key, f"audit-seal:{chain}:{seq}:{hash_}".encode(), hashlib.sha256).hexdigest()


class AuditAnchor(db.Model):
    """The newest event of every chain: cutting events off the end of a chain is detected too."""

    __tablename__ = "audit_anchor"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))


class AuditSeal(db.Model):
    """Where a chain's unkeyed (pre-AUDIT_KEY) events end: a keyed MAC of that event's hash.
    Events up to `seq` are checked as plain SHA-256 links and bound by the MAC; every later event
    must carry a keyed hash. Deleting or moving a seal breaks the chain just the same."""

    __tablename__ = "audit_seal"

    chain: Mapped[str] = mapped_column(String(40), primary_key=True)
    seq: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
