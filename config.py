"""Configuration classes, driven by environment variables (see README, "Configuration")."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _database_url(default: str) -> str:
    url = os.environ.get("DATABASE_URL", default)
    # Heroku-style URLs and plain postgresql:// get the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def instance_key(instance: Path, name: str) -> str:
    """A random key kept in the instance folder (mode 0600), made on first use."""
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / name
    if not key_file.exists():
        # Written aside and linked into place: processes starting together (gunicorn workers)
        # all end up with the one key that won, never with a half-written file.
        tmp = instance / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
        try:
            os.link(tmp, key_file)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return key_file.read_text().strip()


def _dev_secret_key() -> str:
    """Development keeps a generated key in instance/ so sessions survive restarts."""
    INSTANCE.mkdir(parents=True, exist_ok=True)
    key_file = INSTANCE / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


class Config:
    INSTANCE_PATH = str(INSTANCE)
    SQLALCHEMY_DATABASE_URI = _database_url(f"sqlite:///{INSTANCE / 'workbench.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    STORAGE_URL = os.environ.get("STORAGE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "")
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")
    MAX_UPLOAD_MB = _env_int("MAX_UPLOAD_MB", 100)
    MAIL_FROM = os.environ.get("MAIL_FROM", "8D Workbench <noreply@8d-workbench.local>")
    SMTP_HOST = os.environ.get("SMTP_HOST", "")
    SMTP_PORT = _env_int("SMTP_PORT", 25)
    SMTP_USERNAME = os.environ.get("SMTP_USERNAME", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_SECURITY = os.environ.get("SMTP_SECURITY", "none")

    # Sessions and cookies.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    PERMANENT_SESSION_LIFETIME = _env_int("SESSION_HOURS", 12) * 3600  # absolute timeout
    SESSION_IDLE_MINUTES = _env_int("SESSION_IDLE_MINUTES", 60)
    # Only send the cookie when the session changed: overlapping requests (live polls, static
    # files) must not overwrite a newer session, e.g. one holding a flash message.
    SESSION_REFRESH_EACH_REQUEST = False
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session

    PASSWORD_RESET_MINUTES = _env_int("PASSWORD_RESET_MINUTES", 60)

    # API tokens.
    API_TOKEN_DAYS = _env_int("API_TOKEN_DAYS", 30)

    # Proxies in front of gunicorn (nginx: 1). The client's address (sign-in budgets, sessions,
    # the security log) is then read from X-Forwarded-For and the scheme from X-Forwarded-Proto,
    # as set by the last PROXY_COUNT proxies. Keep 0 when clients reach gunicorn directly: they
    # could forge the headers.
    PROXY_COUNT = _env_int("PROXY_COUNT", 0)

    # Sign-in budgets per account and per address, counted in the database: every process and
    # machine shares them (app/services/login_limits.py).
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")

    # Translations: English, German, Simplified Chinese (app/translations; app/i18n.py picks one per request).
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = str(Path(__file__).resolve().parent / "app" / "translations")
    LANGUAGES = ["en", "de", "zh"]

    # The 8D method: review points and deadlines (days from the complaint date) can be changed
    # here without touching the method definition.
    REVIEW_POINTS = [c.strip() for c in os.environ.get("REVIEW_POINTS", "D3,D5,D8").split(",") if c.strip()]
    DUE_DAYS_OVERRIDE = os.environ.get("DUE_DAYS", "")  # e.g. "D3=1,D4=7,D5=14,D6=14,D7=25,D8=30"

    # The outbox workers (app/notify/settings.py has the defaults and what each means). A row
    # claimed by a worker that died is delivered again after NOTIFY_CLAIM_TIMEOUT_SECONDS.
    NOTIFY_CLAIM_TIMEOUT_SECONDS = os.environ.get("NOTIFY_CLAIM_TIMEOUT_SECONDS", "")
    NOTIFY_SMTP_TIMEOUT_SECONDS = os.environ.get("NOTIFY_SMTP_TIMEOUT_SECONDS", "")
    NOTIFY_MAX_ATTEMPTS = os.environ.get("NOTIFY_MAX_ATTEMPTS", "")
    NOTIFY_BACKOFF_SECONDS = os.environ.get("NOTIFY_BACKOFF_SECONDS", "")

    # Outbound webhooks (app/notify/ssrf.py; defaults in app/notify/settings.py). Receivers on
    # loopback, link-local or private addresses only with WEBHOOK_ALLOW_PRIVATE=1. The shared
    # secrets are stored sealed with WEBHOOK_KEY (default: SECRET_KEY) - changing it makes the
    # stored secrets unusable (deliveries then fail until the webhooks are registered again).
    WEBHOOK_ALLOW_PRIVATE = os.environ.get("WEBHOOK_ALLOW_PRIVATE", "")
    WEBHOOK_KEY = os.environ.get("WEBHOOK_KEY", "")
    WEBHOOK_TIMEOUT_SECONDS = os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "")
    WEBHOOK_MAX_ATTEMPTS = os.environ.get("WEBHOOK_MAX_ATTEMPTS", "")
    WEBHOOK_BACKOFF_SECONDS = os.environ.get("WEBHOOK_BACKOFF_SECONDS", "")

    # JSON bodies larger than this are refused with 413 before they are parsed.
    MAX_JSON_BYTES = _env_int("MAX_JSON_KB", 2048) * 1024

    SECRET_KEY: str | None = None
    CLOCK_OFFSET_DAYS = 0
    # The key of the audit trail's HMAC chain. Kept out of the database: whoever can write the
    # database but not read this key cannot rewrite the signed record unnoticed. Development and
    # testing generate one into instance/audit_key; production requires it.
    AUDIT_KEY: str | None = os.environ.get("AUDIT_KEY") or None
    DEMO_PASSWORD = "demo-password-8d"


class DevelopmentConfig(Config):
    SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret_key()
    # Run the app as if today were N days later: the tests of the calendar (the demo and the
    # pages a year from now). Development and testing only; production never reads it.
    CLOCK_OFFSET_DAYS = _env_int("CLOCK_OFFSET_DAYS", 0)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = _database_url(os.environ.get("TEST_DATABASE_URL", "sqlite://"))
    WTF_CSRF_ENABLED = True
    LOGIN_RATE_LIMIT = "1000 per minute"
    # argon2 at full strength would make the suite slow; the parameters are still argon2id.
    PASSWORD_HASH_FAST = True
    CLOCK_OFFSET_DAYS = _env_int("CLOCK_OFFSET_DAYS", 0)


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True

    def __init__(self) -> None:
        key = os.environ.get("SECRET_KEY", "")
        if len(key) < 32 or key.lower() in {"change-me", "changeme", "secret", "dev"}:
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))')."
            )
        self.SECRET_KEY = key
        audit_key = os.environ.get("AUDIT_KEY", "")
        if len(audit_key) < 32 or audit_key == key:
            raise RuntimeError(
                "AUDIT_KEY must be set to a random value of at least 32 characters in production, different from SECRET_KEY "
                "(keep it outside the database and its backups; without it the audit trail cannot be verified)."
            )
        self.AUDIT_KEY = audit_key


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> Config:
    name = os.environ.get("APP_CONFIG", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"APP_CONFIG must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]()
