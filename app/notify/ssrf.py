"""Where webhooks may go: http(s) URLs whose host resolves to public addresses only - no loopback,
link-local (cloud metadata), private, shared or reserved address - unless WEBHOOK_ALLOW_PRIVATE=1
(a receiver inside the company network, or tests). Checked when a webhook is registered and again
on the resolved address at every delivery, whose connection then goes to exactly that address
(a DNS answer that changes in between cannot redirect it)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app

URL_MAX = 500


class TargetRefused(ValueError):
    """The URL is not an allowed webhook target; the message says why."""


def allow_private(app=None) -> bool:
    app = app or current_app
    return str(app.config.get("WEBHOOK_ALLOW_PRIVATE") or "").strip().lower() in ("1", "true", "yes", "on")


def parse(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of an acceptable URL, else TargetRefused."""
    if not isinstance(url, str) or not url.strip():
        raise TargetRefused("is required")
    url = url.strip()
    if len(url) > URL_MAX or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise TargetRefused(f"must be a URL of at most {URL_MAX} characters without spaces")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused("is not a valid URL") from exc
    if parts.scheme not in ("http", "https"):
        raise TargetRefused("must start with https:// or http://")
    if parts.username is not None or parts.password is not None:
        raise TargetRefused("must not carry a user name or password (sign with the secret instead)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise TargetRefused("has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, private_ok: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return f"{ip} is not a host address"
    if private_ok or ip.is_global:
        return None
    kind = "loopback" if ip.is_loopback else "link-local" if ip.is_link_local else "private" if ip.is_private else "reserved"
    return f"resolves to {ip}, a {kind} address (allowed only with WEBHOOK_ALLOW_PRIVATE=1)"


def _literal(host: str):
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def check_registration(url: str, app=None) -> str:
    """The URL as stored, or TargetRefused. An address in the URL is checked here; a name is
    resolved if it can be (refused if it points inside), and checked again at every delivery."""
    _scheme, host, port, _path = parse(url)
    private_ok = allow_private(app)
    literal = _literal(host)
    if literal is not None:
        reason = _refusal(literal, private_ok)
        if reason:
            raise TargetRefused(reason)
        return url.strip()
    if not private_ok and (host.lower() == "localhost" or host.lower().endswith((".localhost", ".local", ".internal"))):
        raise TargetRefused("names a host on the local network (allowed only with WEBHOOK_ALLOW_PRIVATE=1)")
    try:
        resolve(host, port, private_ok)
    except socket.gaierror:
        pass  # not resolvable now (maybe not yet): every delivery resolves and checks again
    return url.strip()


def resolve(host: str, port: int, private_ok: bool) -> str:
    """The address to connect to: the first one of the name's, after checking all of them (one
    internal address among public ones refuses the target). Raises TargetRefused, socket.gaierror."""
    literal = _literal(host)
    addresses = [literal] if literal is not None else [
        ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    ]
    if not addresses:
        raise socket.gaierror(f"{host} has no address")
    for ip in addresses:
        reason = _refusal(ip, private_ok)
        if reason:
            raise TargetRefused(reason)
    return str(addresses[0])
