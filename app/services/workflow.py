"""Moving a report through D0-D8: advance, customer review with electronic signature, return,
reopen - and the supplier's decline of a complaint that is not theirs (triage), decided by the
customer's quality lead like a review. Every step writes an audit event in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import gettext as _

from app import method, notify, policy
from app.errors import BadRequest, Conflict, Forbidden, GateNotMet, Invalid
from app.extensions import db
from app.models import Attachment, Report, Review, Status, User, is_id, utcnow
from app.services import audit, effectiveness
from app.services.reports import gate_context, withdraw_acceptances
from app.services.signatures import check_password as _check_password
from app.services.signatures import content_hash

DECLINE_REASONS = ("not_our_part", "customer_caused", "no_trouble_found", "duplicate")
DECLINE_STAGES = ("D0", "D1", "D2", "D3", "D4")
DECLINE_MEANING = "decline accepted"

MAX_COMMENT = 5000
def _comment(value: Any, required: bool, field: str = "comment") -> str | None:
    if value is None or value == "":
        if required:
            raise Invalid(_("A comment is required."), fields={field: "is required"})
        return None
    if not isinstance(value, str):
        raise BadRequest(_("'%(field)s' must be a string.", field=field), {"fields": {field: "must be a string"}})
    value = value.strip()
    if required and not value:
        raise Invalid(_("A comment is required."), fields={field: "is required"})
    if len(value) > MAX_COMMENT:
        raise Invalid(_("The comment is too long."), fields={field: f"is too long (at most {MAX_COMMENT} characters)"})
    return value or None


def _code(value: Any, field: str = "to") -> str:
    if not isinstance(value, str):
        raise BadRequest(_('\'%(field)s\' must be a discipline code such as "D4".', field=field), {"fields": {field: "must be a string"}})
    if value not in method.CODES:
        raise Invalid(_("Unknown discipline."), fields={field: "must be one of D0-D8"})
    return value


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
        _milestone(report, old)
        audit.record("stage.advanced", actor, report, discipline=old, changes={"stage": [old, new]}, comment=comment)
        notify.stage_advanced(report, actor, old, new, comment)
    return report


MILESTONES = {"D3": "contained_at", "D4": "root_cause_at"}


def _milestone(report: Report, completed: str, at: dt.datetime | None = None) -> None:
    """The first time a report leaves D3 (containment reached) or D4 (root cause found) forward,
    recorded for the KPIs; a later return and second pass keeps the first time."""
    column = MILESTONES.get(completed)
    if column and getattr(report, column) is None:
        setattr(report, column, at or utcnow())


def meaning_for(stage: str) -> str:
    return "closure approved" if stage == "D8" else f"{stage} approved"


def _evidence_ids(report: Report, value: Any) -> list[int]:
    if value is None or value == []:
        raise Invalid(_("A decline needs evidence: at least one file of this report."), fields={"evidence": "is required (attachment ids of this report)"})
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise BadRequest(_("'evidence' must be a list of attachment ids."), {"fields": {"evidence": "must be a list of attachment ids (integers)"}})
    ids = list(dict.fromkeys(value))[:100]
    from sqlalchemy import select

    live = set(db.session.scalars(select(Attachment.id).where(Attachment.id.in_(ids), Attachment.report_id == report.id, Attachment.withdrawn_at.is_(None))))
    wrong = [i for i in ids if i not in live]
    if wrong:
        raise Invalid(_("The evidence must be files of this report that are not withdrawn."),
                      fields={"evidence": f"{', '.join(map(str, wrong))} is not a live attachment of this report"})
    return ids


def decline(actor: User, report: Report, reason: Any, comment: Any, related_report_id: Any = None, evidence: Any = None) -> Report:
    """The supplier's leader or champion asks the customer to decline the complaint - not our part,
    customer-caused, no trouble found, or a duplicate of another report - with a comment and
    evidence, while the report is open at D0-D4. The report waits for the customer's quality lead
    (`review`): accepting closes it (outcome declined, signed), refusing lets the work go on."""
    if not policy.can_decline(actor, report):
        raise Forbidden(_("Only the supplier's team leader or champion can decline the complaint."))
    if report.status != Status.open or report.stage not in DECLINE_STAGES:
        raise Conflict(_("A complaint can be declined while the report is open at D0 to D4 (it is %(status)s at %(stage)s).",
                         status=report.status.value.replace("_", " "), stage=report.stage), {"rule": "decline_not_allowed"})
    if reason not in DECLINE_REASONS:
        if reason is not None and not isinstance(reason, str):
            raise BadRequest(_("'reason' must be a string."), {"fields": {"reason": "must be a string"}})
        raise Invalid(_("Choose why the complaint is declined."), fields={"reason": "must be one of " + ", ".join(DECLINE_REASONS)})
    comment = _comment(comment, required=True)
    related = None
    if related_report_id not in (None, ""):
        if isinstance(related_report_id, bool) or not isinstance(related_report_id, int):
            raise BadRequest(_("'related_report_id' must be an integer."), {"fields": {"related_report_id": "must be a report id"}})
        related = db.session.get(Report, related_report_id) if is_id(related_report_id) else None
        if (related is None or related.id == report.id or not policy.can_view(actor, related)
                or (related.oem_id, related.supplier_id) != (report.oem_id, report.supplier_id)):
            raise Invalid(_("The related report must be another report of the same customer and supplier."),
                          fields={"related_report_id": "is not a report of the same customer and supplier"})
    if reason == "duplicate" and related is None:
        raise Invalid(_("A duplicate names the report it duplicates."), fields={"related_report_id": "is required for a duplicate"})
    ids = _evidence_ids(report, evidence)
    review = Review(report_id=report.id, kind="decline", stage=report.stage, revision=report.revision, requested_by_id=actor.id,
                    request_comment=comment, decline_reason=reason, related_report_id=related.id if related else None, evidence=ids)
    report.reviews.append(review)
    report.status = Status.in_review
    audit.record("decline.requested", actor, report, discipline=report.stage,
                 changes={"status": ["open", "in_review"], "decline_reason": [None, reason], "evidence": [None, ids],
                          **({"related_report": [None, related.number]} if related else {}),
                          "review": [None, audit.review_snapshot(review, audit.REQUEST_COLUMNS)]}, comment=comment)
    notify.decline_requested(report, actor, reason, comment)
    return report


def _decide_decline(actor: User, report: Report, pending: Review, decision: str, comment: Any, password: Any) -> Report:
    stage = report.stage
    if decision == "reject":
        comment = _comment(comment, required=True)
        pending.decided_at, pending.decided_by_id, pending.decision, pending.comment, pending.return_to = utcnow(), actor.id, "reject", comment, stage
        report.status = Status.open
        audit.record("decline.refused", actor, report, discipline=stage, comment=comment, changes={
            "status": ["in_review", "open"], "review": [None, audit.review_snapshot(pending, audit.DECISION_COLUMNS)]})
    else:
        comment = _comment(comment, required=False)
        _check_password(actor, report, password, "accept decline")
        now = utcnow()
        signed = content_hash(report)
        pending.decided_at, pending.decided_by_id, pending.decision, pending.comment = now, actor.id, "approve", comment
        pending.signed_name, pending.signed_at, pending.meaning, pending.content_hash = actor.name, now, DECLINE_MEANING, signed
        report.status = Status.closed
        report.closed_at = now
        report.outcome = "declined"
        audit.record("decline.accepted", actor, report, discipline=stage, changes={
            "status": ["in_review", "closed"], "outcome": [None, "declined"],
            "signature": [None, {"signed_by": actor.name, "signed_at": now.isoformat() + "Z", "meaning": DECLINE_MEANING, "content_hash": signed}],
            "review": [None, audit.review_snapshot(pending, audit.DECISION_COLUMNS)]}, comment=comment)
    notify.decline_decided(report, actor, decision, comment)
    return report


def _track_read_across(actor: User, report: Report) -> None:
    """D7 read-across rows to apply that are not implemented yet (they have an owner and a due
    date) become tracked preventive actions as the customer closes the report."""
    from app.method.rules import read_across_to_track
    from app.services import actions

    rows = read_across_to_track(report.discipline("D7").values or {})
    if not rows:
        return
    working = [m for m in report.team if m.role.value != "viewer" and m.user.active]
    fallback = next((m for m in working if m.role.value == "leader"), None) or next((m for m in working if m.role.value == "champion"), None)
    for row in rows:
        named = (row.get("owner") or "").strip()
        owner = next((m for m in working if m.user.name.lower() in named.lower()), None) or fallback
        if owner is None:
            continue
        description = "\n".join(filter(None, (
            "Read-across decided in D7, to be applied after closure.",
            f"Basis: {row['basis']}" if row.get("basis") else None,
            f"Reason: {row['reason']}" if row.get("reason") else None,
            f"Owner named in D7: {named}" if named and named.lower() != owner.user.name.lower() else None,
        )))
        actions.create_action(actor, report, {"kind": "preventive", "title": f"Read-across: {row.get('target') or ''}"[:500], "owner_id": owner.user_id,
                                              "due_date": row["due"], "target": (row.get("target") or "")[:500] or None, "description": description},
                              at_closure=True)


def review(actor: User, report: Report, decision: Any, comment: Any, password: Any = None, return_to: Any = None, expected_stage: Any = None,
           watch_days: Any = None, watch_criterion: Any = None) -> Report:
    """Approve (signed) or reject; approving D8 closes the report and starts its effectiveness watch."""
    if not policy.can_review(actor, report):
        raise Forbidden(_("Only a quality lead of the customer (OEM) can review this report."))
    _expect_stage(report, expected_stage)
    if report.status != Status.in_review:
        raise Conflict(_("There is nothing to review: the report is not waiting for a decision."), {"rule": "not_in_review"})
    if decision not in ("approve", "reject"):
        if not isinstance(decision, str):
            raise BadRequest(_('\'decision\' must be "approve" or "reject".'), {"fields": {"decision": "must be a string"}})
        raise Invalid(_("Choose approve or reject."), fields={"decision": "must be approve or reject"})
    pending = report.pending_review
    if pending is not None and pending.kind == "decline":
        return _decide_decline(actor, report, pending, decision, comment, password)
    if decision == "reject":
        _reject(actor, report, pending, comment, return_to)
    else:
        _approve(actor, report, pending, comment, password, watch_days, watch_criterion)
    return report


def _reject(actor: User, report: Report, pending, comment: Any, return_to: Any) -> None:
    """Back to the team: at the same stage or an earlier one, with the reviewer's reason."""
    stage = report.stage
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


