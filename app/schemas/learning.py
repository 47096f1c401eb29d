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


class LessonItem(Shape):
    """One lesson learned (a row of a report's D7 lessons table)."""

    report_id: ID
    number: str
    title: str
    supplier: str
    part_number: str | None
    index: ID = Field(description="the row of the report's D7 lessons table (1-based): with report_id, what apply takes")
    lesson: str
    category: str | None
    tags: str | None


class LessonQuery(Query):
    q: str = absent("words the lesson must hold (all of them)", max_length=200)
    process: str = absent("words of the lesson's category or tags, e.g. 'laser welding'", max_length=200)
    failure_mode: str = absent("a failure mode: words of the report's title, e.g. 'crack'", max_length=200)


class LessonApply(Body):
    report_id: ID = Field(description="the report (open, where you may add actions) that takes the read-across preventive action")
    target: str = Field(max_length=500, description="the product, line or plant it applies to")
    due_date: str = absent("YYYY-MM-DD (default: in 30 days)")
