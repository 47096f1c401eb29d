"""Supplier KPIs (docs/api.md, Wave 2 "KPIs")."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.api import bp
from app.api.spec import operation
from app.api.util import respond
from app.schemas.kpis import KpiFilter, Kpis
from app.services import kpis


def kpis_from_args(user, args) -> dict:
    """The figures for ?supplier_id=&oem_id=&from=&to= (bad values: 400; from after to: 422)."""
    period = kpis.parse_period(args.get("from"), args.get("to"))
    return kpis.compute(user, period, kpis.parse_id("supplier_id", args.get("supplier_id")), kpis.parse_id("oem_id", args.get("oem_id")))


@operation("Supplier KPIs per supplier and per month of a period", "kpis", response=Kpis, query=(KpiFilter,), errors=(422,),
           description="Scoped like every list: a supplier sees its own figures, a customer those of its suppliers. Rates are in "
           "0..1 and null when there is nothing to count. The definitions are shown on the /kpis page.")
@bp.route("/kpis", methods=["GET"])
def get_kpis():
    return respond(Kpis.model_validate(kpis_from_args(current_user, request.args)))
