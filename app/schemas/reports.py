"""Reports: the report and its summary, disciplines, reviews and signatures, the team - and what
clients send to open, change, steer and staff a report."""

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from app.method.definition import CODES
from app.models import Status, TeamRole
from app.models.learning import WATCH_STATUSES
from app.schemas.accounts import Company, UserRef
from app.schemas.base import ID, Body, ClosedBody, Code, Count, Date, DateTime, Email, Query, Shape, absent, one_of, ref
from app.schemas.method import header_properties
from app.schemas.tiers import Cascade, ReportLink
from app.services.workflow import DECLINE_REASONS

ReviewKind = Annotated[
    one_of(["stage", "decline"]),
    Field(description="stage: a discipline submitted for review; decline: the supplier asks to decline the complaint"),
]
DeclineReason = one_of(DECLINE_REASONS)
TeamRoleName = one_of(TeamRole)
Decision = one_of(["approve", "reject"])


class Signature(Shape):
    """An electronic signature (a review approved with the password)."""

    signed_by: str
    signed_at: DateTime
    meaning: str = Field(description="e.g. 'closure approved'")
    content_hash: str | None


class ReportRef(Shape):
    id: ID
    number: str


class ReportRefTitled(ReportRef):
    title: str


class Effectiveness(Shape):
    """The watch after closure: approving D8 starts it; the customer's quality lead decides at its end."""

    until: Date = Field(description="the last day of the watch")
    criterion: str
    status: one_of(WATCH_STATUSES)
    recurrences: list[ReportRef] = Field(description="reports of the same two companies, part number and failure mode opened during the watch")
    decided_by: UserRef | None
    decided_at: DateTime | None
    comment: str | None
    signature: Signature | None = Field(description="the quality lead's signature of the decision")


class Review(Shape):
    id: ID
    kind: ReviewKind
    stage: Code
    revision: Count
    requested_at: DateTime
    requested_by: UserRef | None
    request_comment: str | None
    decision: Decision | None
    decided_at: DateTime | None
    decided_by: UserRef | None
    comment: str | None
    return_to: Code | None
    withdrawn_at: DateTime | None
    withdrawn_reason: str | None
    signature: Signature | None
    decline_reason: DeclineReason | None = Field(description="a decline: why")
    related_report_id: ID | None
    evidence: list[ID] = Field(description="a decline: the attachment ids that support it")


class PendingReview(Shape):
    kind: ReviewKind
    stage: Code
    requested_at: DateTime
    requested_by: UserRef | None
    decline_reason: DeclineReason = absent("a decline: why")


class Discipline(Shape):
    code: Code
    version: Count = Field(description="increases by one with every save that changes something")
    fields: dict[str, Any] = Field(description="the values, keyed by field name (see GET /method)")
    updated_at: DateTime | None
    updated_by: UserRef | None


class DisciplineSaved(Discipline):
    notes: list[str] = Field(description="what the save also did, e.g. acceptances withdrawn")


class TeamMember(Shape):
    user_id: ID
    name: str
    email: Email
    company: Company
    role: TeamRoleName
    function: str | None = Field(description="the member's function in the team")


def _header_value(name: str) -> WithJsonSchema:
    return WithJsonSchema(header_properties()[name])


class ReportSummary(Shape):
    id: ID
    number: str = Field(description="e.g. 8D-2026-0001")
    title: str
    status: one_of(Status) = Field(description="open: the team works on stage; in_review: waiting for the quality lead; closed")
    stage: Code
    revision: Count = Field(description="increases when a closed report is reopened")
    oem: Company
    supplier: Company
    part_number: Annotated[str | None, _header_value("part_number")]
    complaint_ref: Annotated[str | None, _header_value("complaint_ref")]
    severity: Annotated[str | None, _header_value("severity")]
    created_at: DateTime
    updated_at: DateTime
    closed_at: DateTime | None
    outcome: one_of(["resolved", "declined"]) | None = Field(
        description="how a closed report ended: resolved (closure approved) or declined (the supplier's decline accepted)"
    )
    due: dict[str, Date] = Field(description="due date per discipline code")
    overdue: bool = Field(description="the current stage is past its due date")


