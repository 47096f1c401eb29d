"""Companies, users, login sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy import Enum, ForeignKey, Index, String, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow


class CompanyKind(str, enum.Enum):
    oem = "oem"
    supplier = "supplier"


class Role(str, enum.Enum):
    admin = "admin"
    quality_lead = "quality_lead"
    engineer = "engineer"
    viewer = "viewer"


def _enum(e: type[enum.Enum], name: str) -> Enum:
    return Enum(e, name=name, native_enum=False, create_constraint=True, length=20, values_callable=lambda x: [m.value for m in x])


_HASHER = PasswordHasher()
_FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def _hasher() -> PasswordHasher:
    if has_app_context() and current_app.config.get("PASSWORD_HASH_FAST"):
        return _FAST_HASHER
    return _HASHER


class Company(db.Model):
    __tablename__ = "company"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[CompanyKind] = mapped_column(_enum(CompanyKind, "company_kind"))
    active: Mapped[bool] = mapped_column(default=True)
    # May a report's leader or champion invite people of this company by e-mail (its admin decides)?
    allow_invitations: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="company", lazy="raise_on_sql")


class SupplierLink(db.Model):
    """A company buys from another: the customer's supplier, to which its 8Ds may cascade. Recorded
    by a platform administrator (who sees every company); reports between two companies link them
    as well (app/policy.py)."""

    __tablename__ = "supplier_link"

    customer_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Platform administrator (the operator): companies and any account, no report content of
    # other companies. Granted on the command line only, orthogonal to `role`.
    platform_admin: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Wrong signature passwords in a row, and when the last attempt was claimed (app/services/
    # workflow.py claims an attempt atomically before the password is checked).
    failed_signatures: Mapped[int] = mapped_column(default=0)
    signature_attempt_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[dt.datetime | None]
    # The language the user chose (en, de, zh); None: the browser's Accept-Language decides.
    language: Mapped[str | None] = mapped_column(String(5))

    company: Mapped[Company] = relationship(back_populates="users", lazy="joined", innerjoin=True)

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive users cannot log in
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher().hash(password)

    def check_password(self, password: str) -> bool:
        """One verification, whatever the input (an empty password costs the same as a wrong one)."""
        usable = isinstance(password, str) and bool(password)
        try:
            ok = _hasher().verify(self.password_hash or _dummy_hash(_hasher()), password if usable else "-")
        except (VerificationError, InvalidHashError):
            return False
        return ok and usable and bool(self.password_hash)

    @property
    def display(self) -> str:
        return f"{self.name} ({self.company.name})"


_DUMMY_HASHES: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    """A hash made once per process and hasher (lazily: importing costs nothing), with the same
    parameters as the users' hashes."""
    key = id(hasher)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hasher.hash(secrets.token_urlsafe(24))
    return _DUMMY_HASHES[key]


def dummy_password_check(password: str) -> None:
    """Do the work of a real check - one verification, nothing more - so that unknown e-mails
    cannot be told apart by timing."""
    hasher = _hasher()
    try:
        hasher.verify(_dummy_hash(hasher), password if isinstance(password, str) and password else "-")
    except (VerificationError, InvalidHashError):
        pass


class LoginSession(db.Model):
    """A browser session, ended on logout or deactivation: the cookie alone is not enough."""

    __tablename__ = "login_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: secrets.token_urlsafe(32))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    ip: Mapped[str | None] = mapped_column(String(64))


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class LoginBudget(db.Model):
    """Sign-in attempts per key (an account's e-mail, an address) in the current fixed window,
    counted in the database so that every process shares one budget (app/services/login_limits.py)."""

    __tablename__ = "login_budget"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    window_start: Mapped[int]  # epoch seconds
    expires_at: Mapped[int] = mapped_column(index=True)  # epoch seconds
    count: Mapped[int]


Index("ix_user_account_name", User.name)
