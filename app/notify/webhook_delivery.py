"""Delivering the webhook outbox: claimed like e-mails (delivery.py) so that several workers never
post one row twice, each result committed right after the receiver answered, failures retried
with exponential backoff, and nothing lost when a worker dies (the claim expires and the row is
posted again - with the same X-8D-Delivery, so that a receiver can drop the duplicate).

Each POST goes to the address the SSRF guard checked (ssrf.py), follows no redirect, waits at
most WEBHOOK_TIMEOUT_SECONDS per step, and keeps only the first RESPONSE_KEEP bytes of what the
receiver answered.
"""

from __future__ import annotations

import datetime as dt
import http.client
import logging
import secrets
import socket
import ssl
import threading
from dataclasses import dataclass

from sqlalchemy import select, update

from app.extensions import db
from app.models import DeliveryStatus, WebhookDelivery, utcnow
from app.notify import ssrf
from app.notify.queue import claim_due, default_worker_id
from app.notify.settings import setting
from app.notify.webhooks import SecretUnavailable, signature, unseal

log = logging.getLogger("app.notify.webhooks")

RESPONSE_KEEP = 500
USER_AGENT = "8D-Workbench-Webhooks/1"


@dataclass
class BatchResult:
    claimed: int = 0
    sent: int = 0
    failed: int = 0


@dataclass(frozen=True)
class Post:
    id: int
    attempts: int
    url: str
    event: str
    delivery_id: str
    body: bytes
    secret: str | None
    blocked: str | None = None


@dataclass(frozen=True)
class Answer:
    ok: bool
    status: int | None = None
    body: str | None = None
    error: str | None = None


