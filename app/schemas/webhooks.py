"""Outbound webhooks (docs/api.md "Wave 2 / Languages, formats, webhooks")."""

from typing import Annotated

from pydantic import Field

from app.models import WEBHOOK_EVENTS, DeliveryStatus
from app.schemas.base import ID, Body, Count, DateTime, Shape, absent, one_of

EventName = one_of(WEBHOOK_EVENTS)


class WebhookCreate(Body):
    url: Annotated[str, Field(max_length=500, description="https:// (or http://) URL; loopback, link-local and private addresses "
                                                           "only with WEBHOOK_ALLOW_PRIVATE=1")]
    events: Annotated[list[EventName], Field(min_length=1)]
    secret: str = absent("16-100 characters, the HMAC-SHA256 key of X-8D-Signature; generated (and returned once) when left out")
    description: str = absent(max_length=200)


class Webhook(Shape):
    id: ID
    url: str
    events: list[EventName]
    description: str | None
    company_id: ID
    created_at: DateTime
    created_by: str | None = Field(description="name of the admin who registered it")


class WebhookCreated(Webhook):
    secret: str = Field(description="the shared secret - shown this once, never again")


class WebhookDelivery(Shape):
    id: ID
    delivery_id: str = Field(description="X-8D-Delivery (a resend keeps it)")
    event: EventName
    report_id: ID | None
    status: one_of(DeliveryStatus)
    attempts: Count
    created_at: DateTime
    next_attempt_at: DateTime | None = Field(description="when a pending delivery is tried next")
    last_attempt_at: DateTime | None
    sent_at: DateTime | None
    response_status: int | None = Field(description="HTTP status the receiver answered")
    response_body: str | None = Field(description="the first few hundred bytes of its answer")
    last_error: str | None
