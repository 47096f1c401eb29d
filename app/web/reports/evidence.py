"""Evidence on the report page: upload several files at once (with or without JavaScript),
thumbnails and previews of images, withdraw with a reason, new versions, admin purge."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from app.errors import DomainError, Forbidden
from app.extensions import csrf, db
from app.services import evidence
from app.services import reports as report_service
from app.storage import filetypes, get_store
from app.storage.errors import StorageError
from app.storage.thumbs import cached_thumbnail
from app.uploads import streamed_upload
from app.web.flow import commit_or_flash
from app.web.reports import bp


@bp.route("/reports/<int:report_id>/evidence", methods=["POST"])
@login_required
@csrf.exempt  # checked below, once the streamed form is read (Flask-WTF would parse it first)
def evidence_upload(report_id: int):
    with streamed_upload(current_user, report_id) as form:
        try:
            validate_csrf(form.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except ValidationError as exc:
            raise CSRFError(str(exc)) from None
        report = report_service.get_visible_report(current_user, report_id, for_update=True)
        discipline = form.get("discipline", "")
        action_id = form.get("action_id")
        back = url_for("reports.detail", report_id=report.id, d=discipline if discipline in report_service.method.CODES else None, _anchor="evidence")
        files = [f for f in form.files_named("file") if f.filename]
        if not files:
            flash(_("Choose at least one file."), "danger")
            return redirect(back)
        claim = form.get("claim") or None
        if claim and (action_id or "").isdigit():
            # an action's evidence list belongs to a discipline: a corrective action's implementation is D6's
            discipline = {"pre_verification_evidence": "D5", "implementation_evidence": "D6"}.get(claim, discipline)
        stored = 0
        for f in files:
            try:
                evidence.upload(current_user, report, f.staged, f.filename, discipline, action_id, form.get("description"), form.get("replaces_id"), claim)
                db.session.commit()  # each file on its own: one refused file does not cost the others
                stored += 1
            except DomainError as exc:
                if isinstance(exc, Forbidden):
                    raise  # 403 from the shared handler, not a flash
                db.session.rollback()
                flash(f"{f.filename}: {exc.message}", "danger")
    if stored:
        flash(_("%(n)s file(s) added as evidence.", n=stored), "success")
    if (action_id or "").isdigit():
        return redirect(url_for("actions.detail", action_id=int(action_id)))
    return redirect(back)


@bp.route("/reports/<int:report_id>/evidence/<int:attachment_id>/withdraw", methods=["POST"])
@login_required
def evidence_withdraw(report_id: int, attachment_id: int):
    att, report = evidence.get_attachment(current_user, attachment_id)
    if report.id != report_id:
        abort(404)
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        flash(_("Give a reason for withdrawing the evidence."), "danger")
    else:
        notes: list[str] = []
        if commit_or_flash(lambda: notes.extend(evidence.withdraw(current_user, att, report, reason)),
                           _("Evidence withdrawn; the file and the history are kept."), "info"):
            for note in notes:
                flash(note, "warning")
    return redirect(url_for("reports.detail", report_id=report.id, d=att.discipline, _anchor="evidence"))


@bp.route("/evidence/<int:attachment_id>/thumb")
@login_required
def evidence_thumb(attachment_id: int):
    att, _report = evidence.get_attachment(current_user, attachment_id)
    if not evidence.inline_ok(att) or att.purged_at:
        abort(404)
    try:  # made once per content (instance/thumbs), not on every request
        data = cached_thumbnail(Path(current_app.instance_path) / "thumbs", att.sha256,
                                lambda: get_store(current_app).verified_file(att.storage_key, att.sha256), 240,
                                max_pixels=filetypes.MAX_IMAGE_PIXELS)
    except StorageError:
        abort(404)
    if data is None:
        abort(404)
    mime = "image/png" if data[:4] == b"\x89PNG" else "image/jpeg"
    return Response(data, mimetype=mime, headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
                                                  "Content-Security-Policy": "default-src 'none'; sandbox"})


@bp.route("/evidence/<int:attachment_id>/preview")
@login_required
def evidence_preview(attachment_id: int):
    from app.edge import serve

    att, _report = evidence.get_attachment(current_user, attachment_id)
    return serve(att, inline=True)


@bp.route("/evidence/<int:attachment_id>/purge", methods=["POST"])
@login_required
def evidence_purge(attachment_id: int):
    att, report = evidence.get_attachment(current_user, attachment_id)
    commit_or_flash(lambda: evidence.purge(current_user, att, report), _("The file was purged; the record and its history remain."), "info")
    return redirect(url_for("reports.detail", report_id=report.id, d=att.discipline, _anchor="evidence"))
