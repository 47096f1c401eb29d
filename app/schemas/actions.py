"""Actions: containment, corrective and preventive, tracked to verified effectiveness."""

from typing import Annotated

from pydantic import Field

from app.method.definition import LOCATIONS
from app.models import ActionKind, ActionStatus
from app.schemas.accounts import UserRef
from app.schemas.base import ID, ClosedBody, Code, Date, DateTime, Query, Shape, absent, one_of
from app.services.action_input import CAUSES

ActionKindName = one_of(ActionKind)
ActionStatusName = Annotated[one_of(ActionStatus), Field(description="open -> in_progress -> implemented -> verified, or cancelled")]
Cause = Annotated[
    one_of(CAUSES), Field(description="corrective: removes the cause (occurrence), adds detection (non_detection) or fixes the system")
]
Location = Annotated[one_of([c.value for c in LOCATIONS]), Field(description="containment: where")]
Quantity = Annotated[int, Field(ge=0, le=10**9)]
Percent = Annotated[int, Field(ge=0, le=100)]
EvidenceIds = Annotated[list[ID], Field(max_length=100)]


class Action(Shape):
    id: ID
    report_id: ID
    report_number: str
    kind: ActionKindName
    discipline: Code
    title: str
    description: str | None
    owner_id: ID
    owner: UserRef | None
    due_date: Date
    overdue: bool
    ref: str = Field(description="e.g. ICA1, PCA2, PA1 - unique per report and kind")
    cause: Cause | None
    causes: list[str] = Field(description="the D4 causes it addresses (their refs)")
    cause_ref: str | None = Field(description="the first of causes (older clients)")
    location: Location | None
    qty_suspect: Quantity | None
    qty_checked: Quantity | None
    qty_nok: Quantity | None
    introduced_on: Date | None
    effective_from: Date | None
    effective_pct: Percent | None
    pre_verification: str | None
    error_proofing: str | None
    target: str | None = Field(description="preventive: the product, line or plant it applies to")
    implemented_on: Date | None
    evidence: list[ID] = Field(description="attachment ids: proof of effectiveness (containment) or of the work done")
    pre_verification_evidence: list[ID] = Field(description="corrective (D5): attachment ids proving the pre-verification")
    implementation_evidence: list[ID] = Field(description="corrective (D6): attachment ids proving the implementation")
    status: ActionStatusName
    verification: str | None
    verified_by: UserRef | None
    verified_at: DateTime | None
    cancel_reason: str | None
    removed_at: DateTime | None
    removed_by: UserRef | None
    version: ID
    created_at: DateTime
    updated_at: DateTime
    warnings: list[str]


class ActionValues(ClosedBody):
    """What a client sets on an action (create and change)."""

    title: str = absent(max_length=500)
    description: str | None = absent(max_length=20_000)
    owner_id: ID = absent("a working member of the report's team")
    due_date: Date = absent()
    ref: str | None = absent("unique per report and kind; assigned (ICA1, PCA2, PA1) when not given", max_length=20)
    cause: Cause | None = absent()
    causes: Annotated[list[Annotated[str, Field(max_length=40)]], Field(max_length=50)] | None = absent("corrective, preventive: refs of D4 causes")
    cause_ref: str | None = absent("a cause of D4 (its ref); older form of causes", max_length=40)
    location: Location | None = absent("containment only")
    qty_suspect: Quantity | None = absent("containment only")
    qty_checked: Quantity | None = absent("containment only")
    qty_nok: Quantity | None = absent("containment only")
    introduced_on: Date | None = absent("containment only")
    effective_from: Date | None = absent("containment only")
    effective_pct: Percent | None = absent("containment only")
    pre_verification: str | None = absent("corrective only", max_length=20_000)
    error_proofing: str | None = absent("corrective only", max_length=20_000)
    target: str | None = absent("preventive only", max_length=500)
    evidence: EvidenceIds | None = absent("live attachment ids of this report")
    pre_verification_evidence: EvidenceIds | None = absent("corrective only: live attachment ids")
    implementation_evidence: EvidenceIds | None = absent("corrective only: live attachment ids")


class ActionCreate(ActionValues):
    """Fields of another kind of action (e.g. location for a corrective action) or unknown ones: 422."""

    kind: ActionKindName
    title: Annotated[str, Field(max_length=500)]
    owner_id: ID = Field(description="a working member of the report's team")
    due_date: Date


class ActionUpdate(ActionValues):
    version: ID = Field(description="the version you loaded; another: 409 conflict")
    status: ActionStatusName = absent("the next step; other steps: 422")
    verification: str = absent("required to verify (by someone other than the owner)")
    reason: str = absent("required to cancel")
    removed_at: DateTime | None = absent("containment only, from D6 on: when it was lifted (ISO 8601)")
    implemented_on: Date = absent("the day it was implemented (YYYY-MM-DD), with or after the step to implemented")


class ActionFilter(Query):
    owner: str = absent("'me' or a user id: only actions of this owner", pattern=r"^(me|[0-9]+)$")
    company_id: ID = absent("only actions whose owner belongs to this company")
    kind: ActionKindName = absent("only actions of this kind")
    status: one_of(["active", *(s.value for s in ActionStatus)]) = absent("only actions with this status (active: not yet verified or cancelled)")
    overdue: one_of(["true", "1", "yes"]) = absent("only active actions past their due date")
    due_within: int = absent("only active actions due within this many days", ge=0, le=9999)
    q: str = absent("search in the title and the report number", max_length=200)
