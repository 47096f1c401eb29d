"""Companies, users, passwords, browser sessions and API tokens."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app import policy
from app.errors import BadRequest, Conflict, Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import ApiToken, Company, CompanyKind, LoginSession, Role, User, is_id, utcnow
from app.models.accounts import dummy_password_check, hash_token
from app.services import audit

MIN_PASSWORD = 12
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).resolve().parent.parent / "data" / "common_passwords.txt"
    return frozenset(line.strip() for line in path.read_text().splitlines() if line.strip() and not line.startswith("#"))


COMMON_PASSWORDS = _common_passwords()


def normalise_email(email: str) -> str:
    if not isinstance(email, str):
        raise Invalid(_('Enter a valid e-mail address.'), fields={"email": "must be an e-mail address"})
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise Invalid(_('Enter a valid e-mail address.'), fields={"email": "is not a valid e-mail address"}) from None


def check_password_policy(password: str, field: str = "password") -> None:
    """OWASP ASVS: length, not a common password; no composition rules."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(_('The password needs at least %(MIN_PASSWORD)s characters.', MIN_PASSWORD=MIN_PASSWORD), fields={field: f"needs at least {MIN_PASSWORD} characters"})
    if len(password) > 256:
        raise Invalid(_('The password is too long.'), fields={field: "is too long (at most 256 characters)"})
    if password.lower() in COMMON_PASSWORDS or len(set(password)) < 4:
        raise Invalid(_('This password is too common.'), fields={field: "is too common"})


def _strings(**values) -> None:
    wrong = {k: "must be a string" for k, v in values.items() if v is not None and not isinstance(v, str)}
    if wrong:
        raise BadRequest(_('Some values have the wrong type.'), {"fields": wrong})


def check_can_manage(actor: User | None, user: User) -> None:
    """404 for an account of another company (it does not exist for a company admin), 403 for a
    platform admin's account (only platform admins change those). `actor` None: the command line."""
    if actor is None:
        return
    if not policy.can_see_user(actor, user):
        raise NotFound(_('No such user.'))
    if not policy.can_manage_user(actor, user):
        raise Forbidden(_("Only a platform administrator can change a platform administrator's account."))


def create_company(actor: User | None, name: str, kind: str) -> Company:
    if actor is not None and not policy.can_create_company(actor):
        raise Forbidden(_('Only platform administrators create companies.'))
    _strings(name=name, kind=kind)
    name = (name or "").strip() if isinstance(name, str) else ""
    errors = {}
    if not name or len(name) > 200:
        errors["name"] = "is required (at most 200 characters)"
    if kind not in {k.value for k in CompanyKind}:
        errors["kind"] = "must be oem or supplier"
    if errors:
        raise Invalid(_('The company is not valid.'), fields=errors)
    if db.session.scalar(select(Company.id).where(func.lower(Company.name) == name.lower())):
        raise Conflict(_('A company named %(name)s already exists.', name=repr(name)), {"fields": {"name": "already exists"}})
    company = Company(name=name, kind=CompanyKind(kind))
    db.session.add(company)
    db.session.flush()
    audit.record("company.created", actor, changes={"company": [None, name], "kind": [None, kind]}, company_id=company.id)
    return company


def link_supplier(actor: User | None, customer: Company, supplier: Company) -> bool:
    """Record that `customer` buys from `supplier` (a Tier-1 and its sub-supplier): its 8Ds may
    cascade there. Platform admins (and the command line) only. True if the link is new."""
    from app.models import SupplierLink

    if actor is not None and not policy.can_create_company(actor):
        raise Forbidden("Only platform administrators record which companies supply which.")
    if customer is None or supplier is None or customer.id == supplier.id:
        raise Invalid("A supplier link joins two different companies.", fields={"supplier_ids": "must name other companies"})
    if db.session.get(SupplierLink, (customer.id, supplier.id)) is not None:
        return False
    db.session.add(SupplierLink(customer_id=customer.id, supplier_id=supplier.id))
    audit.record("company.supplier_linked", actor, changes={"customer": [None, customer.name], "supplier": [None, supplier.name]},
                 company_id=customer.id)
    return True


def create_user(actor: User | None, email: str, name: str, company_id: int, role: str, password: str, *, platform_admin: bool = False) -> User:
    """`actor` None is the command line (or the demo): the only way to make a platform admin."""
    _strings(email=email, name=name, role=role, password=password)
    if platform_admin and actor is not None:
        raise Forbidden(_('Platform administrators are made on the command line only.'))
    if company_id is not None and (isinstance(company_id, bool) or not isinstance(company_id, int)):
        raise BadRequest(_("'company_id' must be an integer."), {"fields": {"company_id": "must be an integer"}})
    if actor is not None and company_id is not None and not policy.can_assign_company(actor, company_id):
        raise NotFound(_('No such company.'))  # another company does not exist for a company admin
    errors = {}
    try:
        email = normalise_email(email)
    except Invalid as exc:
        errors.update(exc.fields)
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > 200:
        errors["name"] = "is required (at most 200 characters)"
    if role not in {r.value for r in Role}:
        errors["role"] = "must be one of admin, quality_lead, engineer, viewer"
    company = db.session.get(Company, company_id) if is_id(company_id) else None
    if company is None:
        errors["company_id"] = "is not a known company"
    try:
        check_password_policy(password)
    except Invalid as exc:
        errors.update(exc.fields)
    if errors:
        raise Invalid(_('The user is not valid.'), fields=errors)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(_('A user with this e-mail address already exists.'), {"fields": {"email": "already exists"}})
    user = User(email=email, name=name, company_id=company.id, role=Role(role), active=True, platform_admin=bool(platform_admin))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", actor, changes={"user": [None, email], "role": [None, role], "company": [None, company.name],
                                                 **({"platform_admin": [False, True]} if platform_admin else {})}, company_id=company.id)
    return user