def _approve(actor: User, report: Report, pending, comment: Any, password: Any, watch_days: Any, watch_criterion: Any) -> None:
    """Signed acceptance: the next stage opens, or - at D8 - the report closes (with its watch)."""
    stage = report.stage
    comment = _comment(comment, required=False)
    watch = effectiveness.check_watch(watch_days, watch_criterion) if stage == "D8" else None
    _check_password(actor, report, password, f"approve {stage}")
    now = utcnow()
    signed = content_hash(report)
    meaning = meaning_for(stage)
    if pending:
        pending.decided_at, pending.decided_by_id, pending.decision, pending.comment = now, actor.id, "approve", comment
        pending.signed_name, pending.signed_at, pending.meaning, pending.content_hash = actor.name, now, meaning, signed
    if stage == "D8":
        _track_read_across(actor, report)
        report.status = Status.closed
        report.closed_at = now
        report.outcome = "resolved"
        changes = {"status": ["in_review", "closed"], "outcome": [None, "resolved"]}
    else:
        report.status = Status.open
        report.stage = method.next_code(stage)
        changes = {"status": ["in_review", "open"], "stage": [stage, report.stage]}
    _milestone(report, stage, now)
    changes["signature"] = [None, {"signed_by": actor.name, "signed_at": now.isoformat() + "Z", "meaning": meaning, "content_hash": signed}]
    if pending:  # the signed row itself, column by column: `flask audit verify` compares them
        changes["review"] = [None, audit.review_snapshot(pending, audit.DECISION_COLUMNS)]
    audit.record("review.approved", actor, report, discipline=stage, changes=changes, comment=comment)
    if watch is not None:
        effectiveness.start(actor, report, *watch)
    notify.review_decided(report, actor, "approve", comment, stage=stage)


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
    return report


