"""The KPI charts: what each one shows, in words too (the SVG's description)."""

from __future__ import annotations

from flask_babel import gettext as _

from app.web.charts import bar_chart, line_chart, pareto_chart


def _pct(v) -> str:
    return "-" if v is None else f"{v * 100:.0f}%"


def charts_for(data: dict) -> dict:
    months = data["months"]
    labels = [m["month"][2:] for m in months]
    opened = [m["reports_opened"] for m in months]
    closed = [m["reports_closed"] for m in months]
    declined = [m["reports_declined"] for m in months]
    bars_desc = _("Reports per month.") + " " + "; ".join(
        _("%(m)s: %(o)s opened, %(c)s closed, %(d)s declined", m=m["month"], o=o, c=c, d=d)
        for m, o, c, d in zip(months, opened, closed, declined, strict=True)) + "."
    on_time = [m["containment_on_time_rate"] for m in months]
    line_desc = _("Containment on time per month.") + " " + "; ".join(
        _("%(m)s: %(v)s", m=m["month"], v=_pct(v) if v is not None else _("nothing due")) for m, v in zip(months, on_time, strict=True)) + "."
    fp = [m["first_pass_acceptance_rate"] for m in months]
    fp_desc = _("First-pass acceptance per month.") + " " + "; ".join(
        _("%(m)s: %(v)s", m=m["month"], v=_pct(v) if v is not None else _("nothing decided")) for m, v in zip(months, fp, strict=True)) + "."
    items = [(s["supplier"]["name"], s["reports_opened"]) for s in data["suppliers"]]
    pareto_desc = _("Reports opened in the period by supplier, largest first:") + " " + "; ".join(
        f"{name} {n}" for name, n in sorted(items, key=lambda x: -x[1]) if n) + "."
    return {
        "bars": bar_chart(_("Reports opened, closed and declined per month"), bars_desc, labels,
                          [(_("Opened"), opened), (_("Closed"), closed), (_("Declined"), declined)]),
        "containment": line_chart(_("Containment on time per month"), line_desc, labels, on_time),
        "first_pass": line_chart(_("First-pass acceptance per month"), fp_desc, labels, fp),
        "pareto": pareto_chart(_("Pareto of reports opened by supplier"), pareto_desc, items, (_("Reports opened"), _("Cumulative share"))),
    }
