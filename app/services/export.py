"""The whole report as one document: JSON for other systems, PDF for people (WeasyPrint with a
URL fetcher that fetches nothing, so user content cannot reach the network or the disk)."""

from __future__ import annotations

import hashlib
import json

from flask import render_template
from sqlalchemy import select

from app import method
from app.extensions import db
from app.models import Action, Attachment, AuditEvent, Comment, Report, iso, utcnow
from app.serialize import action_json, comment_json, event_json, report_json


def attachment_json(a: Attachment) -> dict:
    return {
        "id": a.id,
        "report_id": a.report_id,
        "filename": a.filename,
        "size": a.size,
        "sha256": a.sha256,
        "content_type": a.content_type,
        "discipline": a.discipline,
        "action_id": a.action_id,
        "description": a.description,
        "replaces_id": a.replaces_id,
        "uploaded_by": {"id": a.uploaded_by.id, "name": a.uploaded_by.name, "email": a.uploaded_by.email, "company": a.uploaded_by.company.name},
        "uploaded_at": iso(a.uploaded_at),
        "withdrawn": a.withdrawn_at is not None,
        "withdrawn_at": iso(a.withdrawn_at),
        "withdrawn_reason": a.withdrawn_reason,
    }


def export_document(report: Report) -> dict:
    doc = report_json(report)
    doc["actions"] = [action_json(a) for a in db.session.scalars(select(Action).where(Action.report_id == report.id).order_by(Action.id)).unique()]
    doc["attachments"] = [attachment_json(a) for a in db.session.scalars(select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id))]
    doc["comments"] = [comment_json(c) for c in db.session.scalars(select(Comment).where(Comment.report_id == report.id).order_by(Comment.id))]
    doc["events"] = [event_json(e) for e in db.session.scalars(select(AuditEvent).where(AuditEvent.report_id == report.id).order_by(AuditEvent.seq))]
    doc["method"] = {"review_points": list(method.review_points())}
    doc["content_sha256"] = content_hash(doc)
    doc["exported_at"] = iso(utcnow())
    return doc


def content_hash(doc: dict) -> str:
    """SHA-256 of the report's content (everything but the export time and volatile flags)."""
    stable = {k: v for k, v in doc.items() if k not in ("exported_at", "content_sha256", "overdue")}
    blob = json.dumps(stable, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _refuse_fetch(url: str, *args, **kwargs):
    raise ValueError(f"external resources are not loaded in exports: {url[:80]}")


def render_pdf(report: Report) -> bytes:
    from weasyprint import HTML

    doc = export_document(report)
    html = render_template("pdf/report.html", report=report, doc=doc, method=method)
    return HTML(string=html, url_fetcher=_refuse_fetch, base_url=None).write_pdf()
