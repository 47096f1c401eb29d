"""The worker that delivers the outbox.

A row is claimed (status `sending`, claimed_at/claimed_by) and the claim committed before anything
is sent, so several workers - threads, processes, machines - never send one row twice: on
PostgreSQL they claim with `FOR UPDATE SKIP LOCKED`, on SQLite with one atomic UPDATE (SQLite
serialises writers anyway). Each row is marked `sent` in its own commit right after the server
accepted it. A worker that dies between those two steps leaves the row `sending`; after
NOTIFY_CLAIM_TIMEOUT_SECONDS another worker takes it again - at most one duplicate, carrying the
same Message-ID so that mail readers can fold it. Nothing is lost when a process crashes: the
rows are in the database.

Without SMTP_HOST the messages are written as .eml files under <instance>/mail/ instead.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from app import policy
from app.extensions import db
from app.models import MailStatus, OutboxMessage, Report, User, utcnow
from app.notify.queue import claim_due, default_worker_id
from app.notify.settings import setting
from app.notify.transports import (  # noqa: F401 - part of this module's interface
    CannotConnect,
    FileTransport,
    MailConfigError,
    Outgoing,
    SmtpTransport,
    _permanent,
    build_message,
    envelope_sender,
    transport_for,
)
from app.notify.wakeup import _redis_clients, _wake_event, wait_for_wake, wake  # noqa: F401 - part of this module's interface

log = logging.getLogger("app.notify")



# ----------------------------------------------------------------------------- bookkeeping
def backoff_delay(app, attempts_before: int) -> dt.timedelta:
    base = float(setting(app, "NOTIFY_BACKOFF_SECONDS"))
    cap = float(setting(app, "NOTIFY_BACKOFF_MAX_SECONDS"))
    return dt.timedelta(seconds=min(cap, base * 2 ** min(attempts_before, 30)))


def reclaim_stale(app, now: dt.datetime | None = None) -> int:
    """Rows left `sending` by a worker that died or hung go back to `pending` (counted as an
    attempt, so a message that kills every worker ends up `failed` instead of looping)."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=float(setting(app, "NOTIFY_CLAIM_TIMEOUT_SECONDS")))
    max_attempts = int(setting(app, "NOTIFY_MAX_ATTEMPTS"))
    stale = (OutboxMessage.status == MailStatus.sending) & (OutboxMessage.claimed_at < cutoff)
    note = "claim expired: the worker stopped before recording the result; delivering again"
    gave_up = db.session.execute(
        update(OutboxMessage)
        .where(stale, OutboxMessage.attempts + 1 >= max_attempts)
        .values(status=MailStatus.failed, attempts=OutboxMessage.attempts + 1, last_error=note, claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    retried = db.session.execute(
        update(OutboxMessage)
        .where(stale)
        .values(status=MailStatus.pending, attempts=OutboxMessage.attempts + 1, last_error=note, next_attempt_at=now, claimed_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if gave_up or retried:
        log.warning("outbox: reclaimed %d stale row(s), gave up on %d", retried, gave_up)
    return (retried or 0) + (gave_up or 0)


def claim(batch: int, claimed_by: str, now: dt.datetime | None = None) -> list[int]:
    """Mark up to `batch` due mails as ours and return their ids (app/notify/queue.py). The caller commits."""
    return claim_due(OutboxMessage, MailStatus.pending, MailStatus.sending, batch, claimed_by, now or utcnow())


def _blocked_reason(row: OutboxMessage, reports: dict[int, Report | None]) -> str | None:
    """Last check before sending: the recipient must still be active and allowed to see the report."""
    user: User | None = row.recipient
    if row.recipient_id is not None and (user is None or not user.active):
        return "recipient deactivated; not sent"
    if row.report_id is not None and user is not None:
        if row.report_id not in reports:
            reports[row.report_id] = db.session.get(Report, row.report_id)
        report = reports[row.report_id]
        if report is None or not policy.can_view(user, report):
            return "recipient may no longer see the report; not sent"
    return None


def _load(ids: list[int]) -> list[Outgoing]:
    rows = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)).unique().all()
    reports: dict[int, Report | None] = {}
    return [
        Outgoing(
            id=r.id, attempts=r.attempts or 0, to_email=r.to_email, to_name=r.to_name, subject=r.subject,
            body_text=r.body_text, body_html=r.body_html, message_id=r.message_id, created_at=r.created_at,
            blocked=_blocked_reason(r, reports),
        )
        for r in rows
    ]


def _ours(item_id: int, claimed_by: str):
    return (OutboxMessage.id == item_id) & (OutboxMessage.status == MailStatus.sending) & (OutboxMessage.claimed_by == claimed_by)


def _heartbeat(claimed_by: str, now: dt.datetime) -> None:
    """Keep the rest of our batch claimed while we make progress: a long batch is not a dead worker."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == MailStatus.sending, OutboxMessage.claimed_by == claimed_by)
        .values(claimed_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_sent(item: Outgoing, claimed_by: str) -> None:
    now = utcnow()
    db.session.execute(
        update(OutboxMessage)
        .where(_ours(item.id, claimed_by))
        .values(status=MailStatus.sent, sent_at=now, claimed_at=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    _heartbeat(claimed_by, now)
    db.session.commit()


def record_sent(app, item: Outgoing, claimed_by: str) -> None:
    """mark_sent, tried again while the database is away (a restart, a failover): the server has
    accepted the message, and a row left `sending` would be delivered a second time after the
    claim timeout. Gives up (and so risks that one duplicate) after half the claim timeout."""
    deadline = time.monotonic() + float(setting(app, "NOTIFY_CLAIM_TIMEOUT_SECONDS")) / 2
    wait = 0.2
    while True:
        try:
            mark_sent(item, claimed_by)
            return
        except (OperationalError, InterfaceError) as exc:
            try:
                db.session.rollback()
            except Exception:  # noqa: BLE001 - the connection is gone; the pool replaces it
                pass
            if time.monotonic() + wait > deadline:
                raise
            log.warning("outbox: message %s was sent but the database does not answer (%s); recording it again in %.1fs",
                        item.id, type(exc).__name__, wait)
            time.sleep(wait)
            wait = min(wait * 2, 5.0)


def mark_failed(app, item: Outgoing, claimed_by: str, error: str, permanent: bool = False) -> None:
    now = utcnow()
    attempts = item.attempts + 1
    give_up = permanent or attempts >= int(setting(app, "NOTIFY_MAX_ATTEMPTS"))
    values = {"attempts": attempts, "last_error": error[:2000], "claimed_at": None}
    if give_up:
        values["status"] = MailStatus.failed
    else:
        values.update(status=MailStatus.pending, next_attempt_at=now + backoff_delay(app, item.attempts))
    db.session.execute(update(OutboxMessage).where(_ours(item.id, claimed_by)).values(**values).execution_options(synchronize_session=False))
    _heartbeat(claimed_by, now)
    db.session.commit()
    log.log(logging.ERROR if give_up else logging.WARNING, "outbox: message %s %s after attempt %d: %s",
            item.id, "failed" if give_up else "deferred", attempts, error)


def mark_blocked(item: Outgoing, claimed_by: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(_ours(item.id, claimed_by))
        .values(status=MailStatus.failed, last_error=item.blocked, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


# ---------------------------------------------------------------------------------- delivery
@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0


def deliver_batch(app, batch: int = 50, worker_id: str | None = None) -> BatchResult:
    """Claim one batch of due rows and deliver it; see deliver_due."""
    claimed_by = f"{worker_id or default_worker_id()}/{secrets.token_hex(4)}"[:100]
    result = BatchResult()
    with app.app_context():
        try:
            reclaim_stale(app)
            ids = claim(batch, claimed_by)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if not ids:
            return result
        result.claimed = len(ids)
        try:
            items = _load(ids)
            db.session.commit()  # end the read transaction: SQLite must not hold its lock while we talk SMTP
        except Exception:
            db.session.rollback()
            raise  # the claim stays; the rows come back after the claim timeout
        transport = transport_for(app)
        try:
            for index, item in enumerate(items):
                if item.blocked:
                    mark_blocked(item, claimed_by)
                    result.failed += 1
                    continue
                try:
                    transport.send(item, build_message(app, item))
                except CannotConnect as exc:
                    # The server is away: this attempt failed for every message left in the batch.
                    for rest in items[index:]:
                        if rest.blocked:
                            mark_blocked(rest, claimed_by)
                        else:
                            mark_failed(app, rest, claimed_by, str(exc))
                        result.failed += 1
                    break
                except Exception as exc:  # noqa: BLE001 - every error is recorded on its row
                    db.session.rollback()
                    mark_failed(app, item, claimed_by, f"{type(exc).__name__}: {exc}", permanent=_permanent(exc))
                    result.failed += 1
                    continue
                record_sent(app, item, claimed_by)
                result.sent += 1
        finally:
            transport.close()
    return result


def deliver_due(app, batch: int = 50, worker_id: str | None = None) -> int:
    """Deliver one batch of due rows (pending, next_attempt_at <= now); returns how many were sent.

    Opens its own app context (its own session and transactions), so it may be called from any
    thread without touching the caller's session. Web code does not call it - it calls wake() -
    and no caller should hold an open write transaction meanwhile (SQLite would make us wait).
    """
    return deliver_batch(app, batch, worker_id).sent


def deliver_all_due(app, batch: int = 50, worker_id: str | None = None, max_batches: int = 1000) -> int:
    """Deliver batches until nothing is due; returns how many were sent."""
    sent = 0
    for _ in range(max_batches):
        result = deliver_batch(app, batch, worker_id)
        sent += result.sent
        if result.claimed < batch:
            break
    return sent


# -------------------------------------------------------------------------------- the loop
def run_worker(app, stop_event: threading.Event | None = None, poll_seconds: float = 1.0, batch: int = 50, worker_id: str | None = None) -> None:
    """Deliver due mail, run the daily jobs once a day, then sleep until woken or `poll_seconds`.

    Runs until stop_event is set. Survives database and mail server outages: it logs and goes on.
    """
    from app.notify.periodic import run_due_jobs
    from app.notify.webhook_delivery import deliver_webhook_batch

    stop = stop_event or threading.Event()
    worker_id = worker_id or default_worker_id()
    last_runs: dict = {}
    log.info("outbox worker %s started (poll %.1fs)", worker_id, poll_seconds)
    while not stop.is_set():
        _wake_event.clear()
        claimed = 0
        try:
            run_due_jobs(app, last_runs)
            claimed = deliver_batch(app, batch, worker_id).claimed
            claimed += deliver_webhook_batch(app, min(batch, 10), worker_id).claimed
        except Exception:  # noqa: BLE001 - the database may be away for a moment; try again
            log.exception("outbox worker %s: delivery round failed", worker_id)
        if claimed >= batch or stop.is_set():
            continue  # more may be due right now
        wait_for_wake(app, poll_seconds)
    log.info("outbox worker %s stopped", worker_id)


class WorkerHandle:
    def __init__(self, thread: threading.Thread, stop_event: threading.Event):
        self.thread, self.stop_event = thread, stop_event

    def stop(self, timeout: float | None = 10.0) -> None:
        self.stop_event.set()
        _wake_event.set()
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive()


def start_background_worker(app, poll_seconds: float = 1.0, batch: int = 50) -> WorkerHandle:
    """The embedded default (`make run`): the worker loop in a daemon thread of this process.

    Safe because the outbox is in the database: if the process dies, nothing is lost - the next
    worker (this one restarted, or `flask worker`) picks the rows up. Start it in each serving
    process after forking (not in a preloading gunicorn master); a second call returns the
    running worker.
    """
    running = app.extensions.get("notify_worker")
    if isinstance(running, WorkerHandle) and running.alive:
        return running
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker, args=(app, stop, poll_seconds, batch), name=f"notify-worker-{os.getpid()}", daemon=True
    )
    handle = WorkerHandle(thread, stop)
    app.extensions["notify_worker"] = handle
    thread.start()
    return handle
