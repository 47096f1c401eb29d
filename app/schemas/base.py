"""The building blocks of every shape: response objects, request bodies, query strings, and the
value types they share (ids, times, dates, discipline codes, enumerations taken from the code).

Response shapes (`Shape`) are strict: the serializers build them field by field, and a missing,
misspelt or wrongly typed field fails at once (a 500 in the test suite, never a silently wrong
document). They are documented open - clients must ignore fields they do not know, because
responses may grow ([docs/api.md](../../docs/api.md#responses-may-grow)).
"""

from enum import Enum
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from app.method.definition import CODES


def _open_object(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class Shape(BaseModel):
    """A response object."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_open_object)


class Body(BaseModel):
    """A JSON request body, for the document: the services check types (400) and rules (422)
    themselves, because the pages send the same values."""


class ClosedBody(BaseModel):
    """A request body whose unknown fields are refused (422)."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query-string parameters of a GET, for the document (the routes parse them: bad values 400)."""


def one_of(values: Any) -> Any:
    """A string enumeration from an Enum class or a sequence of values."""
    items = [m.value for m in values] if isinstance(values, type) and issubclass(values, Enum) else list(values)
    return Literal[tuple(items)]


def absent(description: str = "", **kw: Any) -> Any:
    """A field the object carries only sometimes: omitted, not null, when it does not apply (the
    document shows no default for it: app/api/spec.py)."""
    return Field(None, description=description or None, **kw)


ID = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
DateTime = Annotated[str, Field(description="ISO 8601 UTC time, e.g. 2026-11-25T19:00:00Z", json_schema_extra={"format": "date-time"})]
Date = Annotated[str, Field(description="YYYY-MM-DD", json_schema_extra={"format": "date"})]
Email = Annotated[str, Field(json_schema_extra={"format": "email"})]
Code = Annotated[one_of(CODES), Field(description="discipline code")]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


@cache
def page_of(item: type[BaseModel]) -> type[Shape]:
    """The list envelope of every list ([docs/api.md](../../docs/api.md#lists-and-pagination))."""
    return create_model(
        f"{item.__name__}Page",
        __base__=Shape,
        __doc__="A page of a list.",
        items=(list[item], ...),
        page=(Annotated[int, Field(ge=1, description="1-based page number")], ...),
        per_page=(Annotated[int, Field(ge=0, le=200, description="page size (default 50, max 200)")], ...),
        total=(Annotated[int, Field(ge=0, description="number of items on all pages")], ...),
    )


class Paging(Query):
    page: int = Field(1, ge=1, description="1-based page number")
    per_page: int = Field(50, ge=1, le=200, description="page size")
