"""Accounts: companies, users, tokens, and what the administration sends."""

from typing import Annotated

from pydantic import Field

from app.models import CompanyKind, Role
from app.schemas.base import ID, Body, DateTime, Email, Query, Shape, absent, one_of

CompanyKindName = one_of(CompanyKind)
RoleName = one_of(Role)
Language = one_of(["en", "de", "zh"])


class Company(Shape):
    id: ID
    name: str
    kind: CompanyKindName


class User(Shape):
    id: ID
    email: Email
    name: str
    role: RoleName
    active: bool
    company: Company


class Me(User):
    """The caller's own account."""

    platform_admin: bool = Field(description="a platform administrator (granted on the command line only)")
    language: Language | None = Field(description="the language the user chose; null: the browser's Accept-Language decides")


class MeUpdate(Body):
    """The caller's own settings."""

    language: Language | None = Field(None, description="en, de or zh; null hands the choice back to Accept-Language")


class AdminUser(User):
    """An account as the administration sees it."""

    platform_admin: bool = Field(description="a platform administrator (command line only)")


class UserRef(Shape):
    id: ID
    name: str
    email: Email
    company: str = Field(description="company name")


class Token(Shape):
    token: str = Field(description="send as 'Authorization: Bearer <token>'")
    expires_at: DateTime
    token_type: one_of(["Bearer"])


class TokenRequest(Body):
    email: str
    password: str


class CompanyCreate(Body):
    name: Annotated[str, Field(max_length=200)]
    kind: CompanyKindName


class UserCreate(Body):
    email: Email
    name: Annotated[str, Field(max_length=200)]
    company_id: ID
    role: RoleName
    password: Annotated[str, Field(max_length=256)]
    platform_admin: bool = absent("only false: platform administration is granted on the command line (true: 403)")


class UserUpdate(Body):
    role: RoleName = absent()
    active: bool = absent("false ends the user's sessions and tokens at once")
    name: str = absent(max_length=200)
    password: str = absent(max_length=256)
    platform_admin: bool = absent("only false: granted on the command line (true: 403)")


class UserFilter(Query):
    company_id: ID = absent("only users of this company")
