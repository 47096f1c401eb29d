"""Waking the outbox workers: at once in this process (an event), and in every other process
through Redis (REDIS_URL) - a BLPOP the idle workers wait on. Best effort: the workers poll anyway."""

from __future__ import annotations

import logging
import threading

from flask import current_app, has_app_context

from app.notify.settings import setting

log = logging.getLogger("app.notify")

_wake_event = threading.Event()
_redis_clients: dict[str, object] = {}


def _redis(url: str):
    """A Redis client for the wake-ups, or None when the redis package is not installed."""
    if url not in _redis_clients:
        try:
            import redis  # optional: only used when REDIS_URL is set
        except ImportError:
            log.warning("outbox: REDIS_URL is set but the redis package is missing; workers poll instead")
            _redis_clients[url] = None
        else:
            _redis_clients[url] = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    return _redis_clients[url]


def wake(app=None) -> None:
    """Tell the workers there is mail. Call it after a commit that wrote outbox rows.

    Wakes the worker threads of this process at once and, with REDIS_URL, those of other
    processes. Never raises: the workers poll anyway, a lost wake-up only costs a second.
    """
    _wake_event.set()
    if app is None and has_app_context():
        app = current_app._get_current_object()
    url = app.config.get("REDIS_URL") if app is not None else None
    if not url:
        return
    try:
        client = _redis(url)
        if client is not None:
            client.lpush(setting(app, "NOTIFY_REDIS_KEY"), "1")
    except Exception as exc:  # noqa: BLE001 - waking is best effort
        log.debug("outbox: could not wake workers through Redis: %r", exc)


def wait_for_wake(app, timeout: float) -> None:
    """Sleep until wake(), stop, or the poll timeout - whichever comes first.

    With Redis the wait is a BLPOP on NOTIFY_REDIS_KEY, so a wake() in any process ends it."""
    url = app.config.get("REDIS_URL")
    client = _redis(url) if url else None
    if client is not None:
        try:
            key = setting(app, "NOTIFY_REDIS_KEY")
            if client.blpop([key], timeout=max(1, round(timeout))):
                client.delete(key)  # one delivery round serves all queued wake-ups
            _wake_event.clear()
            return
        except Exception as exc:  # noqa: BLE001 - fall back to the local event and polling
            log.debug("outbox: Redis wait failed, polling instead: %r", exc)
    _wake_event.wait(timeout)
    _wake_event.clear()


