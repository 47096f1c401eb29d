"""From the database to the shapes of app/schemas/ ([docs/api.md](../docs/api.md#report-json)):
one function per shape, filling it field by field. The shapes are strict, so a field missing here,
or one they do not declare, fails at once; `to_json` writes the bytes of a response, `to_dict` the
plain data the JSON export and the PDF read."""

from __future__ import annotations

from pydantic import BaseModel

from app import method, policy
from app.models import Action, Attachment, AuditEvent, Comment, Company, DisciplineEntry, Report, Review, Status, TeamMember, User, iso, utcnow
from app.schemas import accounts, actions, activity, reports, tiers, webhooks
from app.schemas.method import Finding, Gate
from app.services.action_queries import is_overdue
from app.services.actions import warnings_for
from app.services.reports import header_values


def to_json(shape: BaseModel) -> bytes:
    return shape.__pydantic_serializer__.to_json(shape, exclude_unset=True)


def to_dict(shape: BaseModel) -> dict:
    return shape.model_dump(mode="json", exclude_unset=True)


# ----------------------------------------------------------------------------------- accounts
def as_company(c: Company) -> accounts.Company:
    return accounts.Company(id=c.id, name=c.name, kind=c.kind.value)


def _user_fields(u: User) -> dict:
    return {"id": u.id, "email": u.email, "name": u.name, "role": u.role.value, "active": u.active, "company": as_company(u.company)}


def as_user(u: User) -> accounts.User:
    return accounts.User(**_user_fields(u))


def as_me(u: User) -> accounts.Me:
    return accounts.Me(**_user_fields(u), platform_admin=bool(u.platform_admin), language=u.language)


def as_admin_user(u: User) -> accounts.AdminUser:
    return accounts.AdminUser(**_user_fields(u), platform_admin=bool(u.platform_admin))


def as_user_ref(u: User | None) -> accounts.UserRef | None:
    if u is None:
        return None
    return accounts.UserRef(id=u.id, name=u.name, email=u.email, company=u.company.name)


class Refs:
    """The people and companies one report names many times (who saved each discipline, who asked
    and decided each review), each made a shape once per report: shapes are immutable values, and
    reading a mapped attribute costs more than the copy it saves."""

    def __init__(self) -> None:
        self._users: dict[User, accounts.UserRef] = {}
        self._companies: dict[Company, accounts.Company] = {}

    def user(self, u: User | None) -> accounts.UserRef | None:
        if u is None:
            return None
        if u not in self._users:
            self._users[u] = as_user_ref(u)
        return self._users[u]

    def company(self, c: Company) -> accounts.Company:
        if c not in self._companies:
            self._companies[c] = as_company(c)
        return self._companies[c]


# ------------------------------------------------------------------------------------ reports
def as_team_member(m: TeamMember, refs: Refs | None = None) -> reports.TeamMember:
    u = m.user
    company = (refs or Refs()).company(u.company)
    return reports.TeamMember(user_id=m.user_id, name=u.name, email=u.email, company=company, role=m.role.value, function=m.function)


def as_signature(r: Review) -> reports.Signature | None:
    if not r.signed_at:
        return None
    return reports.Signature(signed_by=r.signed_name, signed_at=iso(r.signed_at), meaning=r.meaning, content_hash=r.content_hash)


def as_review(r: Review, refs: Refs | None = None) -> reports.Review:
    refs = refs or Refs()
    return reports.Review(
        id=r.id, kind=r.kind or "stage", stage=r.stage, revision=r.revision, requested_at=iso(r.requested_at),
        requested_by=refs.user(r.requested_by), request_comment=r.request_comment, decision=r.decision, decided_at=iso(r.decided_at),
        decided_by=refs.user(r.decided_by), comment=r.comment, return_to=r.return_to, withdrawn_at=iso(r.withdrawn_at),
        withdrawn_reason=r.withdrawn_reason, signature=as_signature(r), decline_reason=r.decline_reason, related_report_id=r.related_report_id,
        evidence=list(r.evidence or []),
    )  # fmt: skip


def _pending(r: Report, refs: Refs) -> reports.PendingReview | None:
    p = r.pending_review
    if p is None:
        return None
    extra = {"decline_reason": p.decline_reason} if p.kind == "decline" else {}
    return reports.PendingReview(kind=p.kind or "stage", stage=p.stage, requested_at=iso(p.requested_at), requested_by=refs.user(p.requested_by), **extra)


