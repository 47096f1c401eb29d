"""Demo data: one OEM, two suppliers, a user of every role in each, and three reports at
different stages, written the way a battery-pack supplier writes them. Built through the same
services as the app, so the audit trail is real."""

from __future__ import annotations

import copy
import datetime as dt
import math
import re
from typing import Any

from flask import current_app

from app import method
from app.extensions import db
from app.method import EXAMPLES, HEADER_EXAMPLE
from app.models.base import simulated_clock, utcnow
from app.services import accounts, actions, reports, team, workflow

PEOPLE = {
    "Volta Motors AG": ("oem", [
        ("admin@volta.example", "Clara Hoffmann", "admin"),
        ("thomas.richter@volta.example", "Thomas Richter", "quality_lead"),
        ("jana.weber@volta.example", "Jana Weber", "engineer"),
        ("erik.lang@volta.example", "Erik Lang", "viewer"),
    ]),
    "CellTech Modules GmbH": ("supplier", [
        ("admin@celltech.example", "Jonas Keller", "admin"),
        ("petra.vogel@celltech.example", "Petra Vogel", "quality_lead"),
        ("lukas.brandt@celltech.example", "Lukas Brandt", "engineer"),
        ("mia.schulz@celltech.example", "Mia Schulz", "engineer"),
        ("tim.berger@celltech.example", "Tim Berger", "viewer"),
    ]),
    "Nordpack Systems AB": ("supplier", [
        ("admin@nordpack.example", "Ingrid Berg", "admin"),
        ("karin.lund@nordpack.example", "Karin Lund", "quality_lead"),
        ("sven.lind@nordpack.example", "Sven Lind", "engineer"),
        ("ola.nilsson@nordpack.example", "Ola Nilsson", "viewer"),
    ]),
    # The operator of the platform: not a party to any report, so it sees none.
    "8D Workbench Operations": ("supplier", [
        ("operator@8d-workbench.example", "Platform operator", "admin"),
    ]),
}
#: Platform administrators (companies, any account; no report content). The others are company admins.
PLATFORM_ADMINS = {"operator@8d-workbench.example"}

