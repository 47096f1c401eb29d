"""/invitations/<token>: the page of the invitation link. The invitee chooses a name and a
password (the policy of every account), is signed in and lands on the report."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from app import security_log
from app.errors import Conflict, Gone, Invalid, NotFound
from app.extensions import db
from app.models import utcnow
from app.services import accounts, invitations, login_limits
from app.web.auth import bp
from app.web.auth.forms import InvitationAcceptForm


def _sign_in(user) -> None:
    """The new account is signed in; a session someone had in this browser ends first."""
    if session.get("sid"):
        accounts.end_session(session.get("sid"))
    logout_user()
    session.clear()  # a fresh session (no fixation)
    record = accounts.start_session(user, request.remote_addr)
    db.session.commit()
    session["sid"] = record.id
    session["seen"] = int(utcnow().timestamp())
    session.permanent = True
    login_user(user)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    try:
        inv = invitations.pending(token)
    except NotFound:
        return render_template("auth/invitation.html", state="unknown", form=None, inv=None), 404
    except Gone:
        return render_template("auth/invitation.html", state="gone", form=None, inv=None), 410
    form = InvitationAcceptForm()
    if request.method == "GET":
        form.name.data = inv.name
    errors: dict = {}
    if form.validate_on_submit():
        login_limits.spend(login_limits.address_key("invitation", request.remote_addr))
        if form.password.data != form.confirm.data:
            errors["confirm"] = _("The two passwords differ.")
        else:
            report_id = inv.report_id
            try:
                user = invitations.accept(token, {"name": form.name.data, "password": form.password.data})
                db.session.commit()
            except (Invalid, Conflict) as exc:
                db.session.rollback()
                errors = getattr(exc, "fields", None) or exc.details.get("fields") or {"_": exc.message}
            else:
                security_log.event("invitation_accepted", user=user)
                _sign_in(user)
                flash(_("Welcome, %(name)s. You are on the team of this report.", name=user.name), "success")
                return redirect(url_for("reports.detail", report_id=report_id))
    elif request.method == "POST":
        errors = {name: "; ".join(msgs) for name, msgs in form.errors.items()}
    return render_template("auth/invitation.html", state="pending", form=form, inv=inv, errors=errors), (422 if errors else 200)
