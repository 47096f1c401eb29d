"""The pictures quality engineers draw, made from the report's data: the D4 Ishikawa (6M) table as
a fishbone, the 5-Why chains as a tree per cause, the D3 ledger as a Pareto of NOK parts by
location. SVG with a <title> and a <desc> that says the same in words (the text alternative);
the tables they are drawn from stay on the page as well."""

from __future__ import annotations

from collections import defaultdict

from flask_babel import gettext as _
from markupsafe import Markup, escape

from app.method.definition import D4, LOCATIONS
from app.web.charts import _frame, pareto_chart


def _choice_labels(discipline, table: str, column: str) -> dict[str, str]:
    field = next(f for f in discipline.fields if f.name == table)
    col = next(c for c in field.columns if c.name == column)
    return {c.value: str(c.label) for c in col.choices}


def _short(text: str, n: int = 42) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= n else text[: n - 1] + "…"


def fishbone(rows: list[dict] | None, effect: str = "") -> Markup | None:
    """Six bones (3 above, 3 below the spine) with the candidate causes along them; confirmed
    causes bold, ruled-out ones grey and marked."""
    rows = [r for r in rows or [] if isinstance(r, dict) and r.get("category")]
    if not rows:
        return None
    labels = _choice_labels(D4, "ishikawa", "category")
    status = _choice_labels(D4, "ishikawa", "status")
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_cat[r["category"]].append(r)
    cats = list(labels)
    per_bone = max(len(v) for v in by_cat.values())
    bone_h = 40 + 14 * per_bone
    width, height = 760, 2 * bone_h + 40
    spine_y = height / 2
    body = [f'<line x1="20" y1="{spine_y}" x2="{width - 150}" y2="{spine_y}" stroke="#333" stroke-width="3"/>',
            f'<rect x="{width - 145}" y="{spine_y - 24}" width="140" height="48" fill="#fff" stroke="#333"/>',
            f'<text x="{width - 75}" y="{spine_y + 4}" text-anchor="middle" font-weight="bold">{escape(_short(effect or _("Effect"), 22))}</text>']
    words = []
    for i, cat in enumerate(cats):
        top = i < 3
        x = 60 + (i % 3) * 190
        y_end = spine_y - bone_h + 10 if top else spine_y + bone_h - 10
        body.append(f'<line x1="{x}" y1="{y_end}" x2="{x + 60}" y2="{spine_y}" stroke="#555" stroke-width="2"/>')
        body.append(f'<text x="{x}" y="{y_end - 4 if top else y_end + 14}" font-weight="bold" fill="#0b5394">{escape(labels[cat])}</text>')
        items = by_cat.get(cat, [])
        for j, r in enumerate(items):
            ty = (y_end + 16 + j * 14) if top else (y_end - 10 - (len(items) - 1 - j) * 14)
            st = r.get("status") or "open"
            style = ' font-weight="bold"' if st == "confirmed" else (' fill="#595959" text-decoration="line-through"' if st == "ruled_out" else "")
            mark = f" ({status.get(st, st)})" if st != "open" else ""
            body.append(f'<text x="{x + 8}" y="{ty}"{style}>{escape(_short(r.get("candidate")) + mark)}</text>')
        if items:
            words.append(f"{labels[cat]}: " + "; ".join(f"{r.get('candidate')} ({status.get(r.get('status') or 'open', 'open')})" for r in items))
    desc = _("Fishbone (Ishikawa, 6M) of the candidate causes of %(effect)s.", effect=effect or _("the problem")) + " " + ". ".join(words) + "."
    return _frame(_("Ishikawa diagram (6M)"), desc, body, width, height)