COOLANT_HEADER = {
    "title": "Coolant leak at brazed inlet of cooling plate, module BM-16S",
    "complaint_ref": "VM-QN-2026-11204",
    "oem_plant": "Volta Motors pack plant Zwickau",
    "supplier_plant": "CellTech Modules Dresden, line M3",
    "part_number": "BM-16S-5520",
    "part_name": "48 V battery module, 16 cells, with integrated cooling plate",
    "lots": [{"lot_or_serial": "2611-11", "qty": 960}],
    "detected_on": "2026-11-20",
    "detected_at": "end_of_line",
    "complaint_type": "safety",
    "severity": "critical",
    "qty_complained": 4,
    "qty_delivered": 960,
    "qty_returned": 4,
    "repeat_failure": False,
}
COOLANT = {
    "D0": {
        "symptom": "4 of 960 modules BM-16S from lot 2611-11 (4,167 ppm) failed the pack helium leak test at Zwickau: leak rate 3.1-5.4 x 10^-3 mbar l/s at the coolant inlet, limit 1 x 10^-4.",
        "era_needed": True,
        "era": [{"action": "Block lot 2611-11 at Volta and stop shipments from line M3", "where": "Volta warehouse, CellTech shipping", "owner": "Jana Weber", "date": "2026-11-20", "effective_pct": 100, "verification": "SAP block of 612 modules confirmed"}],
        "full_8d_justified": True,
        "justification": "Coolant leaking into a battery pack is a safety risk (short circuit, thermal event); root cause unknown.",
    },
    "D2": {
        "problem_statement": "4 of 960 modules BM-16S of lot 2611-11 (4,167 ppm) leak at the brazed coolant inlet pipe: 3.1-5.4 x 10^-3 mbar l/s against a limit of 1 x 10^-4 mbar l/s in the OEM helium test.",
        "w5h2": [
            {"question": "who", "answer": "Found by the Volta helium leak test, pack line 1; brazed at CellTech furnace F2."},
            {"question": "what", "answer": "Leak at the brazed joint between inlet pipe and cooling plate, porosity visible in CT scan."},
            {"question": "where", "answer": "Inlet pipe only, never the outlet; furnace F2 only."},
            {"question": "when", "answer": "Brazed on 2026-11-12, night shift, after a nitrogen supply change."},
            {"question": "why", "answer": "Coolant in the pack can cause insulation faults and a thermal event."},
            {"question": "how", "answer": "Helium sniffing at pack level, confirmed by CT scan at CellTech."},
            {"question": "how_many", "answer": "4 leaking of 960 delivered; 612 suspect at Volta, 348 at CellTech."},
        ],
        "is_is_not": [
            {"dimension": "what", "is": "Inlet pipe brazed joint", "is_not": "Outlet joint, plate seams", "distinction": "Inlet joint has the larger gap"},
            {"dimension": "where", "is": "Furnace F2", "is_not": "Furnace F1", "distinction": "F2 received a new nitrogen supply"},
            {"dimension": "when", "is": "2026-11-12 night shift", "is_not": "Before or after that shift", "distinction": "Dew point alarm at 02:10"},
            {"dimension": "how_much", "is": "4 parts, one joint each", "is_not": "Not all parts of the shift", "distinction": "Parts at the furnace entry side"},
        ],
        "customer_description": "Pack line 1 found 4 packs with helium leak at the module coolant inlet; packs reworked, modules returned.",
        "supplier_description": "CT scan of the 4 returned modules shows porosity over 40 % of the inlet braze joint length.",
        "preliminary_risk": "High: coolant leakage inside a pack can cause insulation faults. Containment at every location within 24 hours.",
    },
    "D3": {
        "containment": [
            {"ref": "ICA1", "location": "supplier_wip", "action": "Helium leak test of every module brazed on F2 before assembly", "owner": "Mia Schulz", "introduced_on": "2026-11-20", "effective_from": "2026-11-21", "verification": "Test detects all 4 returned leakers", "status": "verified"},
            {"ref": "ICA2", "location": "supplier_stock", "action": "Sort finished modules of lot 2611-11 with helium test", "owner": "Mia Schulz", "introduced_on": "2026-11-20", "effective_from": "2026-11-21", "verification": "Sorting record reviewed by OEM resident", "status": "verified"},
            {"ref": "ICA3", "location": "customer_stock", "action": "Resident team helium-tests blocked modules before release", "owner": "Jana Weber", "introduced_on": "2026-11-21", "effective_from": "2026-11-21", "verification": "Daily sheets countersigned by Volta logistics", "status": "in_progress"},
        ],
        "ledger": [
            {"location": "supplier_wip", "suspect": 120, "checked": 120, "nok": 1, "ok": 119, "disposition": "scrap"},
            {"location": "supplier_stock", "suspect": 228, "checked": 228, "nok": 2, "ok": 226, "disposition": "scrap"},
            {"location": "in_transit", "suspect": 0, "checked": 0, "nok": 0, "ok": 0},
            {"location": "customer_stock", "suspect": 612, "checked": 408, "nok": 3, "ok": 405, "disposition": "return"},
        ],
        "clean_point": "Lot 2611-12, first lot brazed after the nitrogen dew point monitor was installed",
        "certified_marking": "Blue dot on module label plus 'HE-OK' stamp on the box until D6 is closed.",
    },
}

TORQUE_HEADER = {
    "title": "HV busbar screws below torque on pack PK-400, loose connection",
    "complaint_ref": "VM-QN-2026-11311",
    "oem_plant": "Volta Motors pack plant Zwickau",
    "supplier_plant": "Nordpack Systems Västerås",
    "part_number": "PK-400-HVB",
    "part_name": "HV busbar kit for pack PK-400",
    "detected_on": "2026-11-23",
    "detected_at": "line",
    "complaint_type": "safety",
    "severity": "major",
    "qty_complained": 12,
    "qty_delivered": 2400,
    "repeat_failure": True,
    "related_report": "8D-2025-0117",
}
TORQUE = {
    "D0": {
        "symptom": "12 of 2,400 busbar kits (5,000 ppm) had M6 screws pre-assembled at 4-6 Nm instead of 9 Nm +/- 1; found by the Volta torque audit.",
        "era_needed": False,
        "full_8d_justified": True,
        "justification": "Repeat failure of 8D-2025-0117 on a high-voltage connection: full 8D required.",
    },
}


