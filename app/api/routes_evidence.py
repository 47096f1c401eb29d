"""Evidence attachments (API.md, "Evidence"): multipart upload, metadata, verified content."""

from __future__ import annotations

import json

from flask import Response, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.util import created, paginate
from app.errors import BadRequest
from app.extensions import db
from app.models import Attachment
from app.services import evidence
from app.services import reports as report_service
from app.services.export import attachment_json
from app.storage.names import content_disposition
from app.uploads import streamed_upload


def serve(att: Attachment, *, inline: bool = False) -> Response:
    """The bytes, verified, with headers that keep a browser from running them."""
    reader = evidence.open_content(att)
    inline = inline and evidence.inline_ok(att)
    response = Response(reader, mimetype=att.content_type, direct_passthrough=True)
    response.headers["Content-Length"] = str(att.size)
    response.headers["Content-Disposition"] = content_disposition(att.filename, attachment=not inline)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["ETag"] = f'"{att.sha256}"'
    return response


@bp.route("/reports/<int:report_id>/attachments", methods=["POST"])
def upload_attachment(report_id: int):
    with streamed_upload(current_user, report_id) as form:
        parts = form.files_named("file")
        if not parts:
            raise BadRequest("Send the file as multipart/form-data in the field 'file'.", {"fields": {"file": "is required"}})
        report = report_service.get_visible_report(current_user, report_id, for_update=True)
        att = evidence.upload(current_user, report, parts[0].staged, parts[0].filename, form.get("discipline"),
                              form.get("action_id"), form.get("description"), form.get("replaces_id"), form.get("claim") or None)
        db.session.commit()
    return created(attachment_json(att))


@bp.route("/reports/<int:report_id>/attachments", methods=["GET"])
def list_attachments(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    stmt = select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)
    return paginate(stmt, attachment_json)


@bp.route("/attachments/<int:attachment_id>", methods=["GET"])
def get_attachment(attachment_id: int):
    att, _report = evidence.get_attachment(current_user, attachment_id)
    return jsonify(attachment_json(att))


@bp.route("/attachments/<int:attachment_id>/content", methods=["GET"])
def attachment_content(attachment_id: int):
    att, _report = evidence.get_attachment(current_user, attachment_id)
    return serve(att)


@bp.route("/attachments/<int:attachment_id>", methods=["DELETE"])
def withdraw_attachment(attachment_id: int):
    att, report = evidence.get_attachment(current_user, attachment_id)
    reason = request.args.get("reason")
    if request.get_data(cache=True).strip():
        from app.api.util import json_body

        reason = json_body().get("reason", reason)
    notes = evidence.withdraw(current_user, att, report, reason)
    db.session.commit()
    response = Response(status=204)
    if notes:
        # What the withdrawal also did (a passed discipline lost its proof, an acceptance was
        # withdrawn), as a JSON list in ASCII; the audit trail holds the same.
        response.headers["X-8D-Notes"] = json.dumps(notes)
    return response
