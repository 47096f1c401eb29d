"""JSON shapes of API.md, shared by the API, the JSON export and the tests."""

from __future__ import annotations

from app import method
from app.models import Action, AuditEvent, DisciplineEntry, Report, Review, User, iso
from app.services.action_queries import is_overdue
from app.services.actions import warnings_for
from app.services.reports import header_values


def user_ref(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email, "company": user.company.name}


def review_json(r: Review) -> dict:
    out = {
        "id": r.id,
        "kind": r.kind or "stage",
        "stage": r.stage,
        "revision": r.revision,
        "requested_at": iso(r.requested_at),
        "requested_by": user_ref(r.requested_by),
        "request_comment": r.request_comment,
        "decision": r.decision,
        "decided_at": iso(r.decided_at),
        "decided_by": user_ref(r.decided_by),
        "comment": r.comment,
        "return_to": r.return_to,
        "withdrawn_at": iso(r.withdrawn_at),
        "withdrawn_reason": r.withdrawn_reason,
        "signature": None,
        "decline_reason": r.decline_reason,
        "related_report_id": r.related_report_id,
        "evidence": list(r.evidence or []),
    }
    if r.signed_at:
        out["signature"] = {
            "signed_by": r.signed_name,
            "signed_at": iso(r.signed_at),
            "meaning": r.meaning,
            "content_hash": r.content_hash,
        }
    return out


def discipline_json(d: DisciplineEntry) -> dict:
    return {
        "code": d.code,
        "version": d.version,
        "fields": d.values or {},
        "updated_at": iso(d.updated_at),
        "updated_by": user_ref(d.updated_by),
    }


def report_summary(r: Report) -> dict:
    return {
        "id": r.id,
        "number": r.number,
        "title": r.title,
        "status": r.status.value,
        "stage": r.stage,
        "revision": r.revision,
        "oem": r.oem.as_json(),
        "supplier": r.supplier.as_json(),
        "part_number": r.part_number,
        "complaint_ref": r.complaint_ref,
        "severity": r.severity,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "closed_at": iso(r.closed_at),
        "outcome": r.outcome,
        "due": r.due or {},
        "overdue": report_overdue(r),
    }


def report_overdue(r: Report) -> bool:
    from app.models import Status, utcnow

    due = (r.due or {}).get(r.stage)
    return r.status != Status.closed and bool(due) and due < utcnow().date().isoformat()


def report_json(r: Report) -> dict:
    out = report_summary(r)
    pending = r.pending_review
    signatures = [review_json(v)["signature"] for v in r.reviews if v.signed_at]
    closure = next((v for v in reversed(r.reviews) if v.stage == "D8" and v.accepted), None)
    out.update(
        {
            "header": header_values(r),
            "team": [m.as_json() for m in r.team],
            "disciplines": {d.code: discipline_json(d) for d in sorted(r.disciplines, key=lambda d: d.code)},
            "review": None
            if pending is None
            else {"kind": pending.kind or "stage", "stage": pending.stage, "requested_at": iso(pending.requested_at),
                  "requested_by": user_ref(pending.requested_by), **({"decline_reason": pending.decline_reason} if pending.kind == "decline" else {})},
            "reviews": [review_json(v) for v in r.reviews],
            "signatures": signatures,
            "signature": _closing_signature(r, closure),
            "review_points": list(method.review_points()),
        }
    )
    return out


def _closing_signature(r: Report, closure: Review | None) -> dict | None:
    """The signature that closed the report: the closure's - or the accepted decline's."""
    if r.status.value != "closed":
        return None
    if r.outcome == "declined":
        closure = next((v for v in reversed(r.reviews) if v.kind == "decline" and v.accepted), None)
    return review_json(closure)["signature"] if closure else None


def event_json(e: AuditEvent) -> dict:
    return {
        "id": e.id,
        "seq": e.seq,
        "at": iso(e.at),
        "actor": e.actor_name,
        "actor_id": e.actor_id,
        "actor_company": e.actor_company,
        "action": e.action,
        "discipline": e.discipline,
        "changes": e.changes or {},
        "comment": e.comment,
        "hash": e.hash,
        "prev_hash": e.prev_hash,
    }


def comment_json(c) -> dict:
    return {
        "id": c.id,
        "report_id": c.report_id,
        "discipline": c.discipline,
        "author": user_ref(c.author),
        "body": None if c.withdrawn_at else c.body,
        "body_html": None if c.withdrawn_at else c.body_html,
        "created_at": iso(c.created_at),
        "edited_at": iso(c.edited_at),
        "withdrawn": c.withdrawn_at is not None,
        "withdrawn_at": iso(c.withdrawn_at),
    }


def action_json(a: Action) -> dict:
    return {
        "id": a.id,
        "report_id": a.report_id,
        "report_number": a.report.number,
        "kind": a.kind.value,
        "discipline": a.discipline,
        "title": a.title,
        "description": a.description,
        "owner_id": a.owner_id,
        "owner": user_ref(a.owner),
        "due_date": iso(a.due_date),
        "overdue": is_overdue(a),
        "ref": a.ref,
        "cause": a.cause,
        "causes": list(a.causes or []),
        "cause_ref": a.cause_ref,
        "location": a.location,
        "qty_suspect": a.qty_suspect,
        "qty_checked": a.qty_checked,
        "qty_nok": a.qty_nok,
        "introduced_on": iso(a.introduced_on),
        "effective_from": iso(a.effective_from),
        "effective_pct": a.effective_pct,
        "pre_verification": a.pre_verification,
        "error_proofing": a.error_proofing,
        "target": a.target,
        "implemented_on": iso(a.implemented_on),
        "evidence": list(a.evidence or []),
        "pre_verification_evidence": list(a.pre_verification_evidence or []),
        "implementation_evidence": list(a.implementation_evidence or []),
        "status": a.status.value,
        "verification": a.verification,
        "verified_by": user_ref(a.verified_by),
        "verified_at": iso(a.verified_at),
        "cancel_reason": a.cancel_reason,
        "removed_at": iso(a.removed_at),
        "removed_by": user_ref(a.removed_by),
        "version": a.version,
        "created_at": iso(a.created_at),
        "updated_at": iso(a.updated_at),
        "warnings": warnings_for(a),
    }