def _as(email: str):
    return accounts.find_user_by_email(email)


# ---------------------------------------------------------------------------------- the calendar
# The demo lives in the present: its stories are placed relative to the day it is loaded. The
# content was written against fixed complaint dates; every ISO date in it (values and the dates
# quoted in texts) moves by the same number of days as the story's complaint date.
WELD_WRITTEN_FOR = dt.date.fromisoformat(HEADER_EXAMPLE["detected_on"])
COOLANT_WRITTEN_FOR = dt.date(2026, 11, 20)
TORQUE_WRITTEN_FOR = dt.date(2026, 11, 23)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")


def shift_dates(value: Any, days: int) -> Any:
    """A deep copy of `value` with every ISO date (YYYY-MM-DD) in its strings moved by `days`."""
    if isinstance(value, dict):
        return {k: shift_dates(v, days) for k, v in value.items()}
    if isinstance(value, list):
        return [shift_dates(v, days) for v in value]
    if isinstance(value, str):
        def move(m: re.Match) -> str:
            try:
                return (dt.date(int(m[1]), int(m[2]), int(m[3])) + dt.timedelta(days=days)).isoformat()
            except ValueError:  # not a date after all
                return m[0]
        return _ISO_DATE.sub(move, value)
    return copy.deepcopy(value)


# The closed story: days after its complaint (07:30 on the day of detection) when each discipline
# was saved, advanced (submitted at a review point) and - at a review point - decided by the
# customer. The content's own dates fit in: parts back on day 2, causes verified on days 4-5,
# validation from day 18 to day 46, containment removed on days 47-48, D6 passed after that.
WELD_SCHEDULE = {
    "D0": (0.10, 0.15), "D1": (0.20, 0.25), "D2": (0.50, 0.60), "D3": (0.90, 1.00, 1.40),
    "D4": (5.20, 5.50), "D5": (8.50, 9.00, 10.50), "D6": (48.30, 48.60), "D7": (49.50, 50.00),
    "D8": (50.50, 51.00, 53.50),
}
WELD_CLOSED_DAYS_AGO = 4  # closed a few days before the demo is loaded


def load_demo(now: dt.datetime | None = None) -> None:
    """Load the demo as of `now` (default: the present)."""
    now = now or utcnow()
    today = now.date()
    weld_detected = today - dt.timedelta(days=math.ceil(WELD_SCHEDULE["D8"][2] + 0.5) + WELD_CLOSED_DAYS_AGO)
    with simulated_clock(dt.datetime.combine(weld_detected, dt.time(7, 30))) as clock:
        _load(clock, now)


