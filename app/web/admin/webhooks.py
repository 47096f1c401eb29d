"""Administration pages for the company's outbound webhooks: register (the secret is shown once),
delete, and each webhook's deliveries with the receiver's answers and a resend button. Scoped like
the API: another company's webhook does not exist (404)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import validate_csrf

from app import policy
from app.errors import DomainError, NotFound
from app.extensions import db
from app.services import webhooks
from app.web.admin import bp
from app.web.admin.forms import WebhookForm


def _hook(webhook_id: int):
    try:
        return webhooks.get(current_user, webhook_id)
    except NotFound:
        abort(404)


@bp.route("/webhooks", methods=["GET", "POST"])
def webhooks_page():
    may_manage = policy.can_manage_webhooks(current_user)
    form = WebhookForm()
    if request.method == "POST" and not may_manage:
        abort(403)
    new_secret = None
    if form.validate_on_submit():
        try:
            hook, new_secret = webhooks.create(current_user, form.url.data, form.events.data, form.secret.data or None, form.description.data)
            db.session.commit()
            flash(_("Webhook #%(id)s registered. Copy the secret now: it is not shown again.", id=hook.id), "success")
            form = WebhookForm(formdata=None)
        except DomainError as exc:
            db.session.rollback()
            for name, msg in (exc.details.get("fields") or {}).items():
                if hasattr(form, name):
                    getattr(form, name).errors.append(msg)
            if not exc.details.get("fields"):
                flash(exc.message, "danger")
    rows = db.session.scalars(webhooks.hooks_stmt(current_user)).unique().all() if may_manage else []
    return render_template("admin/webhooks.html", hooks=rows, form=form, may_manage=may_manage, new_secret=new_secret), (422 if form.errors else 200)


@bp.route("/webhooks/<int:webhook_id>", methods=["GET"])
def webhook_detail(webhook_id: int):
    hook = _hook(webhook_id)
    rows = db.session.scalars(webhooks.deliveries_stmt(hook).limit(300)).unique().all()
    return render_template("admin/webhook_detail.html", hook=hook, rows=rows)


@bp.route("/webhooks/<int:webhook_id>/delete", methods=["POST"])
def webhook_delete(webhook_id: int):
    validate_csrf(request.form.get("csrf_token"))
    hook = _hook(webhook_id)
    webhooks.delete(current_user, hook)
    db.session.commit()
    flash(_("Webhook #%(id)s deleted; nothing more is sent to it.", id=hook.id), "success")
    return redirect(url_for("admin.webhooks_page"))


@bp.route("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
def webhook_resend(webhook_id: int, delivery_id: int):
    validate_csrf(request.form.get("csrf_token"))
    hook = _hook(webhook_id)
    try:
        row = webhooks.get_delivery(hook, delivery_id)
    except NotFound:
        abort(404)
    webhooks.resend(current_user, row)
    db.session.commit()
    flash(_("Delivery #%(id)s will be sent again.", id=row.id), "success")
    return redirect(url_for("admin.webhook_detail", webhook_id=hook.id))