def active_admin_count(company_id: int) -> int:
    """Active company admins of one company: the last one cannot be removed (nobody else could
    manage its people but a platform admin)."""
    return db.session.scalar(select(func.count()).select_from(User).where(
        User.company_id == company_id, User.role == Role.admin, User.active.is_(True))) or 0


def update_user(actor: User | None, user: User, role: str | None = None, active: bool | None = None, name: str | None = None) -> User:
    check_can_manage(actor, user)
    changes: dict = {}
    if role is not None:
        if role not in {r.value for r in Role}:
            raise Invalid(_('Unknown role.'), fields={"role": "must be one of admin, quality_lead, engineer, viewer"})
        if user.role == Role.admin and role != "admin" and user.active and active_admin_count(user.company_id) <= 1:
            raise Invalid(_('The last administrator of a company cannot lose the admin role.'), rule="last_admin")
        if user.role.value != role:
            changes["role"] = [user.role.value, role]
            user.role = Role(role)
    if active is not None:
        if not active and user.active and user.role == Role.admin and active_admin_count(user.company_id) <= 1:
            raise Invalid(_('The last administrator of a company cannot be deactivated.'), rule="last_admin")
        if active != user.active:
            changes["active"] = [user.active, active]
            user.active = active
            if not active:
                end_all_sessions(user)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise Invalid(_('The name is required.'), fields={"name": "is required (at most 200 characters)"})
        if name != user.name:
            changes["name"] = [user.name, name]
            user.name = name
    if changes:
        audit.record("user.updated", actor, changes={"user": [user.email, user.email], **changes}, company_id=user.company_id)
    return user


def set_password(actor: User | None, user: User, password: str) -> None:
    """By an administrator, or by the user themselves (a password reset)."""
    if actor is None or actor.id != user.id:
        check_can_manage(actor, user)
    check_password_policy(password)
    user.set_password(password)
    end_all_sessions(user)
    audit.record("user.password_set", actor, changes={"user": [user.email, user.email]}, company_id=user.company_id)


def set_language(user: User, language: object) -> User:
    """The user's own language (en, de, zh); None hands the choice back to the browser."""
    from app import i18n

    if language == "":
        language = None
    if language is not None and not i18n.valid(language):
        allowed = ", ".join(i18n.languages())
        raise Invalid(_("'language' must be one of %(allowed)s, or null.", allowed=allowed), fields={"language": f"one of {allowed} or null"})
    if language != user.language:
        audit.record("user.language", user, changes={"user": [user.email, user.email], "language": [user.language, language]},
                     company_id=user.company_id)
        user.language = language
    return user


def set_platform_admin(user: User, granted: bool) -> bool:
    """Grant or revoke platform administration (command line only). Revoking ends the user's
    sessions and tokens: what they were allowed to do changes at once."""
    if user.platform_admin == granted:
        return False
    user.platform_admin = granted
    if not granted:
        end_all_sessions(user)
    audit.record("user.platform_admin", None, changes={"user": [user.email, user.email], "platform_admin": [not granted, granted]},
                 company_id=user.company_id)
    return True


def find_user_by_email(email: str) -> User | None:
    if not isinstance(email, str) or len(email) > 320:
        return None
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def authenticate(email: str, password: str) -> User | None:
    """The user for these credentials, or None. Same work whether or not the e-mail exists."""
    user = find_user_by_email(email)
    if user is None:
        dummy_password_check(password if isinstance(password, str) else "")
        return None
    if not user.check_password(password):
        return None
    if not user.active:
        return None
    return user


def start_session(user: User, ip: str | None) -> LoginSession:
    session = LoginSession(user_id=user.id, ip=(ip or "")[:64])
    user.last_login_at = utcnow()
    db.session.add(session)
    return session


def end_session(session_id: str | None) -> None:
    if session_id:
        db.session.execute(update(LoginSession).where(LoginSession.id == session_id, LoginSession.ended_at.is_(None)).values(ended_at=utcnow()))


def end_all_sessions(user: User) -> None:
    """Deactivation and password changes end every browser session and API token at once."""
    now = utcnow()
    db.session.execute(update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None)).values(ended_at=now))
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None)).values(revoked_at=now))


def session_user(session_id: str | None, user_id: int, max_age_seconds: int | None = None) -> User | None:
    """The user of a live browser session: not ended (logout, deactivation), not older than the
    absolute lifetime, and the user still active."""
    if not session_id or not isinstance(session_id, str):
        return None
    stmt = (
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None), User.id == user_id, User.active.is_(True))
    )
    if max_age_seconds:
        stmt = stmt.where(LoginSession.created_at > utcnow() - dt.timedelta(seconds=max_age_seconds))
    return db.session.scalar(stmt)


def issue_token(user: User, days: int) -> tuple[str, ApiToken]:
    raw = "8dw_" + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_hash=hash_token(raw), expires_at=utcnow() + dt.timedelta(days=days))
    db.session.add(token)
    return raw, token


def token_user(raw: str) -> tuple[User, ApiToken] | None:
    if not raw or len(raw) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow() or not token.user.active:
        return None
    return token.user, token


def revoke_token(token: ApiToken) -> None:
    token.revoked_at = utcnow()


def get_user(user_id) -> User:
    user = db.session.get(User, user_id) if is_id(user_id) else None
    if user is None:
        raise NotFound(_('No such user.'))
    return user