def _load(clock, now: dt.datetime) -> None:
    password = current_app.config["DEMO_PASSWORD"]
    today = now.date()
    companies = {}
    for name, (kind, people) in PEOPLE.items():
        company = accounts.create_company(None, name, kind)
        companies[name] = company
        for email, person, role in people:
            accounts.create_user(None, email, person, company.id, role, password, platform_admin=email in PLATFORM_ADMINS)
    db.session.flush()
    volta, celltech, nordpack, *_operator = (companies[n] for n in PEOPLE)
    jana, lukas, mia, petra, thomas = (_as(e) for e in (
        "jana.weber@volta.example", "lukas.brandt@celltech.example", "mia.schulz@celltech.example",
        "petra.vogel@celltech.example", "thomas.richter@volta.example"))

    # 1. The cell-tab weld story, walked from D0 to the customer's signed closure a few days ago.
    start = utcnow()
    weld = (start.date() - WELD_WRITTEN_FOR).days
    r1 = reports.create_report(jana, {**shift_dates(HEADER_EXAMPLE, weld), "oem_id": volta.id, "supplier_id": celltech.id})
    team.add_member(jana, r1, lukas.id, "leader", "Supplier quality engineer")
    team.change_member(jana, r1, jana.id, {"role": "member", "function": "Customer SQE"})
    team.add_member(lukas, r1, petra.id, "champion", "Quality manager")
    team.add_member(lukas, r1, mia.id, "member", "Process engineering, laser welding")
    content = shift_dates(EXAMPLES, weld)
    for code, (saved, advanced, *decided) in WELD_SCHEDULE.items():
        _at(clock, start + dt.timedelta(days=saved))
        if code in content:
            reports.save_discipline(lukas, r1, code, r1.discipline(code).version, content[code])
        _at(clock, start + dt.timedelta(days=advanced))
        workflow.advance(lukas, r1, f"{code} ready for your review." if decided else None)
        if decided:
            _at(clock, start + dt.timedelta(days=decided[0]))
            workflow.review(thomas, r1, "approve", f"{code} accepted.", password)
        db.session.flush()

    # 2. A coolant leak, its containment submitted for the customer's review yesterday; D4 is due
    #    in a few days and a containment action at the customer is overdue.
    d4_days = method.due_days().get("D4") or 7
    detected = today - dt.timedelta(days=max(3, d4_days - 3))
    opened = dt.datetime.combine(detected, dt.time(9, 0))
    submitted = now - dt.timedelta(days=1)
    coolant = (detected - COOLANT_WRITTEN_FOR).days
    _at(clock, opened)
    r2 = reports.create_report(lukas, {**shift_dates(COOLANT_HEADER, coolant), "oem_id": volta.id, "supplier_id": celltech.id})
    team.change_member(lukas, r2, lukas.id, {"role": "leader"})
    team.add_member(lukas, r2, petra.id, "champion", "Quality manager")
    team.add_member(lukas, r2, mia.id, "member", "Brazing process")
    team.add_member(lukas, r2, jana.id, "member", "Customer SQE")
    content = shift_dates(COOLANT, coolant)
    for code, (saved, advanced) in {"D0": (0.05, 0.10), "D1": (0.15, 0.20), "D2": (0.40, 0.50)}.items():
        _at(clock, opened + dt.timedelta(days=saved))
        if code in content:
            reports.save_discipline(lukas, r2, code, r2.discipline(code).version, content[code])
        _at(clock, opened + dt.timedelta(days=advanced))
        workflow.advance(lukas, r2, None)
    _at(clock, opened + dt.timedelta(days=0.8))
    sorting = actions.create_action(lukas, r2, {
        "kind": "containment", "location": "customer_stock", "owner_id": jana.id,
        "title": "Helium-test the 612 blocked modules at the Volta warehouse before release",
        "due_date": (detected + dt.timedelta(days=2)).isoformat(),
    })
    _at(clock, opened + dt.timedelta(days=1.1))
    actions.update_action(jana, sorting, {"version": sorting.version, "status": "in_progress"})
    _at(clock, submitted - dt.timedelta(hours=3))
    reports.save_discipline(lukas, r2, "D3", r2.discipline("D3").version, content["D3"])
    _at(clock, submitted)
    workflow.advance(lukas, r2, "D3 ready for your review.")

    # 3. Another supplier's report, opened today and at D1: Nordpack's people only see this one.
    midnight = dt.datetime.combine(today, dt.time())
    day_so_far = now - midnight
    sven, karin = _as("sven.lind@nordpack.example"), _as("karin.lund@nordpack.example")
    _at(clock, midnight + day_so_far * 0.25)
    r3 = reports.create_report(jana, {**shift_dates(TORQUE_HEADER, (today - dt.timedelta(days=1) - TORQUE_WRITTEN_FOR).days),
                                      "oem_id": volta.id, "supplier_id": nordpack.id})
    team.add_member(jana, r3, sven.id, "leader", "Quality engineer")
    team.change_member(jana, r3, jana.id, {"role": "member", "function": "Customer SQE"})
    team.add_member(sven, r3, karin.id, "champion", "Quality manager")
    _at(clock, midnight + day_so_far * 0.5)
    reports.save_discipline(sven, r3, "D0", 0, copy.deepcopy(TORQUE["D0"]))
    _at(clock, midnight + day_so_far * 0.75)
    workflow.advance(sven, r3, "Symptom quantified, no ERA needed: kits at Volta already audited.")
    db.session.commit()


def _at(clock, when: dt.datetime) -> None:
    """Set the demo's clock to `when` (each report's own trail only ever moves forward)."""
    clock(seconds=(when - utcnow()).total_seconds())
