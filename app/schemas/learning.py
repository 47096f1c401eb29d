"""Learning across reports: search hits, similar reports, lessons, the effectiveness watch."""

from typing import Annotated

from pydantic import Field

from app.models.report import Status
from app.models.search import PARTS
from app.schemas.base import ID, Body, Query, Shape, absent, one_of


class SearchHit(Shape):
    """One visible report that contains every word, with the best-matching part."""

    report_id: ID
    number: str
    title: str
    discipline: Annotated[one_of(PARTS), Field(description="where the words were found: D0-D8, header, actions or comments")]
    snippet: Annotated[str, Field(description="HTML: the text around the words, escaped, the matching words in <mark>")]
    status: one_of(Status)
    supplier: str
    part_number: str | None


class SearchQuery(Query):
    q: str = absent("the words to find (all of them; English stemming)", max_length=200)
    supplier_id: ID = absent("only reports with this supplier")
    status: one_of(Status) = absent("only reports with this status")
    part_number: str = absent("only reports of this part number (exact, any case)", max_length=500)
    discipline: one_of(PARTS) = absent("only hits in this part of the report")


class EffectivenessDecision(Body):
    decision: one_of(["effective", "not_effective"])
    comment: str | None = absent("required for not_effective: why (the report reopens at D4 with a new revision)")
    password: str = Field(description="the caller's password (the signature)")


class SimilarOutcome(Shape):
    causes: list[str] = Field(description="its D4 cause statements (up to 3)")
    corrective_actions: list[str] = Field(description="titles of its corrective actions (up to 5)")
    outcome: one_of(["resolved", "declined"]) | None


class SimilarReport(Shape):
    id: ID
    number: str
    title: str
    status: one_of(Status)
    score: float = Field(description="higher is more alike")
    reasons: list[str] = Field(description="why it is listed: same part number or family, failure-mode words, similar cause")
    outcome: SimilarOutcome


class SimilarList(Shape):
    items: list[SimilarReport]
