from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from app import security_log
from app.extensions import db
from app.models import utcnow
from app.services import accounts, login_limits
from app.web.auth import bp
from app.web.auth.forms import LanguageForm, LoginForm


def safe_next(target: str | None) -> str:
    """Only same-site relative paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("reports.dashboard")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("reports.dashboard")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("reports.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        # one budget per account for this form and the API's tokens, one per address (database-backed)
        login_limits.spend(login_limits.account_key(form.email.data), login_limits.address_key("login", request.remote_addr))
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            security_log.event("login", email=form.email.data, outcome="failed")
            form.password.errors.append(_("The e-mail or the password is not correct."))
        else:
            session.clear()  # a fresh session at login (no fixation)
            record = accounts.start_session(user, request.remote_addr)
            db.session.commit()
            session["sid"] = record.id
            session["seen"] = int(utcnow().timestamp())
            session.permanent = True
            login_user(user)
            security_log.event("login", user=user)
            flash(_("Welcome, %(name)s.", name=user.name), "success")
            return redirect(safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), (200 if not form.errors else 401)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """GET shows a "Sign out" button (a GET never changes state, so no other site can sign a user
    out with a link); the POST, with its CSRF token, ends the session on the server."""
    if request.method == "GET":
        if current_user.is_authenticated:
            return render_template("auth/logout.html")
        return redirect(url_for("auth.login"))
    if current_user.is_authenticated:
        security_log.event("logout", user=current_user)
        accounts.end_session(session.get("sid"))
        db.session.commit()
        logout_user()
    session.clear()
    flash(_("You have been signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    from app.errors import Invalid
    from app.notify import MANDATORY_CATEGORIES
    from app.services import preferences as prefs

    errors: dict = {}
    if request.method == "POST":
        try:
            prefs.set_preferences(current_user, {c: request.form.get(f"mode.{c}", "immediate") for c in prefs.CATEGORY_LABELS})
            db.session.commit()
            flash(_("Your notification settings were saved."), "success")
            return redirect(url_for("auth.account"))
        except Invalid as exc:
            db.session.rollback()
            errors = exc.fields
    return render_template("auth/account.html", prefs=prefs.preferences(current_user), labels=prefs.CATEGORY_LABELS,
                           mandatory=MANDATORY_CATEGORIES, errors=errors, language_form=LanguageForm(language=current_user.language or "")),\
        (422 if errors else 200)


@bp.route("/account/language", methods=["POST"])
@login_required
def account_language():
    """The user's own language: pages, mails and PDFs are written in it from now on."""
    from flask_babel import refresh

    form = LanguageForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the languages offered."), "danger")
        return redirect(url_for("auth.account"))
    accounts.set_language(current_user, form.language.data or None)
    db.session.commit()
    refresh()  # this request's own message in the new language
    flash(_("Your language was saved."), "success")
    return redirect(url_for("auth.account"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    from app.services import password_reset

    sent = False
    if request.method == "POST":
        login_limits.spend(login_limits.address_key("reset", request.remote_addr))
        email = (request.form.get("email") or "").strip()[:320]
        password_reset.request_reset(email)
        db.session.commit()
        security_log.event("password_reset_requested", email=email)
        sent = True
    return render_template("auth/forgot.html", sent=sent)


def _reset_token(value: str | None) -> str:
    """The key of a reset link: pasted as the whole link or as the part after '#'."""
    value = (value or "").strip()
    return value.rsplit("#", 1)[-1][:500]


@bp.route("/password/reset", methods=["GET", "POST"])
def reset_password():
    """The e-mail's link is /password/reset#<key>: browsers never send the part after '#', so the
    key appears in no access log, proxy log or Referer header; a line of JavaScript moves it into
    the form (without JavaScript, the user pastes the link) and the POST body carries it."""
    from app.errors import Invalid
    from app.services import password_reset

    errors: dict = {}
    token = ""
    if request.method == "POST":
        login_limits.spend(login_limits.address_key("reset", request.remote_addr))
        token = _reset_token(request.form.get("token"))
        user = password_reset.user_for_token(token) if token else None
        if user is None:
            security_log.event("password_reset", outcome="failed", detail="invalid or used link")
            return render_template("auth/reset.html", invalid=True, errors={}, token=""), 400
        password = request.form.get("password", "")
        if password != request.form.get("confirm", ""):
            errors["confirm"] = _("The two passwords differ.")
        else:
            try:
                accounts.set_password(user, user, password)
                db.session.commit()
                security_log.event("password_reset", user=user)
                flash(_("Your password was changed. Sign in with the new one."), "success")
                return redirect(url_for("auth.login"))
            except Invalid as exc:
                db.session.rollback()
                errors = exc.fields
    return render_template("auth/reset.html", invalid=False, errors=errors, token=token), (422 if errors else 200)
