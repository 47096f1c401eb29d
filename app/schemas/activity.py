"""What happens around a report: the audit trail, comments, evidence files and the export."""

from typing import Annotated, Any

from pydantic import Field, WithJsonSchema

from app.schemas.accounts import UserRef
from app.schemas.actions import Action
from app.schemas.base import ID, Body, Code, Count, DateTime, Shape, absent
from app.schemas.reports import Report

CHANGES = {"type": "object", "description": "{field: [old, new]}", "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2}}


class Event(Shape):
    id: ID
    seq: ID = Field(description="position in the report's hash chain")
    at: DateTime
    actor: str | None = Field(description="name of who did it ('system' when nobody)")
    actor_id: ID | None
    actor_company: str | None
    action: str = Field(description="e.g. report.created, discipline.updated, stage.advanced, review.approved")
    discipline: Code | None
    changes: Annotated[dict[str, Any], WithJsonSchema(CHANGES)]
    comment: str | None
    hash: str
    prev_hash: str | None


class Comment(Shape):
    id: ID
    report_id: ID
    discipline: Code
    author: UserRef | None
    body: str | None = Field(description="Markdown as written; null once withdrawn")
    body_html: str | None = Field(description="the Markdown rendered and sanitised; null once withdrawn")
    created_at: DateTime
    edited_at: DateTime | None
    withdrawn: bool
    withdrawn_at: DateTime | None


class CommentCreate(Body):
    discipline: Code
    body: str = Field(max_length=10_000, description="Markdown; @email mentions of team members notify them")


class CommentUpdate(Body):
    body: str = Field(max_length=10_000, description="Markdown")


class Attachment(Shape):
    """Evidence: a file's metadata."""

    id: ID
    report_id: ID
    filename: str
    size: Count = Field(description="bytes")
    sha256: str
    content_type: str
    discipline: Code
    action_id: ID | None
    description: str | None
    replaces_id: ID | None
    uploaded_by: UserRef
    uploaded_at: DateTime
    withdrawn: bool
    withdrawn_at: DateTime | None
    withdrawn_reason: str | None


class Upload(Body):
    """multipart/form-data"""

    file: Annotated[bytes, WithJsonSchema({"type": "string", "format": "binary"})]
    discipline: Code
    action_id: int = absent("the action the file proves")
    description: str = absent(max_length=2000)
    replaces_id: int = absent("the evidence this is a new version of")
    claim: str = absent(
        "attach the file at once to what it proves: an evidence field of the discipline (validation_evidence) or a table "
        "cell (causes.<row id>.evidence); with action_id one of the action's evidence lists (default: pre_verification_evidence "
        "for D5, implementation_evidence for D6, else evidence)",
    )


class ExportMethod(Shape):
    review_points: list[Code]


class ReportExport(Report):
    """The whole report as one JSON document."""

    actions: list[Action]
    attachments: list[Attachment] = Field(description="withdrawn ones included")
    comments: list[Comment]
    events: list[Event]
    method: ExportMethod
    content_sha256: str = Field(description="SHA-256 of the content: everything but exported_at, content_sha256 and overdue")
    exported_at: DateTime
