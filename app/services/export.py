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
from app.serialize import as_action, as_attachment, as_comment, as_event, as_report, to_dict


def export_document(report: Report) -> dict:
    """The report JSON plus its actions, files, comments and events (the shape ReportExport)."""
    doc = to_dict(as_report(report))
    children = ((Action, Action.id, as_action), (Attachment, Attachment.id, as_attachment), (Comment, Comment.id, as_comment),
                (AuditEvent, AuditEvent.seq, as_event))
    for (model, order, shape), key in zip(children, ("actions", "attachments", "comments", "events"), strict=True):
        rows = db.session.scalars(select(model).where(model.report_id == report.id).order_by(order)).unique()
        doc[key] = [to_dict(shape(row)) for row in rows]
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


def render_html_pdf(html: str) -> bytes:
    """A page of ours as PDF, fetching nothing (the KPI review handout uses it too)."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=_refuse_fetch, base_url=None).write_pdf()


def render_pdf(report: Report) -> bytes:
    from app.web.pictures import report_pictures

    doc = export_document(report)
    html = render_template("pdf/report.html", report=report, doc=doc, method=method, pictures=report_pictures(report))
    return render_html_pdf(html)
