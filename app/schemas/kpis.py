"""Supplier KPIs (docs/api.md, Wave 2 "KPIs"): per supplier and per month of a period."""

from typing import Annotated

from pydantic import Field

from app.schemas.base import ID, Count, Query, Shape, absent

Rate = Annotated[float, Field(ge=0, le=1)]
Days = Annotated[float, Field(description="days (fractional)")]
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class KpiFigures(Shape):
    """The figures of one supplier over the period, or of one month over the suppliers in scope.
    Rates are in 0..1 and null when there is nothing to count; so are medians and percentiles."""

    reports_opened: Count
    reports_closed: Count = Field(description="closure (D8) approved in the period; declined reports excluded")
    reports_declined: Count = Field(description="closed in the period because the customer accepted the supplier's decline")
    containment_on_time_rate: Rate | None = Field(description="of the reports whose D3 was due in the period: contained (D3 approved) by the due date")
    median_days_to_containment: Days | None = Field(description="days from opening to D3 approved, reports contained in the period")
    median_days_to_root_cause: Days | None = Field(description="days from opening to D4 completed, reports whose D4 was completed in the period")
    median_days_to_close: Days | None = Field(description="days from opening to the approved closure, reports closed in the period")
    p90_days_to_close: Days | None = Field(description="90th percentile (linear interpolation) of the days to close")
    first_pass_acceptance_rate: Rate | None = Field(description="review points first decided in the period and approved without a rejection")
    first_pass_by_review_point: dict[str, Rate | None] = Field(description="the same per review point, e.g. {\"D3\": 0.5}")
    repeat_rate: Rate | None = Field(description="reports opened in the period that are repeat failures or linked to an earlier report")
    open_actions: Count = Field(description="actions not verified or cancelled at the end of the month (supplier: of the period)")
    overdue_actions: Count = Field(description="of those, past their due date by then")
    ppm: float | None = Field(description="complained / delivered quantity x 1,000,000 over reports opened in the period stating both")
    days_team_working: Days | None = Field(description="average days per closed report with the team working")
    days_customer_reviewing: Days | None = Field(description="average days per closed report waiting for the customer's decisions")


class SupplierRef(Shape):
    id: ID
    name: str


class SupplierKpis(KpiFigures):
    supplier: SupplierRef


class MonthKpis(KpiFigures):
    month: str = Field(pattern=MONTH, description="YYYY-MM")


class KpiPeriod(Shape):
    first: str = Field(pattern=MONTH, description="first month, YYYY-MM")
    last: str = Field(pattern=MONTH, description="last month, YYYY-MM")


class Kpis(Shape):
    period: KpiPeriod
    suppliers: list[SupplierKpis]
    months: list[MonthKpis]


class KpiFilter(Query):
    supplier_id: ID = absent("only this supplier's figures")
    oem_id: ID = absent("only reports of this customer (OEM)")
    from_: str = absent("first month of the period, YYYY-MM (default: eleven months before 'to')", pattern=MONTH, alias="from")
    to: str = absent("last month of the period, YYYY-MM (default: the current month)", pattern=MONTH)
