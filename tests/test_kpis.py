"""Supplier KPIs: each figure checked exactly against a hand count of reports built with known
times (relative to utcnow), scoped like everything, the same in the API, on the page, in the CSV
and in the review PDF, with a constant number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import event

from app.extensions import db as _db
from app.models import Action, ActionKind, ActionStatus, Review, utcnow
from app.services import reports as report_service
from tests.conftest import login


def _month(d: dt.datetime, shift: int = 0) -> dt.datetime:
    total = d.year * 12 + d.month - 1 + shift
    return dt.datetime(total // 12, total % 12 + 1, 1)


def _label(d: dt.datetime) -> str:
    return d.strftime("%Y-%m")


class World:
    """Reports of CellTech (S1) and Nordpack (S2) for Volta, two and one month ago; see the hand
    count in `test_every_figure_matches_the_hand_count`."""


def _report(p, supplier, creator, title, created, **cols):
    r = report_service.create_report(creator, {"title": title, "oem_id": p.oem.id, "supplier_id": supplier.id, "part_number": "BM-1"})
    _db.session.flush()
    r.created_at = created
    for k, v in cols.items():
        setattr(r, k, v)
    return r


def _review(r, stage, requested, decided, decision, kind="stage"):
    _db.session.add(Review(report_id=r.id, kind=kind, stage=stage, requested_at=requested, decided_at=decided, decision=decision))


def _action(r, owner, created, due, title, status=ActionStatus.open, verified_at=None, updated_at=None):
    n = len(_db.session.new) + _db.session.query(Action).count() + 1
    _db.session.add(Action(report_id=r.id, kind=ActionKind.corrective, title=title, owner_id=owner.id, due_date=due,
                           ref=f"PCA{n}", status=status, created_at=created, verified_at=verified_at, updated_at=updated_at or created))


@pytest.fixture
def world(parties):
    p = parties
    now = utcnow()
    base = _month(now, -2)  # first day of the month before last
    day = dt.timedelta(days=1)
    w = World()
    w.p, w.m2, w.m1, w.m0 = p, _label(base), _label(_month(now, -1)), _label(now)
    # R1: 2 days to containment (late: due the day before), 8 to root cause, 40 to close; D3 rejected once
    r1 = _report(p, p.supplier, p.oem_eng, "R1", base + day, contained_at=base + 3 * day, root_cause_at=base + 9 * day,
                 closed_at=base + 41 * day, outcome="resolved", status="closed", due={"D3": (base + 2 * day).date().isoformat()})
    # R2: 1 day (on time), 10, 30
    r2 = _report(p, p.supplier, p.oem_eng, "R2", base + 2 * day, contained_at=base + 3 * day, root_cause_at=base + 12 * day,
                 closed_at=base + 32 * day, outcome="resolved", status="closed", due={"D3": (base + 3 * day).date().isoformat()})
    # R3: a repeat failure, declined, never contained (left out of the containment rate)
    r3 = _report(p, p.supplier, p.oem_eng, "R3", base + 5 * day, closed_at=base + 10 * day, outcome="declined", status="closed",
                 repeat_failure=True, due={"D3": (base + 6 * day).date().isoformat()})
    # R4: last month, not contained, its D3 due date passed: late; 10 complained of 100,000 delivered
    start1 = _month(now, -1)
    _report(p, p.supplier, p.oem_eng, "R4", start1 + day, qty_complained=10, qty_delivered=100000,
            due={"D3": (start1 + 2 * day).date().isoformat()})
    # R5 (Nordpack): contained in 4 days, on time
    r5 = _report(p, p.other, p.oem_eng, "R5", base + 3 * day, contained_at=base + 7 * day, due={"D3": (base + 10 * day).date().isoformat()})
    _db.session.flush()
    # reviews: one day each with the customer; R1's D3 rejected first
    _review(r1, "D3", base + 2 * day, base + 3 * day - dt.timedelta(hours=12), "reject")
    _review(r1, "D3", base + 3 * day - dt.timedelta(hours=12), base + 3 * day + dt.timedelta(hours=12), "approve")
    _review(r1, "D5", base + 14 * day, base + 15 * day, "approve")
    _review(r1, "D8", base + 40 * day, base + 41 * day, "approve")
    for stage, at in (("D3", 2), ("D5", 15), ("D8", 31)):
        _review(r2, stage, base + at * day, base + (at + 1) * day, "approve")
    _review(r3, "D2", base + 8 * day, base + 10 * day, "approve", kind="decline")
    _review(r5, "D3", base + 6 * day, base + 7 * day, "approve")
    # actions: open (due later), open and overdue, verified, cancelled
    today = now.date()
    _action(r1, p.sup_eng, base + day, today + dt.timedelta(days=30), "Train the night shift")
    _action(r2, p.sup_eng, base + 2 * day, (base + 5 * day).date(), "Recalibrate the welder")
    _action(r2, p.sup_eng, base + 2 * day, (base + 5 * day).date(), "Sort stock", ActionStatus.verified, verified_at=base + 6 * day)
    _action(r2, p.sup_eng, base + day, (base + 3 * day).date(), "Call the carrier", ActionStatus.cancelled, updated_at=base + 4 * day)
    _db.session.commit()
    return w


def _by_supplier(body, name):
    return next(s for s in body["suppliers"] if s["supplier"]["name"] == name)


def _by_month(body, month):
    return next(m for m in body["months"] if m["month"] == month)


def test_every_figure_matches_the_hand_count(api, world):
    w = world
    body = api(w.p.oem_lead).get(f"/api/v1/kpis?from={w.m2}&to={w.m0}")
    assert body.status_code == 200, body.get_json()
    body = body.get_json()
    assert [m["month"] for m in body["months"]] == [w.m2, w.m1, w.m0]
    s1 = _by_supplier(body, "CellTech Modules GmbH")
    expected = {
        "reports_opened": 4, "reports_closed": 2, "reports_declined": 1,
        "containment_on_time_rate": round(1 / 3, 4),  # R2 of R1, R2, R4 (R3 declined uncontained)
        "median_days_to_containment": 1.5, "median_days_to_root_cause": 9.0, "median_days_to_close": 35.0,
        "p90_days_to_close": 39.0,  # 30 + 0.9 x (40 - 30)
        "first_pass_acceptance_rate": round(5 / 6, 4), "first_pass_by_review_point": {"D3": 0.5, "D5": 1.0, "D8": 1.0},
        "repeat_rate": 0.25, "open_actions": 2, "overdue_actions": 1, "ppm": 100.0,
        # with the customer: R1 0.5 + 1 + 1 + 1, R2 1 + 1 + 1; the team the rest: (40 - 3.5 + 30 - 3) / 2
        "days_customer_reviewing": 3.25, "days_team_working": 31.75,
    }
    assert {k: s1[k] for k in expected} == expected
    s2 = _by_supplier(body, "Nordpack Systems AB")
    assert (s2["reports_opened"], s2["containment_on_time_rate"], s2["median_days_to_containment"], s2["repeat_rate"]) == (1, 1.0, 4.0, 0.0)
    assert s2["first_pass_acceptance_rate"] == 1.0 and s2["median_days_to_close"] is None and s2["p90_days_to_close"] is None
    assert s2["open_actions"] == 0 and s2["ppm"] is None
    m2, m1, m0 = (_by_month(body, m) for m in (w.m2, w.m1, w.m0))
    assert (m2["reports_opened"], m2["reports_declined"], m2["reports_closed"]) == (4, 1, 0)
    assert m2["containment_on_time_rate"] == round(2 / 3, 4)  # R1 late, R2 and R5 on time
    assert (m1["reports_opened"], m1["reports_closed"], m1["median_days_to_close"], m1["containment_on_time_rate"]) == (1, 2, 35.0, 0.0)
    # actions open at the end of the month before last: R1's and R2's overdue one (the verified and cancelled are done)
    assert (m2["open_actions"], m2["overdue_actions"]) == (2, 1)
    assert (m0["reports_opened"], m0["containment_on_time_rate"], m0["repeat_rate"]) == (0, None, None)


def test_scoped_a_supplier_sees_its_own_figures_only(api, world, make_user):
    w = world
    own = api(w.p.sup_eng).get(f"/api/v1/kpis?from={w.m2}&to={w.m0}").get_json()
    assert [s["supplier"]["name"] for s in own["suppliers"]] == ["CellTech Modules GmbH"]
    assert _by_month(own, w.m2)["reports_opened"] == 3  # not Nordpack's R5
    other = api(w.p.other_eng).get(f"/api/v1/kpis?from={w.m2}&to={w.m0}").get_json()
    assert [s["supplier"]["name"] for s in other["suppliers"]] == ["Nordpack Systems AB"]
    # asking for another supplier's figures gives nothing, not the figures
    peek = api(w.p.other_eng).get(f"/api/v1/kpis?supplier_id={w.p.supplier.id}&from={w.m2}&to={w.m0}").get_json()
    assert peek["suppliers"] == [] and all(m["reports_opened"] == 0 for m in peek["months"])
    # a company admin sees its company's figures; the OEM filters one supplier
    admin = api(w.p.admin).get(f"/api/v1/kpis?supplier_id={w.p.other.id}&from={w.m2}&to={w.m0}").get_json()
    assert [s["supplier"]["name"] for s in admin["suppliers"]] == ["Nordpack Systems AB"]


def test_bad_periods_are_refused_with_4xx(api, world):
    a = api(world.p.oem_lead)
    year = utcnow().year
    assert a.get(f"/api/v1/kpis?from={year}-13").status_code == 400
    assert a.get("/api/v1/kpis?supplier_id=x").status_code == 400
    r = a.get(f"/api/v1/kpis?from={world.m0}&to={world.m2}")
    assert r.status_code == 422 and r.get_json()["error"] == "invalid"
    assert a.get(f"/api/v1/kpis?from={year - 10}-01&to={year}-12").status_code == 422  # over 60 months
    assert api(None).get("/api/v1/kpis").status_code == 401
    default = a.get("/api/v1/kpis").get_json()
    assert len(default["months"]) == 12 and default["period"]["last"] == world.m0


def test_page_csv_and_pdf_agree_with_the_api(app, api, world, client):
    w = world
    body = api(w.p.oem_lead).get(f"/api/v1/kpis?from={w.m2}&to={w.m0}").get_json()
    login(client, w.p.oem_lead)
    page = client.get(f"/kpis?from={w.m2}&to={w.m0}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    s1 = _by_supplier(body, "CellTech Modules GmbH")
    assert '<td class="text-end" data-figure="containment_on_time_rate">33.3%</td>' in html
    assert '<td class="text-end" data-figure="p90_days_to_close">39.0</td>' in html
    assert '<td class="text-end" data-figure="first_pass_acceptance_rate">83.3%</td>' in html
    assert html.count('role="img"') >= 4 and "<desc" in html and "What each figure counts" in html
    assert f"Period: {w.m2} to {w.m0}" in html
    rows = list(csv.DictReader(io.StringIO(client.get(f"/kpis.csv?from={w.m2}&to={w.m0}").get_data(as_text=True))))
    sup = next(r for r in rows if r["scope"] == "supplier" and r["supplier"] == "CellTech Modules GmbH")
    for key, value in s1.items():
        if key not in ("supplier", "first_pass_by_review_point"):
            assert sup[key] == ("" if value is None else str(value)), key
    month_rows = [r for r in rows if r["scope"] == "month"]
    assert [r["month"] for r in month_rows] == [w.m2, w.m1, w.m0]
    assert month_rows[0]["reports_opened"] == "4"
    pdf = client.get(f"/kpis/{w.p.supplier.id}/review.pdf?month={w.m1}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = _pdf_text(pdf.data)
    month_figs = api(w.p.oem_lead).get(f"/api/v1/kpis?supplier_id={w.p.supplier.id}&from={w.m1}&to={w.m1}").get_json()
    assert month_figs["suppliers"][0]["reports_closed"] == 2
    assert "R1" in text and "R4" in text and "Recalibrate the welder" in text  # closed in the month, open, overdue
    assert "Train the night shift" not in text and "Sort stock" not in text  # not overdue, verified
    assert "35.0" in text  # the month's median days to close
    stranger = app.test_client()
    login(stranger, w.p.other_eng)
    assert stranger.get(f"/kpis/{w.p.supplier.id}/review.pdf").status_code == 404
    assert "CellTech" not in stranger.get("/kpis").get_data(as_text=True)


def _pdf_text(data: bytes) -> str:
    pypdf = pytest.importorskip("pypdf")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_csv_is_safe_from_formulas(api, world, client, make_company):
    w = world
    evil = make_company("supplier", "=HYPERLINK(\"http://x\")")
    _report(w.p, evil, w.p.oem_eng, "R6", utcnow())
    _db.session.commit()
    login(client, w.p.oem_lead)
    body = client.get("/kpis.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body and "\n=HYPERLINK" not in body and ",=HYPERLINK" not in body


def _count(app, fn) -> int:
    n = {"q": 0}

    def before(*_a, **_k):
        n["q"] += 1

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return n["q"]


def test_a_constant_number_of_queries(app, api, world, client):
    w = world
    a = api(w.p.oem_lead)
    login(client, w.p.oem_lead)
    q = f"?from={w.m2}&to={w.m0}"
    one_api = _count(app, lambda: a.get("/api/v1/kpis" + q))
    one_page = _count(app, lambda: client.get("/kpis" + q))
    base = _month(utcnow(), -1)
    for i in range(20):
        r = _report(w.p, w.p.supplier if i % 2 else w.p.other, w.p.oem_eng, f"More {i}", base + dt.timedelta(hours=i),
                    contained_at=base + dt.timedelta(days=1, hours=i), closed_at=base + dt.timedelta(days=2), outcome="resolved")
        _db.session.flush()
        _review(r, "D3", base, base + dt.timedelta(hours=i + 1), "approve")
        _action(r, w.p.sup_eng, base, base.date(), f"Extra {i}")
    _db.session.commit()
    assert a.get("/api/v1/kpis" + q).get_json()["months"][1]["reports_opened"] == 21
    assert _count(app, lambda: a.get("/api/v1/kpis" + q)) == one_api
    assert _count(app, lambda: client.get("/kpis" + q)) == one_page
    assert one_api <= 12


def _at(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", ""))


def test_the_demo_figures_match_a_count_from_its_trail(app, db, client):
    """The demo's stories ran through the real workflow: the KPIs agree with a count made from each
    report's audit trail (GET .../events) and header, by another road than the KPI queries."""
    import statistics

    from app.demo import load_demo
    from tests.conftest import Api

    load_demo()
    db.session.commit()
    token = client.post("/api/v1/tokens", json={"email": "thomas.richter@volta.example", "password": "demo-password-8d"}).get_json()["token"]
    thomas = Api(client, token)
    reports = [thomas.get(f"/api/v1/reports/{r['id']}").get_json() for r in thomas.get("/api/v1/reports").get_json()["items"]]
    first = min(r["created_at"][:7] for r in reports)
    body = thomas.get(f"/api/v1/kpis?from={first}").get_json()
    assert body["period"]["first"] == first
    for row in body["suppliers"]:
        mine = [r for r in reports if r["supplier"]["id"] == row["supplier"]["id"]]
        contained, root_cause, closed = [], [], []
        for r in mine:
            events = thomas.get(f"/api/v1/reports/{r['id']}/events?per_page=200").get_json()["items"]
            for code, values in (("D3", contained), ("D4", root_cause)):
                done = [e["at"] for e in events if e["action"] in ("stage.advanced", "review.approved") and e["discipline"] == code]
                if done:
                    values.append((_at(done[0]) - _at(r["created_at"])).total_seconds() / 86400)
            if r["status"] == "closed" and r["outcome"] == "resolved":
                closed.append((_at(r["closed_at"]) - _at(r["created_at"])).total_seconds() / 86400)
        assert row["reports_opened"] == len(mine)
        assert row["reports_closed"] == len(closed)
        for figure, values in (("median_days_to_containment", contained), ("median_days_to_root_cause", root_cause),
                               ("median_days_to_close", closed)):
            if values:
                assert abs(row[figure] - statistics.median(values)) < 0.01, figure  # the API's times are to the second
            else:
                assert row[figure] is None, figure
    assert any(row["median_days_to_root_cause"] is not None for row in body["suppliers"]), "the demo closes a report"