def as_discipline(d: DisciplineEntry, shape: type[reports.Discipline] = reports.Discipline, refs: Refs | None = None, **extra) -> reports.Discipline:
    updated_by = (refs or Refs()).user(d.updated_by)
    return shape(code=d.code, version=d.version, fields=d.values or {}, updated_at=iso(d.updated_at), updated_by=updated_by, **extra)


def report_overdue(r: Report) -> bool:
    due = (r.due or {}).get(r.stage)
    return r.status != Status.closed and bool(due) and due < utcnow().date().isoformat()


def _summary_fields(r: Report, refs: Refs) -> dict:
    return {
        "id": r.id, "number": r.number, "title": r.title, "status": r.status.value, "stage": r.stage, "revision": r.revision,
        "oem": refs.company(r.oem), "supplier": refs.company(r.supplier), "part_number": r.part_number, "complaint_ref": r.complaint_ref,
        "severity": r.severity, "created_at": iso(r.created_at), "updated_at": iso(r.updated_at), "closed_at": iso(r.closed_at),
        "outcome": r.outcome, "due": r.due or {}, "overdue": report_overdue(r),
    }  # fmt: skip


def as_summary(r: Report) -> reports.ReportSummary:
    return reports.ReportSummary(**_summary_fields(r, Refs()))


def as_report(r: Report, viewer: User | None = None) -> reports.Report:
    """The report as `viewer` may see it: its cascade links depend on the viewer's side."""
    refs = Refs()
    reviews = [as_review(v, refs) for v in r.reviews]
    return reports.Report(
        **_summary_fields(r, refs),
        header=header_values(r),
        team=[as_team_member(m, refs) for m in r.team],
        disciplines={d.code: as_discipline(d, refs=refs) for d in sorted(r.disciplines, key=lambda d: d.code)},
        review=_pending(r, refs),
        reviews=reviews,
        signatures=[v.signature for v in reviews if v.signature is not None],
        signature=_closing_signature(r, reviews),
        review_points=list(method.review_points()),
        parent=_parent(r, viewer),
        cascades=_cascades(r, viewer, refs),
        effectiveness=as_effectiveness(r, refs),
    )


def as_effectiveness(r: Report, refs: Refs | None = None) -> reports.Effectiveness | None:
    from app.services.effectiveness import recurrence_refs, watch_of

    w = watch_of(r)
    if w is None:
        return None
    refs = refs or Refs()
    signature = (reports.Signature(signed_by=w.signed_name, signed_at=iso(w.decided_at), meaning=w.meaning, content_hash=w.content_hash)
                 if w.signed_name else None)
    return reports.Effectiveness(
        until=iso(w.until), criterion=w.criterion, status=w.status, recurrences=[reports.ReportRef(id=i, number=n) for i, n in recurrence_refs(w)],
        decided_by=refs.user(w.decided_by), decided_at=iso(w.decided_at), comment=w.comment, signature=signature,
    )


def _parent(r: Report, viewer: User | None) -> tiers.ReportLink | None:
    if viewer is None or not policy.can_see_parent(viewer, r):
        return None
    return tiers.ReportLink(id=r.parent.id, number=r.parent.number)


def _cascades(r: Report, viewer: User | None, refs: Refs) -> list[tiers.Cascade]:
    if viewer is None or not policy.can_view(viewer, r):
        return []
    from app.services.cascades import children

    full = policy.sees_cascade_content(viewer, r)
    out = []
    for c in children(r):
        extra = {"title": c.title, "discipline": c.cascade_discipline or "D4", "outcome": c.outcome, "due": c.due or {},
                 "overdue": report_overdue(c)} if full else {}
        out.append(tiers.Cascade(id=c.id, number=c.number, supplier=refs.company(c.supplier), stage=c.stage, status=c.status.value, **extra))
    return out


def _closing_signature(r: Report, reviews: list[reports.Review]) -> reports.Signature | None:
    """The signature that closed the report: the closure's - or the accepted decline's."""
    if r.status != Status.closed:
        return None
    if r.outcome == "declined":
        closing = [i for i, v in enumerate(r.reviews) if v.kind == "decline" and v.accepted]
    else:
        closing = [i for i, v in enumerate(r.reviews) if v.stage == "D8" and v.accepted]
    return reviews[closing[-1]].signature if closing else None


