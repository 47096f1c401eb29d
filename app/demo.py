"""Demo data: one OEM, two suppliers and a sub-supplier, a user of every role in each, three
reports at different stages and a cascade of one of them to the sub-supplier, written the way a battery-pack supplier writes them. Built through the same
services as the app, so the audit trail is real - and the gates are passed honestly: the
containment, corrective and preventive work are tracked actions verified by a second person, the
claims of proof are real (small generated) files uploaded through the evidence service, and the
story's own dates keep their order (parts back before they are analysed, four weeks of
validation that end before containment is lifted and D6 passes)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import math
import re
import struct
import zlib
from typing import Any

from flask import current_app

from app import method
from app.demo_data import (  # noqa: F401 - the demo's content, also read by tests
    CASCADE_DESCRIPTION,
    COOLANT,
    COOLANT_CONTAINMENT,
    COOLANT_HEADER,
    PEOPLE,
    PLATFORM_ADMINS,
    TORQUE,
    TORQUE_HEADER,
    WELD_CLOSED_DAYS_AGO,
    WELD_EVENTS,
    WELD_ROLES,
    WELD_SCHEDULE,
)
from app.extensions import db
from app.method import EXAMPLE_ACTION_UPDATES, EXAMPLE_ACTIONS, EXAMPLE_EVIDENCE, EXAMPLES, HEADER_EXAMPLE
from app.method.examples import action_body, replace_evidence
from app.models.base import simulated_clock, utcnow
from app.services import accounts, actions, disciplines, evidence, reports, team, workflow


def _as(email: str):
    return accounts.find_user_by_email(email)


# ---------------------------------------------------------------------------------- the calendar
# The demo lives in the present: its stories are placed relative to the day it is loaded. The
# content was written against fixed complaint dates; every ISO date in it (values and the dates
# quoted in texts) moves by the same number of days as the story's complaint date.
WELD_WRITTEN_FOR = dt.date.fromisoformat(HEADER_EXAMPLE["detected_on"])
COOLANT_WRITTEN_FOR = dt.date(2026, 11, 20)
TORQUE_WRITTEN_FOR = dt.date(2026, 11, 23)
_ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?!\d)")  # also the date of a time (2026-10-14T08:00:00Z)


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


def evidence_bytes(filename: str, description: str) -> bytes:
    """A small, real file for an example's evidence: a CSV of measurements, a text record, a
    one-page PDF or a PNG - enough to be stored, fingerprinted and opened."""
    ext = filename.rsplit(".", 1)[-1].lower()
    if ext == "csv":
        rows = ["sample;value;unit;result"] + [f"{i};{0.052 + (i % 7) * 0.004:.3f};mOhm;OK" for i in range(1, 31)]
        return ("# " + description + "\n" + "\n".join(rows) + "\n").encode()
    if ext == "png":
        return _png(96, 64, (40, 110, 170))
    if ext == "pdf":
        return _pdf(f"{filename}: {description}")
    return (f"{filename}\n\n{description}\n\nRecorded for the 8D report; signed off by the responsible engineer.\n").encode()


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _pdf(text: str) -> bytes:
    safe = text.encode("latin-1", "replace").decode("latin-1").replace("\\", "/").replace("(", "[").replace(")", "]")[:180]
    stream = f"BT /F1 11 Tf 50 780 Td ({safe}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def _upload(actor, report, placeholder: int, shift: int, action=None) -> int:
    """Upload the file a placeholder stands for - to the action it proves something of, if any
    (it joins the action's evidence for that discipline)."""
    code, name, what = EXAMPLE_EVIDENCE[placeholder]
    what = shift_dates(what, shift)
    att = evidence.upload(actor, report, io.BytesIO(evidence_bytes(name, what)), name, code, action_id=action.id if action else None, description=what)
    return att.id


def load_demo(now: dt.datetime | None = None) -> None:
    """Load the demo as of `now` (default: the present)."""
    now = now or utcnow()
    today = now.date()
    weld_detected = today - dt.timedelta(days=math.ceil(WELD_SCHEDULE["D8"][2] + 0.5) + WELD_CLOSED_DAYS_AGO)
    with simulated_clock(dt.datetime.combine(weld_detected, dt.time(7, 30))) as clock:
        _load(clock, now)


def _load(clock, now: dt.datetime) -> None:
    password = current_app.config["DEMO_PASSWORD"]
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
    _weld_story(clock, start, r1, weld, thomas, password)

    _coolant_story(clock, now, volta, celltech, companies["Elbe Industriegase GmbH"])
    _torque_story(clock, now, volta, nordpack, jana)
    db.session.commit()


def _coolant_story(clock, now: dt.datetime, volta, celltech, elbe) -> None:
    """2. A coolant leak, its containment submitted for the customer's review yesterday; D4 is due
    in a few days and a containment action at the customer is overdue."""
    today = now.date()
    jana, lukas, mia, petra = (_as(e) for e in ("jana.weber@volta.example", "lukas.brandt@celltech.example", "mia.schulz@celltech.example",
                                                 "petra.vogel@celltech.example"))
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
            disciplines.save_discipline(lukas, r2, code, r2.discipline(code).version, content[code])
        _at(clock, opened + dt.timedelta(days=advanced))
        workflow.advance(lukas, r2, None)
    verifiers = {"lukas": lukas, "jana": jana, "mia": mia}
    for i, (owner, verifier, body, verification) in enumerate(shift_dates(COOLANT_CONTAINMENT, coolant)):
        _at(clock, opened + dt.timedelta(days=0.55 + i * 0.02))
        ica = actions.create_action(lukas, r2, {**body, "owner_id": verifiers[owner].id})
        for status in ("in_progress", "implemented"):
            actions.update_action(verifiers[owner], ica, {"version": ica.version, "status": status})
        _at(clock, opened + dt.timedelta(days=0.70 + i * 0.02))
        actions.update_action(verifiers[verifier], ica, {"version": ica.version, "status": "verified", "verification": verification})
    _at(clock, opened + dt.timedelta(days=0.8))
    sorting = actions.create_action(lukas, r2, {
        "kind": "containment", "location": "customer_stock", "owner_id": jana.id, "qty_suspect": 612, "qty_checked": 408, "qty_nok": 3,
        "title": "Helium-test the 612 blocked modules at the Volta warehouse before release",
        "due_date": (detected + dt.timedelta(days=2)).isoformat(),
    })
    _at(clock, opened + dt.timedelta(days=1.1))
    actions.update_action(jana, sorting, {"version": sorting.version, "status": "in_progress"})
    _at(clock, submitted - dt.timedelta(hours=3))
    disciplines.save_discipline(lukas, r2, "D3", r2.discipline("D3").version, content["D3"])
    _at(clock, submitted)
    workflow.advance(lukas, r2, "D3 ready for your review.")
    _coolant_cascade(clock, submitted, r2, celltech, elbe, coolant)



def _torque_story(clock, now: dt.datetime, volta, nordpack, jana) -> None:
    """3. Another supplier's report, opened today and at D1: Nordpack's people only see this one."""
    today = now.date()
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
    disciplines.save_discipline(sven, r3, "D0", 0, copy.deepcopy(TORQUE["D0"]))
    _at(clock, midnight + day_so_far * 0.75)
    workflow.advance(sven, r3, "Symptom quantified, no ERA needed: kits at Volta already audited.")


def _coolant_cascade(clock, submitted: dt.datetime, r2, celltech, elbe, shift: int) -> None:
    """While Volta reviews the containment, CellTech cascades the coolant leak to its nitrogen
    supplier (the cause may sit there): Elbe's quality manager leads the child 8D, and CellTech
    has invited Elbe's shift engineer by e-mail (a pending invitation)."""
    from app.services import cascades, invitations

    lukas, katrin = _as("lukas.brandt@celltech.example"), _as("katrin.meier@elbegas.example")
    accounts.link_supplier(None, celltech, elbe)
    _at(clock, submitted + dt.timedelta(hours=2))
    child = cascades.cascade(lukas, r2, {"supplier_id": elbe.id, "title": "Nitrogen dew point out of specification at CellTech furnace F2",
                                         "discipline": "D4", "part_number": "N2-5.0-LIQ", "description": shift_dates(CASCADE_DESCRIPTION, shift)})
    team.add_member(lukas, child, katrin.id, "leader", "Quality manager")
    _at(clock, submitted + dt.timedelta(hours=3))
    invitations.invite(lukas, child, {"email": "jonas.wolf@elbegas.example", "name": "Jonas Wolf", "company_id": elbe.id, "role": "engineer"})


def _weld_timeline() -> list[tuple[float, int, Any]]:
    """The weld story's steps in time order: the disciplines' saves, submissions and decisions
    first on a day, then the actions and files of that moment."""
    timeline: list[tuple[float, int, Any]] = [(day, 1, event) for day, *event in WELD_EVENTS]
    for code, (saved, advanced, *decided) in WELD_SCHEDULE.items():
        timeline += [(saved, 0, ("save", code)), (advanced, 0, ("advance", code))]
        if decided:
            timeline.append((decided[0], 0, ("decide", code)))
    return sorted(timeline, key=lambda t: (t[0], t[1]))


def _weld_story(clock, start: dt.datetime, report, shift: int, thomas, password: str) -> None:
    """The disciplines (WELD_SCHEDULE) and the actions and files (WELD_EVENTS) in time order."""
    people = {role: _as(email) for role, email in WELD_ROLES.items()}
    lukas = people["leader"]
    files: dict[int, int] = {}
    tracked: dict[str, Any] = {}
    bodies = {a["ref"]: shift_dates(a, shift) for items in EXAMPLE_ACTIONS.values() for a in items}
    updates = {u["ref"]: shift_dates(u, shift) for items in EXAMPLE_ACTION_UPDATES.values() for u in items}
    content = shift_dates(EXAMPLES, shift)

    def refs_of(code: str) -> list[str]:
        return [a["ref"] for a in EXAMPLE_ACTIONS.get(code, [])]

    def step(ref: str, **change) -> None:
        action = tracked[ref]
        actor = change.pop("_by", None) or action.owner
        actions.update_action(actor, action, {"version": action.version, **change})

    for day, _order, (what, arg) in _weld_timeline():
        _at(clock, start + dt.timedelta(days=day))
        if what == "save" and arg in content:
            disciplines.save_discipline(lukas, report, arg, report.discipline(arg).version, replace_evidence(content[arg], files))
        elif what == "advance":
            workflow.advance(lukas, report, f"{arg} ready for your review." if len(WELD_SCHEDULE[arg]) == 3 else None)
        elif what == "decide":
            workflow.review(thomas, report, "approve", f"{arg} accepted.", password)
        elif what == "upload":
            wanted = [arg] if isinstance(arg, int) else [p for p, (code, _n, _w) in EXAMPLE_EVIDENCE.items() if code == arg]
            for placeholder in wanted:
                files[placeholder] = _upload(lukas, report, placeholder, shift)
        elif what == "create":
            for ref in refs_of(arg):
                body = bodies[ref]
                lists = {k: body[k] for k in ("evidence", "pre_verification_evidence") if k in body}
                created = tracked[ref] = actions.create_action(lukas, report, action_body({k: v for k, v in body.items() if k not in lists},
                                                                                           people[body["owner"]].id))
                if body["kind"] != "preventive":  # the pins on line M3 are photographed once they are installed
                    for placeholder in (p for ids in lists.values() for p in ids):
                        files[placeholder] = _upload(lukas, report, placeholder, shift, created)
        elif what in ("step", "start"):
            for ref in refs_of(arg):
                step(ref, status="in_progress")
                if what == "step":
                    step(ref, status="implemented")
        elif what == "implement":
            change = {k: v for k, v in updates.get(arg, {}).items() if k not in ("ref", "implementation_evidence")}
            step(arg, status="implemented", **change)
            for placeholder in updates.get(arg, {}).get("implementation_evidence", []) + bodies[arg].get("evidence", []) * (arg == "PA1"):
                files[placeholder] = _upload(lukas, report, placeholder, shift, tracked[arg])
        elif what == "verify":
            for ref in refs_of(arg):
                body = bodies[ref]
                step(ref, status="verified", verification=body["verification"], _by=people[body["verifier"]])
        elif what == "lift":
            for ref, change in updates.items():
                if "removed_at" in change:
                    step(ref, removed_at=change["removed_at"], _by=lukas)
        db.session.flush()


def _at(clock, when: dt.datetime) -> None:
    """Set the demo's clock to `when` (each report's own trail only ever moves forward)."""
    clock(seconds=(when - utcnow()).total_seconds())
