"""Who may do what - the only place that answers it.

Pages, the JSON API, downloads, search, exports and e-mail recipients all ask here. List queries
are scoped in SQL with `visible_reports_clause`, the same rule as `can_view`.

The tenancy rule: a user sees a report only if their company is its OEM or its supplier - every
role, administrators included. A report the user may not see does not exist for them (404, never
403).

Administration has two levels. A company admin (`role: admin`) manages the users of their own
company; another company's users do not exist for them (404). A platform administrator
(`platform_admin`, granted on the command line only) creates companies and manages any account,
and sees no report of a company they do not belong to.
"""

from __future__ import annotations

from sqlalchemy import false, or_, select, true

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
    """SQL form of can_view, for scoping every list query."""
    if not _usable(user):
        return false()
    # A company is either an OEM or a supplier, and a report's parties are one of each (checked
    # when it is opened), so one indexed column decides - the same rule as can_view.
    if user.company.kind == CompanyKind.oem:
        return Report.oem_id == user.company_id
    return Report.supplier_id == user.company_id


def can_create_report(user) -> bool:
    return _writer(user)


def can_be_party(user, oem: Company, supplier: Company) -> bool:
    """A report is opened by one of its two companies."""
    return can_create_report(user) and user.company_id in (oem.id, supplier.id)


def can_edit(user, report: Report, discipline: str | None = None) -> bool:
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


def can_view_history(user, report: Report) -> bool:
    return can_view(user, report)


def can_withdraw_comment(user, report: Report, author: User | None) -> bool:
    """The author, or an admin of the author's company (moderation stays within one's company)."""
    if not can_view(user, report) or author is None:
        return False
    return author.id == user.id or (is_admin(user) and author.company_id == user.company_id)


def can_purge_evidence(user, report: Report, uploader: User | None) -> bool:
    """Deleting the bytes of withdrawn evidence: an admin of the uploader's company."""
    return can_view(user, report) and is_admin(user) and uploader is not None and uploader.company_id == user.company_id


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


def pickable_companies_clause(user):
    """Companies the caller may pick as report parties: their own and those of the other kind.

    A supplier sees the OEMs (its customers) but never another supplier. Company admins see
    what their company's people see; platform admins see every company (no report content).
    """
    if not _usable(user):
        return false()
    if is_platform_admin(user):
        return true()
    other = CompanyKind.supplier if user.company.kind == CompanyKind.oem else CompanyKind.oem
    return or_(Company.id == user.company_id, Company.kind == other)


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


__all__ = [name for name in dir() if name.startswith(("can_", "is_", "visible_", "pickable_", "listable_", "may_", "team_", "report_", "managed_",
                                                         "admin_", "outbox_"))]
