"""The one error object of the API ([docs/api.md](../../docs/api.md#errors)); app/web/errors.py
writes it."""

from typing import Any

from pydantic import ConfigDict, Field

from app.schemas.base import Shape, absent
from app.web.errors import HTTP_CODES


class ErrorDetails(Shape):
    model_config = ConfigDict(extra="allow", json_schema_extra=None)

    fields: dict[str, Any] = absent("400/422: {field: message}; 409 conflict: {field: {yours, theirs, base}}")
    missing: list[str] = absent("409 gate_not_met: what the current discipline lacks")
    rule: str = absent("the rule that was broken, e.g. frozen, closed, in_review, last_admin")
    version: int = absent("409 conflict: the discipline's current version")


class Error(Shape):
    """Every error of the API."""

    error: str = Field(description=", ".join(dict.fromkeys(HTTP_CODES.values())) + ", gate_not_met")
    message: str = Field(description="for people")
    details: ErrorDetails
