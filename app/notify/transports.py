"""The e-mails the worker sends and how: the message built from an outbox row (headers that
cannot be injected, a Message-ID kept across retries) and the transports - SMTP (STARTTLS or
TLS, with a connection kept for a batch) or .eml files under <instance>/mail/ without SMTP_HOST."""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import logging
import os
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from app.notify.enqueue import SUBJECT_MAX, clean_header
from app.notify.settings import mail_dir, setting

log = logging.getLogger("app.notify")


# --------------------------------------------------------------------------------- messages
@dataclass(frozen=True)
class Outgoing:
    """What a claimed row needs for sending, read once so that commits in between cost nothing."""

    id: int
    attempts: int
    to_email: str
    to_name: str | None
    subject: str
    body_text: str
    body_html: str | None
    message_id: str
    created_at: dt.datetime
    blocked: str | None = None  # why it must not go out after all (recipient deactivated, ...)


def build_message(app, item: Outgoing) -> EmailMessage:
    """The e-mail for one row. EmailMessage with the SMTP policy refuses any header containing a
    line break; the values are cleaned beforehand so that a name or title cannot even try."""
    msg = EmailMessage(policy=email.policy.SMTP)
    try:
        msg["From"] = clean_header(app.config.get("MAIL_FROM") or "8D Workbench <noreply@8d-workbench.local>", 300)
    except (ValueError, TypeError) as exc:
        raise MailConfigError(f"MAIL_FROM is not a usable address: {exc}") from exc
    to_email = clean_header(item.to_email, 254)
    to_name = clean_header(item.to_name, 200)
    msg["To"] = Address(display_name=to_name, addr_spec=to_email) if to_name else Address(addr_spec=to_email)
    msg["Subject"] = clean_header(item.subject, SUBJECT_MAX)
    msg["Message-ID"] = item.message_id
    msg["Date"] = email.utils.format_datetime(item.created_at.replace(tzinfo=dt.UTC))
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to robots
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(item.body_text)
    if item.body_html:
        msg.add_alternative(item.body_html, subtype="html")
    return msg


def envelope_sender(app) -> str:
    return email.utils.parseaddr(clean_header(app.config.get("MAIL_FROM") or "", 300))[1] or "noreply@8d-workbench.local"


# ------------------------------------------------------------------------------- transports
class CannotConnect(Exception):
    """The mail server cannot be reached or refuses us: no message of the batch can go."""


class MailConfigError(CannotConnect):
    """MAIL_FROM or the SMTP settings are unusable: an operator's fix, not the message's fault,
    so the batch is retried with backoff instead of failing for good."""


class SmtpTransport:
    """One SMTP connection per batch, opened on first use."""

    def __init__(self, app):
        self.host = app.config.get("SMTP_HOST")
        self.port = int(app.config.get("SMTP_PORT") or 25)
        self.security = (app.config.get("SMTP_SECURITY") or "none").lower()
        self.username = app.config.get("SMTP_USERNAME") or ""
        self.password = app.config.get("SMTP_PASSWORD") or ""
        self.timeout = float(setting(app, "NOTIFY_SMTP_TIMEOUT_SECONDS"))
        self.sender = envelope_sender(app)
        self.conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.security == "ssl":
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
            elif self.security in ("none", "starttls", ""):
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.security == "starttls":
                    conn.starttls(context=ssl.create_default_context())
                    conn.ehlo()
            else:
                raise MailConfigError(f"SMTP_SECURITY must be none, starttls or ssl, not {self.security!r}")
            if self.username:
                conn.login(self.username, self.password)
            return conn
        except CannotConnect:
            raise
        except (OSError, smtplib.SMTPException) as exc:
            raise CannotConnect(f"SMTP server {self.host}:{self.port} unavailable: {exc!r}") from exc

    def send(self, item: Outgoing, msg: EmailMessage) -> None:
        if self.conn is None:
            self.conn = self._connect()
        try:
            self.conn.send_message(msg, from_addr=self.sender, to_addrs=[clean_header(item.to_email, 254)])
        except (smtplib.SMTPServerDisconnected, OSError):
            self.conn = None  # reconnect for the next message
            raise
        except smtplib.SMTPRecipientsRefused:
            try:
                self.conn.rset()
            except (OSError, smtplib.SMTPException):
                self.conn = None
            raise

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                self.conn.close()
            self.conn = None


class FileTransport:
    """No SMTP server configured (the embedded default): each message becomes <dir>/<row id>.eml.
    Writing the same row again after a crash replaces the file - still one message."""

    def __init__(self, app):
        self.directory = mail_dir(app)

    def send(self, item: Outgoing, msg: EmailMessage) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"outbox-{item.id:08d}.eml"
        tmp = target.with_suffix(f".tmp-{os.getpid()}-{threading.get_ident()}")
        tmp.write_bytes(bytes(msg))
        os.replace(tmp, target)

    def close(self) -> None:
        pass


def transport_for(app):
    return SmtpTransport(app) if app.config.get("SMTP_HOST") else FileTransport(app)


def _permanent(exc: Exception) -> bool:
    """Errors that retrying cannot fix: a malformed message, or the server refusing the recipient
    for good (5xx). Server outages and 4xx answers are retried."""
    if isinstance(exc, (ValueError, TypeError, UnicodeError)):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    return False


