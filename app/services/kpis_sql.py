"""SQL building blocks of the KPIs that the two databases spell differently: days between two
times, the month and the day of a time (as 'YYYY-MM' and 'YYYY-MM-DD' text)."""

from __future__ import annotations

from sqlalchemy import Float, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement


class days_between(FunctionElement):  # noqa: N801 - an SQL function
    """Days (fractional) from the first time to the second."""

    type = Float()
    inherit_cache = True


@compiles(days_between)
def _days_default(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(julianday({compiler.process(end, **kw)}) - julianday({compiler.process(start, **kw)}))"


@compiles(days_between, "postgresql")
def _days_pg(element, compiler, **kw):
    start, end = list(element.clauses)
    return f"(EXTRACT(EPOCH FROM ({compiler.process(end, **kw)} - {compiler.process(start, **kw)})) / 86400.0)"


class month_of(FunctionElement):  # noqa: N801
    """'YYYY-MM' of a time."""

    type = String()
    inherit_cache = True


@compiles(month_of)
def _month_default(element, compiler, **kw):
    return f"substr({compiler.process(list(element.clauses)[0], **kw)}, 1, 7)"


@compiles(month_of, "postgresql")
def _month_pg(element, compiler, **kw):
    return f"to_char({compiler.process(list(element.clauses)[0], **kw)}, 'YYYY-MM')"


class day_of(FunctionElement):  # noqa: N801
    """'YYYY-MM-DD' of a time."""

    type = String()
    inherit_cache = True


@compiles(day_of)
def _day_default(element, compiler, **kw):
    return f"substr({compiler.process(list(element.clauses)[0], **kw)}, 1, 10)"


@compiles(day_of, "postgresql")
def _day_pg(element, compiler, **kw):
    return f"to_char({compiler.process(list(element.clauses)[0], **kw)}, 'YYYY-MM-DD')"
