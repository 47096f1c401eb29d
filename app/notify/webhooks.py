"""Webhook events into the outbox, in the caller's transaction (like enqueue.py for e-mails).

A change of a report calls `emit` next to its e-mails: one WebhookDelivery row per live webhook of
the report's two companies that subscribed to the event, with the exact JSON body that will be
signed and sent. If the transaction rolls back, the deliveries vanish with it; after commit the
worker delivers them (webhook_delivery.py).

Secrets are shared secrets: the server must be able to sign with them, so they are stored sealed
(encrypted and authenticated with a key derived from WEBHOOK_KEY, else SECRET_KEY) and never shown
again after creation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import policy
from app.extensions import db
from app.models import Report, Webhook, WebhookDelivery, iso, utcnow
from app.notify.enqueue import report_link

SEAL_VERSION = "v1"


class SecretUnavailable(Exception):
    """The sealed secret cannot be opened: the server's key changed since it was stored."""


# ------------------------------------------------------------------------------------- secrets
def _keys() -> tuple[bytes, bytes]:
    material = str(current_app.config.get("WEBHOOK_KEY") or current_app.config["SECRET_KEY"]).encode()
    root = hashlib.sha256(b"8d-workbench webhook secrets\0" + material).digest()
    return hmac.new(root, b"encrypt", hashlib.sha256).digest(), hmac.new(root, b"authenticate", hashlib.sha256).digest()


def _stream(key: bytes, nonce: bytes, length: int) -> bytes:
    blocks = (hmac.new(key, nonce + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range((length + 31) // 32))
    return b"".join(blocks)[:length]


def seal(secret: str) -> str:
    """Encrypt-then-MAC: HMAC-SHA256 in counter mode as the key stream, an HMAC-SHA256 tag."""
    enc, mac = _keys()
    nonce = os.urandom(16)
    data = secret.encode()
    cipher = bytes(a ^ b for a, b in zip(data, _stream(enc, nonce, len(data)), strict=True))
    tag = hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]
    return f"{SEAL_VERSION}:" + base64.urlsafe_b64encode(nonce + cipher + tag).decode()


def unseal(sealed: str) -> str:
    enc, mac = _keys()
    try:
        version, payload = sealed.split(":", 1)
        raw = base64.urlsafe_b64decode(payload.encode())
    except (ValueError, TypeError) as exc:
        raise SecretUnavailable("the stored secret is malformed") from exc
    nonce, cipher, tag = raw[:16], raw[16:-16], raw[-16:]
    if version != SEAL_VERSION or not hmac.compare_digest(tag, hmac.new(mac, nonce + cipher, hashlib.sha256).digest()[:16]):
        raise SecretUnavailable("the stored secret cannot be opened (WEBHOOK_KEY or SECRET_KEY changed?)")
    return bytes(a ^ b for a, b in zip(cipher, _stream(enc, nonce, len(cipher)), strict=True)).decode()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# -------------------------------------------------------------------------------------- events
def report_summary(report: Report) -> dict[str, Any]:
    return {
        "id": report.id,
        "number": report.number,
        "title": report.title,
        "stage": report.stage,
        "status": report.status.value,
        "outcome": report.outcome,
        "revision": report.revision,
        "customer": {"id": report.oem_id, "name": report.oem.name},
        "supplier": {"id": report.supplier_id, "name": report.supplier.name},
        "url": report_link(report),
    }


def hooks_for(report: Report, event: str) -> list[Webhook]:
    rows = db.session.scalars(select(Webhook).where(policy.webhooks_of_report_clause(report)).order_by(Webhook.id)).unique().all()
    return [hook for hook in rows if event in (hook.events or [])]


def emit(event: str, report: Report, data: dict[str, Any] | None = None, dedupe: str | None = None) -> list[WebhookDelivery]:
    """Write one delivery per subscribed webhook of the report's companies; returns the rows.
    `dedupe` makes the event idempotent per webhook (daily jobs that run twice)."""
    if report.id is None:
        db.session.flush()
    hooks = hooks_for(report, event)
    rows: list[WebhookDelivery] = []
    now = utcnow()
    for hook in hooks:
        key = f"{dedupe}:hook:{hook.id}"[:200] if dedupe else None
        if key and db.session.scalar(select(WebhookDelivery.id).where(WebhookDelivery.dedupe_key == key)):
            continue
        delivery_id = str(uuid.uuid4())
        doc = {"event": event, "delivery_id": delivery_id, "at": iso(now), "report": report_summary(report), **(data or {})}
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
        row = WebhookDelivery(webhook_id=hook.id, report_id=report.id, event=event, delivery_id=delivery_id, body=body, created_at=now,
                              attempts=0, next_attempt_at=now, dedupe_key=key)
        if key:
            try:
                with db.session.begin_nested():
                    db.session.add(row)
            except IntegrityError:
                continue
        else:
            db.session.add(row)
        rows.append(row)
    return rows


def _actor(actor) -> dict | None:
    return {"id": actor.id, "name": actor.name, "company": actor.company.name} if actor is not None else None


def stage_changed(report: Report, actor, old: str | None, new: str, reason: str) -> list[WebhookDelivery]:
    """reason: advanced, approved, rejected, returned, reopened."""
    return emit("report.stage_changed", report, {"change": {"from": old, "to": new, "reason": reason}, "actor": _actor(actor)})


def review_requested(report: Report, actor, stage: str, kind: str = "stage") -> list[WebhookDelivery]:
    return emit("review.requested", report, {"review": {"kind": kind, "stage": stage}, "actor": _actor(actor)})


def review_decided(report: Report, actor, stage: str, decision: str, kind: str = "stage") -> list[WebhookDelivery]:
    return emit("review.decided", report, {"review": {"kind": kind, "stage": stage, "decision": decision}, "actor": _actor(actor)})


def report_closed(report: Report, actor) -> list[WebhookDelivery]:
    return emit("report.closed", report, {"closed_at": iso(report.closed_at), "actor": _actor(actor)})


def action_overdue(report: Report, action_id: int, title: str, due_date, owner) -> list[WebhookDelivery]:
    """Once per action and due date, however often the daily job runs."""
    due = due_date.isoformat() if hasattr(due_date, "isoformat") else str(due_date)
    action = {"id": action_id, "title": title, "due_date": due, "owner": owner.name if owner is not None else None}
    return emit("action.overdue", report, {"action": action}, dedupe=f"overdue:{action_id}:{due}")
