"""JSON shapes of API.md, shared by the API, the JSON export and the tests."""

from __future__ import annotations

from app import method
from app.models import AuditEvent, DisciplineEntry, Report, Review, User, iso
from app.services.reports import header_values


def user_ref(user: User | None) -> dict | None:
    if user is None:
        return None
    return {"id": user.id, "name": user.name, "email": user.email, "company": user.company.name}


def review_json(r: Review) -> dict:
    out = {
        "id": r.id,
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
        "due": r.due or {},
        "overdue": is_overdue(r),
    }


def is_overdue(r: Report) -> bool:
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
            else {"stage": pending.stage, "requested_at": iso(pending.requested_at), "requested_by": user_ref(pending.requested_by)},
            "reviews": [review_json(v) for v in r.reviews],
            "signatures": signatures,
            "signature": review_json(closure)["signature"] if closure and r.status.value == "closed" else None,
            "review_points": list(method.review_points()),
        }
    )
    return out


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
