"""What the two outboxes (mails: OutboxMessage, webhooks: WebhookDelivery) share: who a worker
is, and how it claims due rows so that several workers never take one row twice."""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading

from sqlalchemy import select, update

from app.extensions import db


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"[:80]


def claim_due(model, pending, sending, batch: int, claimed_by: str, now: dt.datetime) -> list[int]:
    """Mark up to `batch` due rows of `model` (status `pending`, next_attempt_at reached) as ours
    (`sending`) and return their ids. The caller commits.

    Two statements on purpose: PostgreSQL may evaluate `UPDATE ... WHERE id IN (SELECT ... LIMIT n
    FOR UPDATE SKIP LOCKED)` more than once and claim more than n rows. The SELECT locks (PostgreSQL:
    rows another worker holds are skipped, not waited for) or runs under SQLite's write lock
    (BEGIN IMMEDIATE); the UPDATE re-checks `pending` anyway."""
    due = select(model.id).where(model.status == pending, model.next_attempt_at <= now).order_by(model.next_attempt_at, model.id).limit(batch)
    if db.engine.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list(db.session.scalars(due))
    if not ids:
        return []
    stmt = (
        update(model)
        .where(model.id.in_(ids), model.status == pending)
        .values(status=sending, claimed_at=now, claimed_by=claimed_by)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(db.session.scalars(stmt).all())
