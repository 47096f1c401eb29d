"""Registering, deleting and resending webhooks (company admins, for their own company). The
route commits; every change is audited in the administration chain of the company."""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app import policy
from app.errors import BadRequest, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import WEBHOOK_EVENTS, DeliveryStatus, User, Webhook, WebhookDelivery, is_id, utcnow
from app.notify import ssrf
from app.notify.webhooks import seal
from app.services import audit

SECRET_MIN, SECRET_MAX = 16, 100
MAX_HOOKS_PER_COMPANY = 20


def check_admin(actor: User) -> None:
    if not policy.can_manage_webhooks(actor):
        raise Forbidden(_("Only a company administrator manages the company's webhooks."))


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or any(not isinstance(v, str) for v in value):
        raise BadRequest("'events' must be a list of event names.", {"fields": {"events": "must be a list of strings"}})
    wrong = [v for v in value if v not in WEBHOOK_EVENTS]
    if wrong or not value:
        raise Invalid(_("Choose at least one of the events."), fields={"events": "must be a non-empty list of " + ", ".join(WEBHOOK_EVENTS)})
    return [e for e in WEBHOOK_EVENTS if e in value]


def _secret(value: Any) -> str:
    if value in (None, ""):
        return secrets.token_hex(32)
    if not isinstance(value, str):
        raise BadRequest("'secret' must be a string.", {"fields": {"secret": "must be a string"}})
    if not SECRET_MIN <= len(value.encode()) <= SECRET_MAX or not value.isprintable():
        raise Invalid(_("The secret must be %(a)s to %(b)s printable characters.", a=SECRET_MIN, b=SECRET_MAX),
                      fields={"secret": f"must be {SECRET_MIN} to {SECRET_MAX} printable characters"})
    return value


def create(actor: User, url: Any, events: Any, secret: Any = None, description: Any = None) -> tuple[Webhook, str]:
    """The new webhook and its secret in clear - the only time it is ever returned."""
    check_admin(actor)
    if not isinstance(url, str):
        raise BadRequest("'url' must be a string.", {"fields": {"url": "must be a string"}})
    try:
        url = ssrf.check_registration(url)
    except ssrf.TargetRefused as exc:
        raise Invalid(_("This address cannot receive webhooks: %(why)s.", why=str(exc)), fields={"url": str(exc)}) from None
    events = _events(events)
    secret = _secret(secret)
    if description is not None and not isinstance(description, str):
        raise BadRequest("'description' must be a string.", {"fields": {"description": "must be a string"}})
    count = db.session.scalar(select(func.count()).select_from(Webhook).where(policy.webhooks_clause(actor)))
    if count >= MAX_HOOKS_PER_COMPANY:
        raise Invalid(_("A company has at most %(n)s webhooks.", n=MAX_HOOKS_PER_COMPANY), rule="too_many_webhooks")
    hook = Webhook(company_id=actor.company_id, url=url, events=events, secret_sealed=seal(secret),
                   description=(description or "").strip()[:200] or None, created_at=utcnow(), created_by_id=actor.id)
    db.session.add(hook)
    db.session.flush()
    audit.record("webhook.created", actor, changes={"webhook": [None, hook.id], "url": [None, url], "events": [None, events]},
                 company_id=actor.company_id)
    return hook, secret


def hooks_stmt(actor: User):
    return select(Webhook).where(policy.webhooks_clause(actor)).order_by(Webhook.id)


def get(actor: User, hook_id: Any) -> Webhook:
    """The caller's company's live webhook, or NotFound (another company's does not exist)."""
    check_admin(actor)
    hook = db.session.scalar(select(Webhook).where(Webhook.id == hook_id, policy.webhooks_clause(actor))) if is_id(hook_id) else None
    if hook is None:
        raise NotFound(_("No such webhook."))
    return hook


def delete(actor: User, hook: Webhook) -> None:
    """Stops the webhook; its deliveries still waiting are given up (the list stays readable in
    the audit trail)."""
    hook.deleted_at = utcnow()
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id, WebhookDelivery.status == DeliveryStatus.pending)
        .values(status=DeliveryStatus.failed, last_error="the webhook was deleted; not sent")
        .execution_options(synchronize_session=False)
    )
    audit.record("webhook.deleted", actor, changes={"webhook": [hook.id, None], "url": [hook.url, None]}, company_id=hook.company_id)


def get_delivery(hook: Webhook, delivery_id: Any) -> WebhookDelivery:
    row = db.session.get(WebhookDelivery, delivery_id) if is_id(delivery_id) else None
    if row is None or row.webhook_id != hook.id:
        raise NotFound(_("No such delivery."))
    return row


def resend(actor: User, delivery: WebhookDelivery) -> WebhookDelivery:
    """Post the same event again (same body, same X-8D-Delivery: receivers drop duplicates)."""
    if delivery.status == DeliveryStatus.sending:
        return delivery
    delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.last_error = DeliveryStatus.pending, 0, utcnow(), None
    delivery.claimed_at = delivery.claimed_by = None
    audit.record("webhook.resent", actor, changes={"webhook": [delivery.webhook_id, delivery.webhook_id],
                                                   "delivery": [delivery.delivery_id, delivery.delivery_id]},
                 company_id=delivery.webhook.company_id)
    return delivery


def deliveries_stmt(hook: Webhook):
    return select(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id).order_by(WebhookDelivery.id.desc())