class _PinnedHTTP(http.client.HTTPConnection):
    """Connects to the checked address while Host names the URL's host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _cut(conn: http.client.HTTPConnection, fired: threading.Event) -> None:
    fired.set()
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def post(app, item: Post) -> Answer:
    """One attempt. Never raises: every outcome is an Answer."""
    try:
        scheme, host, port, path = ssrf.parse(item.url)
        address = ssrf.resolve(host, port, ssrf.allow_private(app))
    except ssrf.TargetRefused as exc:
        return Answer(False, error=f"refused: {item.url[:100]} {exc}")
    except (OSError, UnicodeError) as exc:
        return Answer(False, error=f"cannot resolve {host}: {exc}")
    timeout = float(setting(app, "WEBHOOK_TIMEOUT_SECONDS"))
    conn = (_PinnedHTTPS if scheme == "https" else _PinnedHTTP)(host, port, address, timeout)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        "X-8D-Event": item.event,
        "X-8D-Delivery": item.delivery_id,
        "X-8D-Signature": signature(item.secret or "", item.body),
    }
    # The socket timeout bounds each step; a receiver that answers a byte at a time is cut off
    # when the whole exchange takes longer than three of them.
    fired = threading.Event()
    watchdog = threading.Timer(3 * timeout, _cut, args=(conn, fired))
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", path, body=item.body, headers=headers)
        response = conn.getresponse()
        kept = response.read(RESPONSE_KEEP).decode("utf-8", "replace")
        status = response.status
    except (OSError, http.client.HTTPException, ssl.SSLError, ValueError, AttributeError) as exc:
        if fired.is_set():
            return Answer(False, error=f"no complete answer within {3 * timeout:g} s")
        return Answer(False, error=f"{type(exc).__name__}: {exc}"[:500])
    finally:
        watchdog.cancel()
        conn.close()
    if fired.is_set():  # cut off: whatever was read is not the receiver's whole answer
        return Answer(False, status, kept, f"no complete answer within {3 * timeout:g} s")
    if 200 <= status < 300:
        return Answer(True, status, kept)
    if 300 <= status < 400:
        return Answer(False, status, kept, f"HTTP {status}: redirects are not followed")
    return Answer(False, status, kept, f"HTTP {status}")


# ---------------------------------------------------------------------------------- bookkeeping
def backoff(app, attempts_before: int) -> dt.timedelta:
    base = float(setting(app, "WEBHOOK_BACKOFF_SECONDS"))
    cap = float(setting(app, "WEBHOOK_BACKOFF_MAX_SECONDS"))
    return dt.timedelta(seconds=min(cap, base * 2 ** min(attempts_before, 30)))


def reclaim_stale(app, now: dt.datetime) -> None:
    cutoff = now - dt.timedelta(seconds=float(setting(app, "NOTIFY_CLAIM_TIMEOUT_SECONDS")))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.status == DeliveryStatus.sending, WebhookDelivery.claimed_at < cutoff)
        .values(status=DeliveryStatus.pending, next_attempt_at=now, claimed_at=None,
                last_error="claim expired: the worker stopped before recording the result; posting again")
        .execution_options(synchronize_session=False)
    )


def claim(batch: int, claimed_by: str, now: dt.datetime) -> list[int]:
    return claim_due(WebhookDelivery, DeliveryStatus.pending, DeliveryStatus.sending, batch, claimed_by, now)


def _load(ids: list[int]) -> list[Post]:
    rows = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.id.in_(ids)).order_by(WebhookDelivery.id)).unique().all()
    out = []
    for r in rows:
        secret, blocked = None, None
        if r.webhook.deleted_at is not None:
            blocked = "the webhook was deleted; not sent"
        else:
            try:
                secret = unseal(r.webhook.secret_sealed)
            except SecretUnavailable as exc:
                blocked = f"not signed: {exc}"
        out.append(Post(r.id, r.attempts or 0, r.webhook.url, r.event, r.delivery_id, r.body.encode(), secret, blocked))
    return out


def record(app, item: Post, answer: Answer, claimed_by: str) -> None:
    now = utcnow()
    attempts = item.attempts + 1
    values: dict = {"attempts": attempts, "claimed_at": None, "last_attempt_at": now, "response_status": answer.status,
                    "response_body": (answer.body or "")[:RESPONSE_KEEP] or None}
    if answer.ok:
        values.update(status=DeliveryStatus.sent, sent_at=now, last_error=None)
    elif attempts >= int(setting(app, "WEBHOOK_MAX_ATTEMPTS")):
        values.update(status=DeliveryStatus.failed, last_error=(answer.error or "")[:1000])
    else:
        values.update(status=DeliveryStatus.pending, last_error=(answer.error or "")[:1000], next_attempt_at=now + backoff(app, item.attempts))
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == item.id, WebhookDelivery.status == DeliveryStatus.sending, WebhookDelivery.claimed_by == claimed_by)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if not answer.ok:
        log.warning("webhook delivery %s (%s) attempt %d failed: %s", item.id, item.event, attempts, answer.error)


def _block(item: Post, claimed_by: str) -> None:
    db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == item.id, WebhookDelivery.claimed_by == claimed_by)
        .values(status=DeliveryStatus.failed, last_error=item.blocked, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def deliver_webhook_batch(app, batch: int = 10, worker_id: str | None = None) -> BatchResult:
    """Claim up to `batch` due deliveries and post them, one committed result each."""
    claimed_by = f"{worker_id or default_worker_id()}/{secrets.token_hex(4)}"[:100]
    result = BatchResult()
    with app.app_context():
        try:
            now = utcnow()
            reclaim_stale(app, now)
            ids = claim(batch, claimed_by, now)
            db.session.commit()
            if not ids:
                return result
            items = _load(ids)
            db.session.commit()  # no transaction stays open while we wait for receivers
        except Exception:
            db.session.rollback()
            raise
        result.claimed = len(items)
        for item in items:
            if item.blocked:
                _block(item, claimed_by)
                result.failed += 1
                continue
            answer = post(app, item)
            record(app, item, answer, claimed_by)
            if answer.ok:
                result.sent += 1
            else:
                result.failed += 1
    return result


def deliver_all_webhooks(app, batch: int = 10, max_batches: int = 1000) -> int:
    sent = 0
    for _ in range(max_batches):
        result = deliver_webhook_batch(app, batch)
        sent += result.sent
        if result.claimed < batch:
            break
    return sent
