"""Electronic signatures: the signer's password checked under a lock that allows at most
SIGNATURE_ATTEMPTS tries before SIGNATURE_LOCK_MINUTES pass (a failed try is recorded even though
the request fails), and the SHA-256 of what is signed."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, or_, update

from app import security_log
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.models import Report, User, utcnow
from app.services import audit
from app.services.reports import header_values

SIGNATURE_ATTEMPTS = 5
SIGNATURE_LOCK_MINUTES = 15


class SignatureRejected(Forbidden):
    """A wrong password on a signature. Raised before anything was changed, so the edge does not
    roll back: it records the failure and commits, together with the attempt that was claimed -
    the lock of the next attempt holds until then (see `claim_attempt`)."""

    def __init__(self, actor: User, report: Report, purpose: str, keeps_transaction: bool):
        super().__init__(_("The password is not correct. The signature was not applied."))
        self.actor_id, self.report_id, self.purpose = actor.id, report.id, purpose
        # False when something was changed before the check (not so in any request): then the
        # edge rolls back as usual, and the attempt is counted again here.
        self.keeps_transaction = keeps_transaction

    def record(self) -> None:
        actor = db.session.get(User, self.actor_id)
        report = db.session.get(Report, self.report_id)
        if not self.keeps_transaction:
            claim_attempt(actor)
        security_log.event("signature", user=actor, outcome="failed", detail=f"{report.number} {self.purpose}")
        audit.record("signature.failed", actor, report, discipline=report.stage, comment=f"wrong password ({self.purpose})")


class SignatureLocked(DomainError):
    status = 429
    code = "rate_limited"


def claim_attempt(actor: User) -> bool:
    """Claim one of the SIGNATURE_ATTEMPTS with one atomic UPDATE before the password is checked.
    The claim counts as a failure until a correct password resets it; the row stays locked (or,
    on SQLite, the database's write lock held) until the request commits, so parallel attempts
    queue here and each sees the claims before it: at most SIGNATURE_ATTEMPTS passwords are ever
    checked before the lock. Failures older than the lock period are forgotten.

    Returns whether nothing else was changed in the transaction before (a request checks the
    password first), i.e. whether a failure may commit the transaction as it is."""
    clean = not (db.session.new or db.session.deleted or any(db.session.is_modified(o) for o in db.session.dirty))
    users = User.__table__
    now = utcnow()
    stale = now - dt.timedelta(minutes=SIGNATURE_LOCK_MINUTES)
    fresh = users.c.signature_attempt_at.is_not(None) & (users.c.signature_attempt_at >= stale)
    claimed = db.session.execute(
        update(users)
        .where(users.c.id == actor.id, or_(users.c.failed_signatures < SIGNATURE_ATTEMPTS, ~fresh))
        .values(failed_signatures=case((fresh, users.c.failed_signatures + 1), else_=1), signature_attempt_at=now)
        .returning(users.c.failed_signatures)
    ).scalar()
    if claimed is None:
        raise SignatureLocked(_("Too many wrong passwords. Signing is locked for %(n)s minutes.", n=SIGNATURE_LOCK_MINUTES))
    return clean


def check_password(actor: User, report: Report, password: Any, purpose: str) -> None:
    clean = claim_attempt(actor)
    if not isinstance(password, str) or not actor.check_password(password):
        raise SignatureRejected(actor, report, purpose, keeps_transaction=clean)
    db.session.execute(update(User.__table__).where(User.__table__.c.id == actor.id).values(failed_signatures=0))
    security_log.event("signature", user=actor, detail=f"{report.number} {purpose}")


def content_hash(report: Report) -> str:
    """SHA-256 of what is being signed: header, every discipline's values and versions, the team."""
    doc = {
        "number": report.number,
        "revision": report.revision,
        "header": header_values(report),
        "disciplines": {d.code: {"version": d.version, "fields": d.values} for d in report.disciplines},
        "team": sorted((m.user.email, m.role.value) for m in report.team),
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
