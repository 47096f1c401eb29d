"""Who may do what - the only place that answers it.

Pages, the JSON API, downloads, search, exports and e-mail recipients all ask here. List queries
are scoped in SQL with `visible_reports_clause`, the same rule as `can_view`.

The tenancy rule: a user sees a report only if their company is its customer (`oem_id`, the name
kept from the first version) or its supplier - every role, administrators included. A company's
kind does not limit which side it takes: a Tier-1 is the supplier of its OEM's report and the
customer of the cascade it opens with its own sub-supplier. A report the user may not see does not exist for them (404, never
403).

Administration has two levels. A company admin (`role: admin`) manages the users of their own
company; another company's users do not exist for them (404). A platform administrator
(`platform_admin`, granted on the command line only) creates companies and manages any account,
and sees no report of a company they do not belong to.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select, true, union

from app.models import (
    EDITING_ROLES,
    STEERING_ROLES,
    Company,
    CompanyKind,
    Report,
    Role,
    Status,
    User,
)


def _usable(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.active


def is_admin(user) -> bool:
    """A company admin: administers the users of their own company, nothing more."""
    return _usable(user) and user.role == Role.admin


def is_platform_admin(user) -> bool:
    return _usable(user) and bool(getattr(user, "platform_admin", False))


def _writer(user) -> bool:
    """Account roles that may ever change a report (viewers and admins do not work reports)."""
    return _usable(user) and user.role in (Role.engineer, Role.quality_lead)


def _team_role(user, report: Report):
    member = report.team_member(user)
    return member.role if member else None


# ------------------------------------------------------------------------------------ reports
def can_view(user, report: Report) -> bool:
    """The report's two companies see it - every role alike; nobody else (platform admins included)."""
    if not _usable(user):
        return False
    return user.company_id in (report.oem_id, report.supplier_id)


def visible_reports_clause(user):
    """SQL form of can_view, for scoping every list query: the reports whose customer or supplier
    is the caller's company (each side has its own index)."""
    if not _usable(user):
        return false()
    return or_(Report.oem_id == user.company_id, Report.supplier_id == user.company_id)


def can_create_report(user) -> bool:
    return _writer(user)


def can_be_party(user, oem: Company, supplier: Company) -> bool:
    """A report is opened by one of its two companies."""
    return can_create_report(user) and user.company_id in (oem.id, supplier.id)


def can_edit(user, report: Report) -> bool:
    """Edit a discipline or the header: a working place on the team (champion, leader, member).

    Whether the discipline is frozen (under review, closed) is a state rule of the workflow
    service, answered with 409, not a permission.
    """
    return can_view(user, report) and _writer(user) and _team_role(user, report) in EDITING_ROLES


def can_advance(user, report: Report) -> bool:
    return can_view(user, report) and _writer(user) and _team_role(user, report) in STEERING_ROLES


def is_oem_quality_lead(user, report: Report) -> bool:
    return _usable(user) and user.role == Role.quality_lead and user.company_id == report.oem_id


def can_review(user, report: Report) -> bool:
    """Only a quality lead of the report's OEM reviews and signs: the customer closes an 8D."""
    return is_oem_quality_lead(user, report)


def can_decline(user, report: Report) -> bool:
    """Triage: the supplier's team leader or champion may ask the customer to decline a complaint
    that is not the supplier's (the customer's quality lead decides, as in a review)."""
    return can_advance(user, report) and user.company_id == report.supplier_id


def can_return(user, report: Report) -> bool:
    return can_advance(user, report) or is_oem_quality_lead(user, report)


def can_reopen(user, report: Report) -> bool:
    return is_oem_quality_lead(user, report)


def can_decide_effectiveness(user, report: Report) -> bool:
    """After the watch, the customer's quality lead decides (signed) whether the fix held."""
    return is_oem_quality_lead(user, report)


def can_manage_team(user, report: Report) -> bool:
    """The team leader or champion, or an admin of one of the report's two companies."""
    return can_view(user, report) and (is_admin(user) or can_advance(user, report))


def can_comment(user, report: Report) -> bool:
    # Commenting is writing: the working team (not its read-only members) and the customer's
    # quality lead, who reviews and often asks in a comment first.
    return can_view(user, report) and _writer(user) and (_team_role(user, report) in EDITING_ROLES or is_oem_quality_lead(user, report))


def can_manage_actions(user, report: Report) -> bool:
    """Create and update actions: the report's working team (either company)."""
    return can_edit(user, report)


def can_upload(user, report: Report) -> bool:
    return can_edit(user, report)


def can_export(user, report: Report) -> bool:
    return can_view(user, report)


