"""Administration pages: companies and users. Changes apply at once (sessions end on
deactivation and password reset).

Two levels, as in the API: a company admin sees and manages their own company's people (another
company's account answers 404); a platform admin sees every company and account and creates
companies. Neither sees report content of a company they do not belong to here: the outbox and
the administration log are scoped like the rest (app/policy.py)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import policy
from app.errors import DomainError
from app.extensions import db
from app.models import AuditEvent, Company, MailStatus, OutboxMessage, User, is_id, utcnow
from app.notify.settings import mail_dir
from app.services import accounts, audit
from app.web.admin import bp
from app.web.admin.forms import CompanyForm, CompanySettingsForm, PasswordResetForm, SupplierLinkForm, UserEditForm, UserForm


@bp.before_request
@login_required
def _admins_only():
    if not policy.can_administer(current_user):
        abort(403)


def _apply_errors(form, exc: DomainError) -> None:
    db.session.rollback()
    fields = exc.details.get("fields") or {}
    placed = False
    for name, msg in fields.items():
        if hasattr(form, name):
            getattr(form, name).errors.append(msg)
            placed = True
    if not placed:
        flash(exc.message, "danger")


@bp.route("/", methods=["GET"])
def index():
    return redirect(url_for("admin.users"))


def _managed_user(user_id: int) -> User:
    """The account if the caller administers its company (else 404), and may change it (else 403)."""
    user = db.session.get(User, user_id) if is_id(user_id) else None
    if user is None or not policy.can_see_user(current_user, user):
        abort(404)
    return user


def _check_can_manage(user: User) -> None:
    if not policy.can_manage_user(current_user, user):
        abort(403)


@bp.route("/companies", methods=["GET", "POST"])
def companies():
    form = CompanyForm()
    may_create = policy.can_create_company(current_user)
    if request.method == "POST" and not may_create:
        abort(403)
    if form.validate_on_submit():
        try:
            company = accounts.create_company(current_user, form.name.data, form.kind.data)
            db.session.commit()
            flash(_("Company %(name)s created.", name=company.name), "success")
            return redirect(url_for("admin.companies"))
        except DomainError as exc:
            _apply_errors(form, exc)
    rows = db.session.scalars(select(Company).where(policy.managed_companies_clause(current_user)).order_by(Company.kind, Company.name)).all()
    link_form = SupplierLinkForm()
    link_form.customer_id.choices = link_form.supplier_id.choices = [(c.id, c.name) for c in rows]
    links = _supplier_links() if may_create else []
    return render_template("admin/companies.html", companies=rows, form=form, may_create=may_create, settings_form=CompanySettingsForm(),
                           link_form=link_form, links=links), (422 if form.errors else 200)


def _supplier_links() -> list[tuple[str, str]]:
    from sqlalchemy.orm import aliased

    from app.models import SupplierLink

    customer, supplier = aliased(Company), aliased(Company)
    return db.session.execute(select(customer.name, supplier.name).select_from(SupplierLink)
                              .join(customer, customer.id == SupplierLink.customer_id).join(supplier, supplier.id == SupplierLink.supplier_id)
                              .order_by(customer.name, supplier.name)).all()


@bp.route("/supplier-links", methods=["POST"])
def supplier_link():
    """Record that a company buys from another (platform admins): its 8Ds may cascade there."""
    if not policy.can_create_company(current_user):
        abort(403)
    form = SupplierLinkForm()
    if form.validate_on_submit():
        customer, supplier = db.session.get(Company, form.customer_id.data), db.session.get(Company, form.supplier_id.data)
        try:
            accounts.link_supplier(current_user, customer, supplier)
            db.session.commit()
            flash(_("%(c)s buys from %(s)s: its reports may cascade there.", c=customer.name, s=supplier.name), "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
    return redirect(url_for("admin.companies"))


@bp.route("/companies/<int:company_id>/settings", methods=["POST"])
def company_settings(company_id: int):
    """Whether a report's leader or champion may invite the company's people by e-mail."""
    from app.services import invitations

    company = db.session.get(Company, company_id) if is_id(company_id) else None
    if company is None or not policy.can_configure_company(current_user, company):
        abort(404)
    form = CompanySettingsForm()
    if form.validate_on_submit():
        invitations.set_allow_invitations(current_user, company, form.allow_invitations.data == "1")
        db.session.commit()
        flash(_("Invitations by e-mail for %(name)s: %(state)s.", name=company.name,
                state=_("allowed") if company.allow_invitations else _("not allowed")), "success")
    return redirect(url_for("admin.companies"))


@bp.route("/users", methods=["GET", "POST"])
def users():
    form = UserForm()
    companies = db.session.scalars(select(Company).where(policy.managed_companies_clause(current_user)).order_by(Company.name))
    form.company_id.choices = [(c.id, f"{c.name} ({c.kind.value})") for c in companies]
    if form.validate_on_submit():
        if not policy.can_assign_company(current_user, form.company_id.data):
            abort(404)  # another company does not exist for a company admin
        try:
            user = accounts.create_user(current_user, form.email.data, form.name.data, form.company_id.data, form.role.data, form.password.data)
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("admin.users"))
        except DomainError as exc:
            _apply_errors(form, exc)
    rows = db.session.scalars(select(User).where(policy.managed_users_clause(current_user)).order_by(User.company_id, User.name)).all()
    return render_template("admin/users.html", users=rows, form=form), (422 if form.errors else 200)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    user = _managed_user(user_id)
    _check_can_manage(user)
    form = UserEditForm(obj=None if UserEditForm().is_submitted() else user)
    if not form.is_submitted():
        form.role.data = user.role.value
    pw_form = PasswordResetForm(prefix="pw")
    if form.validate_on_submit():
        try:
            accounts.update_user(current_user, user, role=form.role.data, active=form.active.data, name=form.name.data)
            db.session.commit()
            flash(_("Changes to %(email)s saved; they apply at once.", email=user.email), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        except DomainError as exc:
            _apply_errors(form, exc)
    return render_template("admin/user_edit.html", user=user, form=form, pw_form=pw_form), (422 if form.errors else 200)


@bp.route("/users/<int:user_id>/password", methods=["POST"])
def user_password(user_id: int):
    user = _managed_user(user_id)
    _check_can_manage(user)
    pw_form = PasswordResetForm(prefix="pw")
    if pw_form.validate_on_submit():
        try:
            accounts.set_password(current_user, user, pw_form.password.data)
            db.session.commit()
            flash(_("Password of %(email)s reset; their sessions were ended.", email=user.email), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
        except DomainError as exc:
            _apply_errors(pw_form, exc)
    form = UserEditForm(obj=user)
    form.role.data = user.role.value
    return render_template("admin/user_edit.html", user=user, form=form, pw_form=pw_form), 422


@bp.route("/audit")
def audit_log():
    events = db.session.scalars(select(AuditEvent).where(policy.admin_events_clause(current_user)).order_by(AuditEvent.id.desc()).limit(200)).all()
    return render_template("admin/audit.html", events=events)


@bp.route("/notifications")
def notifications():
    """The outbox: status, attempts, last error; failed ones can be sent again."""
    status = request.args.get("status", "")
    scope = policy.outbox_clause(current_user)
    stmt = select(OutboxMessage).where(scope).order_by(OutboxMessage.id.desc()).limit(300)
    if status in {s.value for s in MailStatus}:
        stmt = stmt.where(OutboxMessage.status == MailStatus(status))
    rows = db.session.scalars(stmt).all()
    counts = dict(db.session.execute(select(OutboxMessage.status, func.count()).where(scope).group_by(OutboxMessage.status)).all())
    return render_template("admin/notifications.html", rows=rows, counts={k.value if hasattr(k, "value") else k: v for k, v in counts.items()},
                           status=status, mail_dir=None if current_app.config.get("SMTP_HOST") else mail_dir(current_app))


@bp.route("/notifications/<int:message_id>/resend", methods=["POST"])
def notification_resend(message_id: int):
    row = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id, policy.outbox_clause(current_user))) if is_id(message_id) else None
    if row is None:
        abort(404)
    row.status, row.attempts, row.next_attempt_at, row.last_error = MailStatus.pending, 0, utcnow(), None
    row.claimed_at = row.claimed_by = None
    audit.record("notification.resent", current_user, changes={"message": [row.id, row.id], "to": [row.to_email, row.to_email]},
                 company_id=row.recipient.company_id if row.recipient is not None else None)
    db.session.commit()
    flash(_("Message #%(id)s will be sent again.", id=row.id), "success")
    return redirect(url_for("admin.notifications", status=request.args.get("status", "")))
