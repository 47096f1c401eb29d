"""`flask worker`: deliver the outbox (and run the daily jobs) in a process of its own."""

from __future__ import annotations

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit.")
@click.option("--poll", type=float, default=1.0, show_default=True, help="Seconds between looks at the outbox when not woken.")
@click.option("--batch", type=click.IntRange(1, 1000), default=50, show_default=True, help="Messages claimed at a time.")
@click.option("--daily", is_flag=True, help="With --once: also run the daily jobs (digests, reminders) now.")
@with_appcontext
def worker_command(once: bool, poll: float, batch: int, daily: bool) -> None:
    """Deliver e-mails from the outbox, retrying until they are accepted."""
    from app.notify.delivery import deliver_all_due, run_worker
    from app.notify.periodic import run_due_jobs

    app = current_app._get_current_object()
    if once:
        if daily:
            ran = run_due_jobs(app, {}, force=True)
            click.echo(f"Ran daily jobs: {', '.join(ran) or 'none'}.")
        sent = deliver_all_due(app, batch=batch)
        click.echo(f"Delivered {sent} message(s).")
        from app.notify.webhook_delivery import deliver_all_webhooks

        click.echo(f"Delivered {deliver_all_webhooks(app)} webhook event(s).")
        return
    stop = threading.Event()

    def _stop(signum, _frame):
        click.echo(f"Signal {signum}: finishing the current message, then stopping.", err=True)
        stop.set()
        from app.notify.delivery import _wake_event

        _wake_event.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    click.echo(f"Outbox worker running (poll {poll:g}s, batch {batch}); Ctrl-C stops it.")
    run_worker(app, stop_event=stop, poll_seconds=poll, batch=batch)


def register(app) -> None:
    app.cli.add_command(worker_command)