def can_withdraw_comment(user, report: Report, author: User | None) -> bool:
    """The author, or an admin of the author's company (moderation stays within one's company)."""
    if not can_view(user, report) or author is None:
        return False
    return author.id == user.id or (is_admin(user) and author.company_id == user.company_id)


def can_purge_evidence(user, report: Report, uploader: User | None) -> bool:
    """Deleting the bytes of withdrawn evidence: an admin of the uploader's company."""
    return can_view(user, report) and is_admin(user) and uploader is not None and uploader.company_id == user.company_id


# ---------------------------------------------------------------------------- tiers (cascades)
def can_cascade(user, report: Report) -> bool:
    """The supplier's team leader or champion opens a linked 8D with one of its own suppliers."""
    return can_advance(user, report) and user.company_id == report.supplier_id


def cascade_targets_clause(report: Report):
    """Companies a report's supplier may cascade to: its own suppliers (linked by a platform
    administrator, or its suppliers in other reports) - active, and neither of the report's two.
    Nobody learns of a company their own does not work with."""
    from app.models import SupplierLink

    own_suppliers = union(select(SupplierLink.supplier_id).where(SupplierLink.customer_id == report.supplier_id),
                          select(Report.supplier_id).where(Report.oem_id == report.supplier_id))
    return Company.active.is_(True) & Company.id.in_(own_suppliers) & Company.id.not_in([report.oem_id, report.supplier_id])


def sees_cascade_content(user, parent: Report) -> bool:
    """The parent's supplier (the children's customer) sees its cascades in full - number,
    title, supplier, stage, status and due dates; the parent's customer only that they exist,
    with their stage and status; the sub-supplier never sees the parent."""
    return can_view(user, parent) and user.company_id == parent.supplier_id


def can_see_parent(user, child: Report) -> bool:
    """A cascade names its parent to the parent's supplier only (the child's customer)."""
    return child.parent_id is not None and can_view(user, child) and user.company_id == child.oem_id


# ------------------------------------------------------------------------------- invitations
def can_invite(user, report: Report) -> bool:
    """The report's team leader or champion invites people of the report's two companies."""
    return can_advance(user, report)


def may_invite_into(report: Report, company: Company) -> bool:
    """Invitations go to people of the report's two companies, when that company allows them."""
    return company is not None and company.id in (report.oem_id, report.supplier_id) and company.active and company.allow_invitations


def can_manage_invitations(user, report: Report) -> bool:
    """List and revoke a report's invitations: those who manage its team."""
    return can_manage_team(user, report)


def can_configure_company(user, company: Company) -> bool:
    """Company settings (whether invitations are allowed): its own admins, or a platform admin."""
    if company is None:
        return False
    return is_platform_admin(user) or (is_admin(user) and company.id == user.company_id)


def may_join_team(candidate: User, report: Report) -> bool:
    """Only users of the report's two companies can join its team (administrators do not)."""
    return candidate.active and candidate.role != Role.admin and candidate.company_id in (report.oem_id, report.supplier_id)


# ------------------------------------------------------------------------------ administration
def can_administer(user) -> bool:
    """May open the administration at all (pages and API): company or platform admins."""
    return is_admin(user) or is_platform_admin(user)


def can_create_company(user) -> bool:
    return is_platform_admin(user)


def can_assign_company(user, company_id) -> bool:
    """May create users of this company: a platform admin any, a company admin their own."""
    if is_platform_admin(user):
        return True
    return is_admin(user) and company_id == user.company_id


def can_see_user(actor, target: User) -> bool:
    """An account exists for its company's admins and for platform admins; for anyone else
    in the administration it does not (404)."""
    if target is None:
        return False
    return is_platform_admin(actor) or (is_admin(actor) and target.company_id == actor.company_id)


def can_manage_user(actor, target: User) -> bool:
    """Change role, name, active flag or password. A company admin never changes a platform
    admin's account (that would hand them the platform)."""
    if is_platform_admin(actor):
        return True
    return can_see_user(actor, target) and not target.platform_admin


def managed_users_clause(user):
    """SQL form of can_see_user: the accounts listed in the administration."""
    if is_platform_admin(user):
        return true()
    if is_admin(user):
        return User.company_id == user.company_id
    return false()


def managed_companies_clause(user):
    """Companies listed in the administration (and offered for new users)."""
    if is_platform_admin(user):
        return true()
    if is_admin(user):
        return Company.id == user.company_id
    return false()


