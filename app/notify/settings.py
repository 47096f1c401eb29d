"""The notification settings with their defaults, read from app.config so that config.py stays the
one place an operator looks, while a missing key never breaks the worker."""

from __future__ import annotations

from pathlib import Path

DEFAULTS: dict[str, object] = {
    # Give up (status failed) after this many attempts; an admin can resend.
    "NOTIFY_MAX_ATTEMPTS": 8,
    # Retry delay: NOTIFY_BACKOFF_SECONDS * 2**(attempts before this failure), capped.
    "NOTIFY_BACKOFF_SECONDS": 30,
    "NOTIFY_BACKOFF_MAX_SECONDS": 3600,
    # A row claimed longer ago than this (worker crashed or hung) is delivered again.
    "NOTIFY_CLAIM_TIMEOUT_SECONDS": 600,
    # Socket timeout for the SMTP conversation; must stay well below the claim timeout.
    "NOTIFY_SMTP_TIMEOUT_SECONDS": 30,
    # Daily jobs (digests, reminders) run once a day at or after this hour (UTC).
    "NOTIFY_DAILY_HOUR": 6,
    # Redis list used to wake workers in other processes (only when REDIS_URL is set).
    "NOTIFY_REDIS_KEY": "8d-workbench:notify:wake",
    # Where messages are written as .eml files when SMTP_HOST is empty (default <instance>/mail).
    "NOTIFY_MAIL_DIR": "",
    # Webhooks: attempts before a delivery is given up (an admin can resend), the backoff
    # (WEBHOOK_BACKOFF_SECONDS * 2**(attempts before), capped), the socket timeout per step.
    "WEBHOOK_MAX_ATTEMPTS": 12,
    "WEBHOOK_BACKOFF_SECONDS": 30,
    "WEBHOOK_BACKOFF_MAX_SECONDS": 3600,
    "WEBHOOK_TIMEOUT_SECONDS": 5,
}


def setting(app, name: str):
    value = app.config.get(name)
    return DEFAULTS[name] if value in (None, "") else value


def mail_dir(app) -> Path:
    configured = setting(app, "NOTIFY_MAIL_DIR")
    return Path(configured) if configured else Path(app.instance_path) / "mail"
