"""All models, one module per aggregate."""

from app.models.accounts import ApiToken, Company, CompanyKind, LoginBudget, LoginSession, Role, SupplierLink, User
from app.models.action import DISCIPLINE_OF_KIND, Action, ActionKind, ActionStatus
from app.models.audit import AuditAnchor, AuditEvent, AuditSeal
from app.models.base import MAX_ID, is_id, iso, utcnow
from app.models.changes import Generation, accounts_generation
from app.models.collab import Comment, Presence
from app.models.evidence import Attachment
from app.models.invitation import INVITATION_DAYS, Invitation
from app.models.learning import EffectivenessWatch
from app.models.outbox import MailStatus, NotificationMode, NotificationPreference, OutboxMessage
from app.models.report import (
    EDITING_ROLES,
    STEERING_ROLES,
    DisciplineEntry,
    DisciplineRevision,
    Report,
    Review,
    Status,
    TeamMember,
    TeamRole,
)
from app.models.search import SearchDoc
from app.models.webhook import WEBHOOK_EVENTS, DeliveryStatus, Webhook, WebhookDelivery

__all__ = [
    "AuditAnchor",
    "Action",
    "ActionKind",
    "ActionStatus",
    "Attachment",
    "Comment",
    "INVITATION_DAYS",
    "Invitation",
    "EffectivenessWatch",
    "DISCIPLINE_OF_KIND",
    "Presence",
    "Generation",
    "accounts_generation",
    "ApiToken",
    "AuditEvent",
    "AuditSeal",
    "Company",
    "CompanyKind",
    "DisciplineEntry",
    "DisciplineRevision",
    "EDITING_ROLES",
    "LoginBudget",
    "LoginSession",
    "MailStatus",
    "NotificationMode",
    "NotificationPreference",
    "OutboxMessage",
    "Report",
    "Review",
    "SearchDoc",
    "Role",
    "STEERING_ROLES",
    "SupplierLink",
    "Status",
    "TeamMember",
    "TeamRole",
    "User",
    "MAX_ID",
    "is_id",
    "iso",
    "utcnow",
    "WEBHOOK_EVENTS",
    "DeliveryStatus",
    "Webhook",
    "WebhookDelivery",
]