def why_tree(five_why: list[dict] | None, causes: list[dict] | None) -> Markup | None:
    """One column per cause: the cause at the top, its whys below in order, each answer leading to the next."""
    chains: dict[str, list[dict]] = defaultdict(list)
    for r in five_why or []:
        if isinstance(r, dict) and r.get("cause"):
            chains[str(r["cause"])].append(r)
    if not chains:
        return None
    statements = {str(c.get("ref")): c.get("statement") or "" for c in causes or [] if isinstance(c, dict)}
    col_w, box_h, gap = 250, 46, 18
    depth = max(len(v) for v in chains.values())
    width, height = max(col_w * len(chains) + 20, 300), 20 + (depth + 1) * (box_h + gap)
    body, words = [], []
    for i, (ref, rows) in enumerate(sorted(chains.items())):
        rows.sort(key=lambda r: r.get("level") if isinstance(r.get("level"), int | float) else 0)
        x = 10 + i * col_w
        body.append(f'<rect x="{x}" y="10" width="{col_w - 20}" height="{box_h}" rx="6" fill="#e8f0fa" stroke="#0b5394"/>'
                    f'<text x="{x + 8}" y="28" font-weight="bold">{escape(ref)}</text>'
                    f'<text x="{x + 8}" y="44">{escape(_short(statements.get(ref, ""), 36))}</text>')
        parts = []
        for j, r in enumerate(rows):
            y = 10 + (j + 1) * (box_h + gap)
            body.append(f'<line x1="{x + col_w / 2 - 10}" y1="{y - gap}" x2="{x + col_w / 2 - 10}" y2="{y}" stroke="#555"/>'
                        f'<rect x="{x}" y="{y}" width="{col_w - 20}" height="{box_h}" rx="4" fill="#fff" stroke="#555"/>'
                        f'<text x="{x + 8}" y="{y + 18}">{escape(_short(_("Why %(n)s: %(q)s", n=r.get("level"), q=r.get("why")), 36))}</text>'
                        f'<text x="{x + 8}" y="{y + 36}" fill="#333">{escape(_short("→ " + str(r.get("answer") or ""), 36))}</text>')
            parts.append(_("why %(n)s: %(q)s - because %(a)s", n=r.get("level"), q=r.get("why"), a=r.get("answer")))
        words.append(f"{ref} ({statements.get(ref, '')}): " + "; ".join(parts))
    desc = _("5-Why chains, one per cause.") + " " + ". ".join(words) + "."
    return _frame(_("5-Why tree"), desc, body, width, height)


def nok_by_location(ledger: list[dict] | None) -> tuple[Markup, list[tuple[str, float, float]]] | None:
    """Pareto of the NOK parts found per containment location; with its rows for the table."""
    labels = {c.value: str(c.label) for c in LOCATIONS}
    totals: dict[str, float] = defaultdict(float)
    for r in ledger or []:
        if isinstance(r, dict) and isinstance(r.get("nok"), int | float) and not isinstance(r.get("nok"), bool):
            totals[labels.get(r.get("location"), str(r.get("location") or "?"))] += r["nok"]
    from app.web.charts import pareto_items

    rows = pareto_items(list(totals.items()))
    if not rows:
        return None
    desc = _("NOK parts found by containment location, largest first:") + " " + "; ".join(
        _("%(loc)s %(n)s (cumulative %(p)s%%)", loc=loc, n=f"{v:g}", p=round(share * 100)) for loc, v, share in rows) + "."
    chart = pareto_chart(_("Pareto of NOK parts by location"), desc, list(totals.items()), (_("NOK parts"), _("Cumulative share")))
    return chart, rows


def report_pictures(report) -> dict:
    """The pictures of one report (None where its data is empty), for the page and the PDF."""
    d3 = next((d.values for d in report.disciplines if d.code == "D3"), {}) or {}
    d4 = next((d.values for d in report.disciplines if d.code == "D4"), {}) or {}
    return {"fishbone": fishbone(d4.get("ishikawa"), report.title), "whys": why_tree(d4.get("five_why"), d4.get("causes")),
            "nok": nok_by_location(d3.get("ledger"))}
