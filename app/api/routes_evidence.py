"""Evidence attachments (docs/api.md, "Evidence"): multipart upload, metadata, verified content."""

from __future__ import annotations

import json

from flask import Response, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.api import bp
from app.api.spec import operation
from app.api.util import created, json_body, paginate, respond
from app.edge import serve
from app.errors import BadRequest
from app.extensions import db
from app.models import Attachment
from app.schemas.activity import Attachment as AttachmentShape
from app.schemas.activity import Upload
from app.schemas.base import Paging, page_of
from app.serialize import as_attachment
from app.services import evidence
from app.services import reports as report_service
from app.uploads import streamed_upload


@operation("Upload evidence (multipart: file, discipline, action_id?, description?, replaces_id?, claim?)", "evidence", ok=201,
           response=AttachmentShape, body=Upload, body_type="multipart/form-data", errors=(403, 409, 413, 415, 422, 503),
           description="413 when larger than MAX_UPLOAD_MB; 415 when the content (not the name) is not an accepted type; 503 when the evidence store "
           "does not answer (nothing stored).")
@bp.route("/reports/<int:report_id>/attachments", methods=["POST"])
def upload_attachment(report_id: int):
    with streamed_upload(current_user, report_id) as form:
        parts = form.files_named("file")
        if not parts:
            raise BadRequest(_("Send the file as multipart/form-data in the field 'file'."), {"fields": {"file": "is required"}})
        report = report_service.get_visible_report(current_user, report_id, for_update=True)
        att = evidence.upload(current_user, report, parts[0].staged, parts[0].filename, form.get("discipline"),
                              form.get("action_id"), form.get("description"), form.get("replaces_id"), form.get("claim") or None)
        db.session.commit()
    return created(as_attachment(att))


@operation("The report's evidence (withdrawn items included)", "evidence", response=page_of(AttachmentShape), query=(Paging,))
@bp.route("/reports/<int:report_id>/attachments", methods=["GET"])
def list_attachments(report_id: int):
    report = report_service.get_visible_report(current_user, report_id)
    stmt = select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)
    return paginate(stmt, as_attachment, AttachmentShape)


@operation("Evidence metadata", "evidence", response=AttachmentShape)
@bp.route("/attachments/<int:attachment_id>", methods=["GET"])
def get_attachment(attachment_id: int):
    att, _report = evidence.get_attachment(current_user, attachment_id)
    return respond(as_attachment(att))


@operation("The bytes, re-verified against their SHA-256", "evidence", response={"type": "string", "format": "binary"},
           response_type="*/*", errors=(409, 503),
           description="Served with the type the content was recognised as. Content-Disposition: attachment; X-Content-Type-Options: nosniff. 409 (details.rule corrupted or missing) when the "
           "stored bytes do not match; 503 when the evidence store does not answer.")
@bp.route("/attachments/<int:attachment_id>/content", methods=["GET"])
def attachment_content(attachment_id: int):
    att, _report = evidence.get_attachment(current_user, attachment_id)
    return serve(att)


@operation("Withdraw evidence (audited; the bytes are kept until an admin purges them)", "evidence", ok=204, errors=(403, 409),
           description="Optional reason as JSON {\"reason\"} or ?reason=. When the file was proof of a discipline whose completion check had "
           "passed, the header X-8D-Notes carries a JSON list of what the withdrawal did (the proof lost, customer acceptances "
           "withdrawn; also in the audit trail). A file a discipline under review relies on: 409 (rule frozen).")
@bp.route("/attachments/<int:attachment_id>", methods=["DELETE"])
def withdraw_attachment(attachment_id: int):
    att, report = evidence.get_attachment(current_user, attachment_id)
    reason = request.args.get("reason")
    if request.get_data(cache=True).strip():
        reason = json_body().get("reason", reason)
    notes = evidence.withdraw(current_user, att, report, reason)
    db.session.commit()
    response = Response(status=204)
    if notes:
        # What the withdrawal also did (a passed discipline lost its proof, an acceptance was
        # withdrawn), as a JSON list in ASCII; the audit trail holds the same.
        response.headers["X-8D-Notes"] = json.dumps(notes)
    return response
