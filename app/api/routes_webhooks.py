"""Outbound webhooks of the caller's company (docs/api.md "Wave 2"): company admins register, list and
delete them and read their deliveries; another company's webhook does not exist (404)."""

from __future__ import annotations

from flask_login import current_user

from app.api import bp
from app.api.spec import operation
from app.api.util import created, json_body, paginate, respond
from app.extensions import db
from app.schemas.base import Paging, page_of
from app.schemas.webhooks import Webhook as WebhookShape
from app.schemas.webhooks import WebhookCreate, WebhookCreated, WebhookDelivery
from app.serialize import as_webhook, as_webhook_delivery
from app.services import webhooks

ADMINS = "Company administrators only (others: 403); webhooks belong to the admin's company."


@operation("Register a webhook (company admin)", "webhooks", ok=201, response=WebhookCreated, body=WebhookCreate, errors=(403, 422),
           description=f"{ADMINS} Deliveries go for the reports the company is party to: a JSON POST signed "
           "X-8D-Signature: sha256=<hex HMAC-SHA256(secret, body)>, with X-8D-Event and X-8D-Delivery. The secret is returned "
           "in this answer only. Loopback, link-local and private targets: 422 unless WEBHOOK_ALLOW_PRIVATE=1.")
@bp.route("/admin/webhooks", methods=["POST"])
def create_webhook():
    data = json_body()
    hook, secret = webhooks.create(current_user, data.get("url"), data.get("events"), data.get("secret"), data.get("description"))
    db.session.commit()
    return created(as_webhook(hook, secret))


@operation("The company's webhooks (company admin)", "webhooks", response=page_of(WebhookShape), query=(Paging,), errors=(403,),
           description=ADMINS + " Secrets are never shown.")
@bp.route("/admin/webhooks", methods=["GET"])
def list_webhooks():
    webhooks.check_admin(current_user)
    return paginate(webhooks.hooks_stmt(current_user), as_webhook, WebhookShape)


@operation("Delete a webhook (company admin)", "webhooks", ok=204, errors=(403,),
           description=ADMINS + " Deliveries still waiting are given up.")
@bp.route("/admin/webhooks/<int:webhook_id>", methods=["DELETE"])
def delete_webhook(webhook_id: int):
    hook = webhooks.get(current_user, webhook_id)
    webhooks.delete(current_user, hook)
    db.session.commit()
    return "", 204


@operation("A webhook's deliveries, newest first (company admin)", "webhooks", response=page_of(WebhookDelivery), query=(Paging,),
           errors=(403,), description=ADMINS + " Each with its attempts, the receiver's status and the first bytes of its answer.")
@bp.route("/admin/webhooks/<int:webhook_id>/deliveries", methods=["GET"])
def list_webhook_deliveries(webhook_id: int):
    hook = webhooks.get(current_user, webhook_id)
    return paginate(webhooks.deliveries_stmt(hook), as_webhook_delivery, WebhookDelivery)


@operation("Send a delivery again (company admin)", "webhooks", response=WebhookDelivery, errors=(403,),
           description=ADMINS + " The same body and X-8D-Delivery, posted again by the worker.")
@bp.route("/admin/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend", methods=["POST"])
def resend_webhook_delivery(webhook_id: int, delivery_id: int):
    hook = webhooks.get(current_user, webhook_id)
    row = webhooks.resend(current_user, webhooks.get_delivery(hook, delivery_id))
    db.session.commit()
    return respond(as_webhook_delivery(row))