def admin_events_clause(user):
    """Entries of the administration log (the global audit chain) the caller may read: all for
    platform admins, those about their own company for company admins."""
    from app.models import AuditEvent

    if is_platform_admin(user):
        return AuditEvent.report_id.is_(None)
    if is_admin(user):
        return AuditEvent.report_id.is_(None) & (AuditEvent.company_id == user.company_id)
    return false()


def outbox_clause(user):
    """Mails the caller may see and resend: those to people of their own company; a platform
    admin also those about accounts (no report) to anyone. Report mails of other companies carry
    report content and stay hidden from everyone outside."""
    from app.models import OutboxMessage

    if not can_administer(user):
        return false()
    own = OutboxMessage.recipient_id.in_(select(User.id).where(User.company_id == user.company_id))
    if is_platform_admin(user):
        return or_(own, OutboxMessage.report_id.is_(None))
    return own


def can_manage_webhooks(user) -> bool:
    """Webhooks belong to a company: its admins register them (a platform admin only for a
    company whose admin they also are - they see no other company's reports)."""
    return is_admin(user) and user.company_id is not None


def webhooks_clause(user):
    """The webhooks the caller administers: those of their own company; others do not exist (404)."""
    from app.models import Webhook

    if not can_manage_webhooks(user):
        return false()
    return (Webhook.company_id == user.company_id) & Webhook.deleted_at.is_(None)


def webhooks_of_report_clause(report: Report):
    """The webhooks that hear of a report: live ones of its two companies, the same parties that
    can_view lets see it - never a third company's."""
    from app.models import Webhook

    return Webhook.company_id.in_([report.oem_id, report.supplier_id]) & Webhook.deleted_at.is_(None)


def partners_of(company_id: int):
    """SQL: the companies `company_id` works with - those it shares a report with, on either side,
    and those linked to it as its supplier or its customer (SupplierLink)."""
    from app.models import SupplierLink

    return union(select(Report.supplier_id).where(Report.oem_id == company_id),
                 select(Report.oem_id).where(Report.supplier_id == company_id),
                 select(SupplierLink.supplier_id).where(SupplierLink.customer_id == company_id),
                 select(SupplierLink.customer_id).where(SupplierLink.supplier_id == company_id))


def pickable_companies_clause(user):
    """Companies the caller may pick as report parties: their own, those of the other kind (an
    OEM's suppliers, a supplier's customers) and the partners of their company (a Tier-1's
    sub-suppliers, linked by a platform administrator or by a report they share).

    A supplier never learns of another supplier it does not work with. Company admins see what
    their company's people see; platform admins see every company (no report content).
    """
    if not _usable(user):
        return false()
    if is_platform_admin(user):
        return true()
    other = CompanyKind.supplier if user.company.kind == CompanyKind.oem else CompanyKind.oem
    return or_(Company.id == user.company_id, Company.kind == other, Company.id.in_(partners_of(user.company_id)))


def listable_users_clause(user, report: Report | None = None):
    """Users the caller may put on a team (or, with a report, on that report's team)."""
    if report is not None:
        # Administrators run the tool, they do not work reports.
        return User.company_id.in_([report.oem_id, report.supplier_id]) & User.active.is_(True) & (User.role != Role.admin)
    if not _usable(user):
        return false()
    company_ids = select(Company.id).where(pickable_companies_clause(user))
    return User.company_id.in_(company_ids) & User.active.is_(True)


def team_recipients(report: Report, exclude: User | None = None) -> list[User]:
    """People told about a report's stage changes: its team, if they may still see it."""
    return [
        m.user
        for m in report.team
        if can_view(m.user, report) and (exclude is None or m.user_id != exclude.id)
    ]


def report_is_frozen(report: Report, discipline: str) -> bool:
    """Closed reports are frozen; while in review, the reviewed stage and all before it are."""
    from app.method import CODES

    if report.status == Status.closed:
        return True
    if report.status == Status.in_review:
        return CODES.index(discipline) <= CODES.index(report.stage)
    return False


# ------------------------------------------------------------------------------------- KPIs
def can_view_supplier_figures(user, supplier_id: int) -> bool:
    """A supplier's KPIs and review handout: the supplier itself, and the customers it has
    reports with (the figures only ever count the reports the user may see)."""
    from app.extensions import db

    if not _usable(user):
        return False
    if user.company_id == supplier_id:
        return True
    return db.session.scalar(select(Report.id).where(visible_reports_clause(user), Report.supplier_id == supplier_id).limit(1)) is not None


__all__ = [name for name in dir() if name.startswith(("can_", "is_", "visible_", "pickable_", "listable_", "may_", "team_", "report_", "managed_",
                                                         "admin_", "outbox_", "webhooks_", "cascade_", "sees_", "partners_"))]
