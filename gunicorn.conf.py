"""gunicorn settings for `make run` and production (override with GUNICORN_CMD_ARGS)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:5000")
# gthread (the default) serves browsers directly: keep-alive, slow clients, uploads. Behind a
# buffering proxy (nginx), WORKER_CLASS=sync with WEB_CONCURRENCY=2*cores+1 balances best: a busy
# process takes no new connection, so no two requests share one interpreter lock (bench/NOTES.md).
worker_class = os.environ.get("WORKER_CLASS", "gthread")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("THREADS", "8")) if worker_class == "gthread" else 1
timeout = 120
graceful_timeout = 20
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    """The embedded default: each web process also delivers the outbox (a daemon thread). In a
    scaled deployment set EMBEDDED_WORKER=0 and run `flask worker` processes instead."""
    if os.environ.get("EMBEDDED_WORKER", "1") == "1":
        from app.notify import start_background_worker

        start_background_worker(worker.wsgi)  # wsgi:app, the Flask application
