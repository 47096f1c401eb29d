"""Security headers on every response and per-request CSP nonces."""

from __future__ import annotations

import secrets

from flask import g, request


def register(app) -> None:
    @app.before_request
    def _fresh_request_state():
        # The user is found anew for every request, even when an app context is reused
        # (as the test client does inside an outer app context).
        for name in ("_login_user", "api_token", "bad_token", "csrf_token"):
            g.pop(name, None)
        g.csp_nonce = secrets.token_urlsafe(16)

    @app.after_request
    def _headers(response):
        nonce = getattr(g, "csp_nonce", "")
        headers = response.headers
        if response.status_code != 304:  # a 304 keeps the held page's policy (its nonce)
            headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; "
                f"script-src 'self' 'nonce-{nonce}'; "
                f"style-src 'self' 'nonce-{nonce}'; "
                "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; "
                "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            )
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/api/") or response.mimetype == "text/html":
            headers.setdefault("Cache-Control", "no-store")
        return response
