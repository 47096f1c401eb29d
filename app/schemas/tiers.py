"""Multi-tier 8Ds and invitations: cascades, the links a report shows, invitations to join."""

from typing import Annotated

from pydantic import Field

from app.models import Status
from app.schemas.accounts import Company
from app.schemas.base import ID, Body, Code, Date, DateTime, Email, Shape, absent, one_of


class ReportLink(Shape):
    """The report a cascade was opened from (shown to the parent's supplier only)."""

    id: ID
    number: str


class Cascade(Shape):
    """A child 8D opened with a sub-supplier. The parent's customer sees id, number, supplier,
    stage and status only; the parent's supplier (the child's customer) also its title and dates."""

    id: ID
    number: str
    supplier: Company
    stage: Code
    status: one_of(Status)
    title: str = absent("to the parent's supplier only")
    discipline: Code = absent("the parent's discipline it serves (D4 or D5); to the parent's supplier only")
    outcome: one_of(["resolved", "declined"]) | None = absent("to the parent's supplier only")
    due: dict[str, Date] = absent("due date per discipline code; to the parent's supplier only")
    overdue: bool = absent("to the parent's supplier only")


class CascadeCreate(Body):
    supplier_id: ID = Field(description="the sub-supplier: any active company other than the report's customer and supplier")
    title: Annotated[str, Field(max_length=500)]
    discipline: one_of(["D4", "D5"]) = absent("the discipline of this report the cascade serves (default D4)")
    description: Annotated[str, Field(max_length=20000)] = absent(
        "the problem description passed on to the sub-supplier (the child's D2 customer's description); nothing else of this report is")
    part_number: Annotated[str, Field(max_length=500)] = absent("the sub-supplier's part number")


InvitationRole = one_of(["engineer", "viewer"])


class Invitation(Shape):
    id: ID
    email: Email
    expires_at: DateTime
    name: str = absent()
    company: Company = absent()
    role: InvitationRole = absent()
    state: one_of(["pending", "used", "revoked", "expired"]) = absent()
    created_at: DateTime = absent()
    created_by: str | None = absent("who invited (name)")
    joined: bool = absent("true: the e-mail had an account of this company, which joined the team at once (no link was sent)")


class InvitationCreate(Body):
    email: Email
    name: Annotated[str, Field(max_length=200)]
    company_id: ID = Field(description="one of the report's two companies; it must allow invitations")
    role: InvitationRole = Field(description="the account role: engineer (member of the team) or viewer (viewer on the team)")


class InvitationAccept(Body):
    name: Annotated[str, Field(max_length=200)]
    password: Annotated[str, Field(max_length=256)] = Field(description="at least 12 characters, not a common password")


class CompanySettings(Body):
    allow_invitations: bool = absent("may a report's leader or champion invite this company's people by e-mail (its admin decides)")
    supplier_ids: list[ID] = absent("companies this one buys from, added to its supplier links (platform admins only): its 8Ds may "
                                    "cascade there")


class CompanySettingsShape(Shape):
    id: ID
    name: str
    allow_invitations: bool
    supplier_ids: list[ID] = Field(description="the companies this one buys from (supplier links)")


class InvitationList(Shape):
    items: list[Invitation]
    total: int = Field(ge=0)