def reopen(actor: User, report: Report, comment: Any, password: Any, to: Any = None) -> Report:
    if not policy.can_reopen(actor, report):
        raise Forbidden(_("Only a quality lead of the customer (OEM) can reopen the report."))
    if report.status != Status.closed:
        raise Conflict(_("Only a closed report can be reopened."), {"rule": "not_closed"})
    comment = _comment(comment, required=True)
    target = _code(to) if to not in (None, "") else report.stage
    _check_password(actor, report, password, "reopen")
    return reopen_now(actor, report, comment, target)


def reopen_now(actor: User, report: Report, comment: str, target: str) -> Report:
    """Reopen a closed report at `target` with a new revision (the signature was checked by the caller)."""
    old_rev = report.revision
    report.revision = old_rev + 1
    report.status = Status.open
    report.closed_at = None
    old_outcome, report.outcome = report.outcome, None
    old_stage = report.stage
    report.stage = target
    withdraw_acceptances(actor, report, target)
    audit.record("report.reopened", actor, report, discipline=target,
                 changes={"status": ["closed", "open"], "revision": [old_rev, report.revision], "stage": [old_stage, target],
                          "outcome": [old_outcome, None]}, comment=comment)
    notify.report_reopened(report, actor, comment)
    return report


# The signature and comment checks, for the other signed decisions (the effectiveness watch).
check_password = _check_password  # the effectiveness decision signs the same way
check_comment = _comment