def _each_discipline(schema: dict) -> None:
    schema.clear()
    schema.update(type="object", properties={c: ref(f"{c}Discipline") for c in CODES}, required=list(CODES))


class Report(ReportSummary):
    header: Annotated[dict[str, Any], WithJsonSchema({"allOf": [ref("ReportHeader")]})]
    team: list[TeamMember]
    disciplines: dict[str, Discipline] = Field(json_schema_extra=_each_discipline)
    review: PendingReview | None
    reviews: list[Review]
    signatures: list[Signature]
    signature: Signature | None = Field(description="the signature that closed the report (closure or accepted decline)")
    review_points: list[Code]
    parent: ReportLink | None = Field(description="the report this cascade was opened from: to the parent's supplier only, else null")
    cascades: list[Cascade] = Field(description="child 8Ds opened with sub-suppliers; content-free for the report's customer")
    effectiveness: Effectiveness | None = Field(description="the effectiveness watch after closure (the latest), or null")


class ReportCreated(Report):
    similar_open: list[ReportRefTitled] = Field(description="OPEN reports of the same two companies with the same part number and a "
                                                            "failure-mode word of the title in common: a possible duplicate")


# ------------------------------------------------------------------------------ request bodies
def _with_header(required: list[str]):
    def add(schema: dict) -> None:
        schema["properties"] = {**schema.get("properties", {}), **header_properties()}
        schema["required"] = required

    return add


class ReportCreate(ClosedBody):
    """The parties and any header values; the caller's company must be the OEM or the supplier."""

    model_config = {"json_schema_extra": _with_header(["title", "oem_id", "supplier_id"])}
    oem_id: ID
    supplier_id: ID


class ReportHeaderUpdate(ClosedBody):
    """Only the header values to change."""

    model_config = {"json_schema_extra": _with_header([])}


class DisciplineUpdate(Body):
    base_version: Count = Field(description="the version your edit started from")
    fields: dict[str, Any] = absent("only the fields you changed; values as in <code>Fields (see GET /method)")


class Advance(Body):
    comment: str | None = absent()
    stage: Code | None = absent("the stage you act on: another one is 409 stage_changed")


class ReviewDecision(Body):
    decision: Decision
    comment: str | None = absent("required to reject")
    password: str = absent("the caller's password, required to approve (the signature)")
    return_to: Code | None = absent()
    stage: Code | None = absent("the stage you act on: another one is 409 stage_changed")
    watch_days: int = absent("approving D8: days of the effectiveness watch after closure (default 90, 0 = none, at most 730)")
    watch_criterion: str = absent("approving D8: what shows the fix held, e.g. 'no recurrence' or 'ppm below 50'", max_length=2000)


class Return(Body):
    to: Code
    comment: str


class Decline(Body):
    reason: DeclineReason
    comment: str = Field(max_length=5000, description="why, for the customer's quality lead")
    related_report_id: ID | None = absent("the report this one duplicates (required for duplicate): same customer and supplier")
    evidence: list[ID] = Field(min_length=1, description="live attachment ids of this report that support the decline (at least one)")


class Reopen(Body):
    comment: str
    password: str
    to: Code | None = absent()


class TeamMemberCreate(Body):
    user_id: ID
    role: TeamRoleName = Field("member")
    function: str | None = absent(max_length=200)


class TeamMemberUpdate(Body):
    role: TeamRoleName = absent()
    function: str | None = absent(max_length=200)


class ReportFilter(Query):
    status: one_of(Status) = absent("only reports with this status")
    stage: Code = absent("only reports at this stage")
    supplier_id: ID = absent("only reports with this supplier")
    oem_id: ID = absent("only reports with this customer")
    overdue: one_of(["true", "1", "false", "0"]) = absent("true: only open reports whose current stage is past its due date")
    q: str = absent("search in number, title, part number, complaint reference", max_length=200)


class UserSearch(Query):
    q: str = absent("search in name and e-mail", max_length=200)


class DisciplineFilter(Query):
    discipline: Code = absent("only the events or comments of this discipline")