def as_gate(r: Report, found: dict[str, list]) -> Gate:
    return Gate(
        stage=r.stage,
        missing=[f.message for f in found[r.stage] if f.level == method.BLOCK],
        disciplines={code: [Finding(level=f.level, message=f.message) for f in items] for code, items in found.items()},
    )


# ----------------------------------------------------------------------------------- activity
def as_event(e: AuditEvent) -> activity.Event:
    return activity.Event(
        id=e.id, seq=e.seq, at=iso(e.at), actor=e.actor_name, actor_id=e.actor_id, actor_company=e.actor_company, action=e.action,
        discipline=e.discipline, changes=e.changes or {}, comment=e.comment, hash=e.hash, prev_hash=e.prev_hash,
    )  # fmt: skip


def as_comment(c: Comment) -> activity.Comment:
    gone = c.withdrawn_at is not None
    return activity.Comment(
        id=c.id, report_id=c.report_id, discipline=c.discipline, author=as_user_ref(c.author), body=None if gone else c.body,
        body_html=None if gone else c.body_html, created_at=iso(c.created_at), edited_at=iso(c.edited_at), withdrawn=gone,
        withdrawn_at=iso(c.withdrawn_at),
    )  # fmt: skip


def as_attachment(a: Attachment) -> activity.Attachment:
    return activity.Attachment(
        id=a.id, report_id=a.report_id, filename=a.filename, size=a.size, sha256=a.sha256, content_type=a.content_type,
        discipline=a.discipline, action_id=a.action_id, description=a.description, replaces_id=a.replaces_id,
        uploaded_by=as_user_ref(a.uploaded_by), uploaded_at=iso(a.uploaded_at), withdrawn=a.withdrawn_at is not None,
        withdrawn_at=iso(a.withdrawn_at), withdrawn_reason=a.withdrawn_reason,
    )  # fmt: skip


def as_action(a: Action) -> actions.Action:
    return actions.Action(
        id=a.id, report_id=a.report_id, report_number=a.report.number, kind=a.kind.value, discipline=a.discipline, title=a.title,
        description=a.description, owner_id=a.owner_id, owner=as_user_ref(a.owner), due_date=iso(a.due_date), overdue=is_overdue(a),
        ref=a.ref, cause=a.cause, causes=list(a.causes or []), cause_ref=a.cause_ref, location=a.location, qty_suspect=a.qty_suspect,
        qty_checked=a.qty_checked, qty_nok=a.qty_nok, introduced_on=iso(a.introduced_on), effective_from=iso(a.effective_from),
        effective_pct=a.effective_pct, pre_verification=a.pre_verification, error_proofing=a.error_proofing, target=a.target,
        implemented_on=iso(a.implemented_on), evidence=list(a.evidence or []),
        pre_verification_evidence=list(a.pre_verification_evidence or []), implementation_evidence=list(a.implementation_evidence or []),
        status=a.status.value, verification=a.verification, verified_by=as_user_ref(a.verified_by), verified_at=iso(a.verified_at),
        cancel_reason=a.cancel_reason, removed_at=iso(a.removed_at), removed_by=as_user_ref(a.removed_by), version=a.version,
        created_at=iso(a.created_at), updated_at=iso(a.updated_at), warnings=warnings_for(a),
    )  # fmt: skip


# ----------------------------------------------------------------------------------- webhooks
def as_webhook(h, secret: str | None = None) -> webhooks.Webhook:
    fields = {"id": h.id, "url": h.url, "events": list(h.events or []), "description": h.description, "company_id": h.company_id,
              "created_at": iso(h.created_at), "created_by": h.created_by.name if h.created_by is not None else None}
    return webhooks.WebhookCreated(**fields, secret=secret) if secret is not None else webhooks.Webhook(**fields)


def as_webhook_delivery(d) -> webhooks.WebhookDelivery:
    return webhooks.WebhookDelivery(
        id=d.id, delivery_id=d.delivery_id, event=d.event, report_id=d.report_id, status=d.status.value, attempts=d.attempts or 0,
        created_at=iso(d.created_at), next_attempt_at=iso(d.next_attempt_at) if d.status.value == "pending" else None,
        last_attempt_at=iso(d.last_attempt_at), sent_at=iso(d.sent_at), response_status=d.response_status,
        response_body=d.response_body, last_error=d.last_error,
    )
