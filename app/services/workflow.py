"""Moving a report through D0-D8: advance, customer review with electronic signature, return,
reopen. Every step writes an audit event in the same transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import case, or_, update

from app import method, notify, policy, security_log
from app.errors import BadRequest, Conflict, DomainError, Forbidden, GateNotMet, Invalid
from app.extensions import db
from app.models import Report, Review, Status, User, utcnow
from app.services import audit
from app.services.reports import gate_context, header_values, touch, withdraw_acceptances

MAX_COMMENT = 5000
SIGNATURE_ATTEMPTS = 5
SIGNATURE_LOCK_MINUTES = 15


class SignatureRejected(Forbidden):
    """A wrong password on a signature. Raised before anything was changed, so the edge does not
    roll back: it records the failure and commits, together with the attempt that was claimed -
    the lock of the next attempt holds until then (see `_claim_attempt`)."""

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
            _claim_attempt(actor)
        security_log.event("signature", user=actor, outcome="failed", detail=f"{report.number} {self.purpose}")
        audit.record("signature.failed", actor, report, discipline=report.stage, comment=f"wrong password ({self.purpose})")


class SignatureLocked(DomainError):
    status = 429
    code = "rate_limited"


def _comment(value: Any, required: bool, field: str = "comment") -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid(_("A comment is required."), fields={field: "is required"})
        return None
    if not isinstance(value, str):
        raise BadRequest(f"'{field}' must be a string.", {"fields": {field: "must be a string"}})
    value = value.strip()
    if required and not value:
        raise Invalid(_("A comment is required."), fields={field: "is required"})
    if len(value) > MAX_COMMENT:
        raise Invalid(_("The comment is too long."), fields={field: f"is too long (at most {MAX_COMMENT} characters)"})
    return value or None


def _code(value: Any, field: str = "to") -> str:
    if not isinstance(value, str):
        raise BadRequest(f"'{field}' must be a discipline code such as \"D4\".", {"fields": {field: "must be a string"}})
    if value not in method.CODES:
        raise Invalid(_("Unknown discipline."), fields={field: "must be one of D0-D8"})
    return value


def _claim_attempt(actor: User) -> bool:
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


def _check_password(actor: User, report: Report, password: Any, purpose: str) -> None:
    clean = _claim_attempt(actor)
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


def _expect_stage(report: Report, expected: Any) -> None:
    """A client that says which stage it acts on never advances or decides a later one by accident."""
    if expected not in (None, "") and expected != report.stage:
        raise Conflict(_("The report is at %(stage)s now, not %(expected)s; reload it first.", stage=report.stage, expected=str(expected)[:4]),
                       {"rule": "stage_changed", "stage": report.stage})


def advance(actor: User, report: Report, comment: Any = None, expected_stage: Any = None) -> Report:
    if not policy.can_advance(actor, report):
        raise Forbidden(_("Only the team leader or the champion can advance the report."))
    _expect_stage(report, expected_stage)
    comment = _comment(comment, required=False)
    if report.status == Status.in_review:
        raise Conflict(_("The report is waiting for the customer's review of %(d)s.", d=report.stage), {"rule": "in_review"})
    if report.status == Status.closed:
        raise Conflict(_("The report is closed."), {"rule": "closed"})
    missing = method.gate_missing_items(gate_context(report), report.stage)
    if missing:
        raise GateNotMet(_("%(d)s is not complete yet.", d=report.stage), missing)
    if report.stage in method.review_points():
        report.status = Status.in_review
        review = Review(report_id=report.id, stage=report.stage, revision=report.revision, requested_by_id=actor.id, request_comment=comment)
        report.reviews.append(review)
        audit.record("review.requested", actor, report, discipline=report.stage, comment=comment, changes={
            "status": ["open", "in_review"], "review": [None, audit.review_snapshot(review, audit.REQUEST_COLUMNS)]})
        notify.review_requested(report, actor, comment)
    else:
        old, new = report.stage, method.next_code(report.stage)
        report.stage = new
        audit.record("stage.advanced", actor, report, discipline=old, changes={"stage": [old, new]}, comment=comment)
        notify.stage_advanced(report, actor, old, new, comment)
    touch(report)
    return report


def meaning_for(stage: str) -> str:
    return "closure approved" if stage == "D8" else f"{stage} approved"


def review(actor: User, report: Report, decision: Any, comment: Any, password: Any = None, return_to: Any = None, expected_stage: Any = None) -> Report:
    if not policy.can_review(actor, report):
        raise Forbidden(_("Only a quality lead of the customer (OEM) can review this report."))
    _expect_stage(report, expected_stage)
    if report.status != Status.in_review:
        raise Conflict(_("There is nothing to review: the report is not waiting for a decision."), {"rule": "not_in_review"})
    if decision not in ("approve", "reject"):
        if not isinstance(decision, str):
            raise BadRequest("'decision' must be \"approve\" or \"reject\".", {"fields": {"decision": "must be a string"}})
        raise Invalid(_("Choose approve or reject."), fields={"decision": "must be approve or reject"})
    pending = report.pending_review
    stage = report.stage
    if decision == "reject":
        comment = _comment(comment, required=True)
        target = _code(return_to, "return_to") if return_to not in (None, "") else stage
        if method.CODES.index(target) > method.CODES.index(stage):
            raise Invalid(_("A rejection can only send the report back, not ahead."), fields={"return_to": f"must be {stage} or earlier"})
        now = utcnow()
        if pending:
            pending.decided_at, pending.decided_by_id, pending.decision, pending.comment, pending.return_to = now, actor.id, "reject", comment, target
        report.status = Status.open
        report.stage = target
        withdraw_acceptances(actor, report, target)
        changes = {"status": ["in_review", "open"], "stage": [stage, target]}
        if pending:
            changes["review"] = [None, audit.review_snapshot(pending, audit.DECISION_COLUMNS)]
        audit.record("review.rejected", actor, report, discipline=stage, changes=changes, comment=comment)
        notify.review_decided(report, actor, "reject", comment, stage=stage)
    else:
        comment = _comment(comment, required=False)
        _check_password(actor, report, password, f"approve {stage}")
        now = utcnow()
        signed = content_hash(report)
        meaning = meaning_for(stage)
        if pending:
            pending.decided_at, pending.decided_by_id, pending.decision, pending.comment = now, actor.id, "approve", comment
            pending.signed_name, pending.signed_at, pending.meaning, pending.content_hash = actor.name, now, meaning, signed
        if stage == "D8":
            report.status = Status.closed
            report.closed_at = now
            changes = {"status": ["in_review", "closed"]}
        else:
            report.status = Status.open
            report.stage = method.next_code(stage)
            changes = {"status": ["in_review", "open"], "stage": [stage, report.stage]}
        changes["signature"] = [None, {"signed_by": actor.name, "signed_at": now.isoformat() + "Z", "meaning": meaning, "content_hash": signed}]
        if pending:  # the signed row itself, column by column: `flask audit verify` compares them
            changes["review"] = [None, audit.review_snapshot(pending, audit.DECISION_COLUMNS)]
        audit.record("review.approved", actor, report, discipline=stage, changes=changes, comment=comment)
        notify.review_decided(report, actor, "approve", comment, stage=stage)
    touch(report)
    return report


def return_report(actor: User, report: Report, to: Any, comment: Any) -> Report:
    if not policy.can_return(actor, report):
        raise Forbidden(_("Only the team leader, the champion or the customer's quality lead can send the report back."))
    target = _code(to)
    comment = _comment(comment, required=True)
    if report.status != Status.open:
        raise Conflict(_("Only an open report can be sent back (reject a review, or reopen a closed report)."), {"rule": "not_open"})
    if method.CODES.index(target) >= method.CODES.index(report.stage):
        raise Invalid(_("Choose a discipline before the current one."), fields={"to": f"must be before {report.stage}"})
    old = report.stage
    report.stage = target
    withdraw_acceptances(actor, report, target)
    audit.record("stage.returned", actor, report, discipline=target, changes={"stage": [old, target]}, comment=comment)
    notify.report_returned(report, actor, target, comment, old=old)
    touch(report)
    return report


def reopen(actor: User, report: Report, comment: Any, password: Any, to: Any = None) -> Report:
    if not policy.can_reopen(actor, report):
        raise Forbidden(_("Only a quality lead of the customer (OEM) can reopen the report."))
    if report.status != Status.closed:
        raise Conflict(_("Only a closed report can be reopened."), {"rule": "not_closed"})
    comment = _comment(comment, required=True)
    target = _code(to) if to not in (None, "") else report.stage
    _check_password(actor, report, password, "reopen")
    old_rev = report.revision
    report.revision = old_rev + 1
    report.status = Status.open
    report.closed_at = None
    old_stage = report.stage
    report.stage = target
    withdraw_acceptances(actor, report, target)
    audit.record("report.reopened", actor, report, discipline=target,
                 changes={"status": ["closed", "open"], "revision": [old_rev, report.revision], "stage": [old_stage, target]}, comment=comment)
    notify.report_reopened(report, actor, comment)
    touch(report)
    return report
