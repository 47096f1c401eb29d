"""Completion rules ("gates") and automatic quality checks of the 8D method.

`check_discipline(ctx, code)` returns findings: `block` findings stop the team from advancing past
the discipline (they are the `details.missing` of a 409 gate_not_met); `warn` findings are shown
but do not stop anyone. The rules are those a strict reviewer applies (docs/method.md, "Gates" and
"Wave 2: integrity"): what the report claims must be checkable - claimed facts are not dated in
the future and keep their order, claims of proof reference live files of the report, and the
containment, corrective and preventive work is read from the tracked actions (the one record).

Every message names the discipline and the field as the user sees it (its label).
"""

from __future__ import annotations

from collections.abc import Callable

from flask_babel import gettext as _

from app.method.checks import (
    BLOCK,
    MIN_REASON,
    OPERATOR_ERROR,
    WARN,
    Finding,
    GateContext,
    _cascaded,
    _cl,
    _files,
    _fl,
    _location_label,
    _name,
    _not_future,
    _num,
    _real_reason,
    _required,
    _required_field,
    _short_texts,
    _verified,
    has_quantity,
)
from app.method.definition import BY_CODE, HEADER_FIELDS, MANDATORY_LOCATIONS
from app.method.fields import is_blank, parse_date
from app.method.rules_fix import read_across_to_track, rules_d5, rules_d6, rules_d7, rules_d8


# ------------------------------------------------------------------------------------- header / D0
def rules_d0(ctx: GateContext, out: list[Finding]) -> None:
    header = _("Header")
    for f in HEADER_FIELDS:
        _required_field(header, f, ctx.header.get(f.name), out)
    _not_future(ctx, header, f"\"{_fl('Header', 'detected_on')}\"", parse_date(ctx.header.get("detected_on")), out)
    if ctx.header.get("repeat_failure") is True:
        related = ctx.header.get("related_report_id")
        if not related:
            out.append(Finding(BLOCK, _("Header: a repeat failure must name the earlier report in \"%(f)s\".", f=_fl("Header", "related_report_id"))))
        elif not (ctx.related_report and ctx.related_report.get("same_parties")):
            out.append(Finding(BLOCK, _("Header: \"%(f)s\" must be a report of the same customer and supplier.", f=_fl("Header", "related_report_id"))))
    v = ctx.get("D0")
    _required("D0", v, out)
    if v.get("era_needed") is True and not v.get("era"):
        out.append(Finding(BLOCK, _("D0: an emergency response is needed - list the emergency response actions.")))
    if ctx.header.get("complaint_type") == "safety" and v.get("era_needed") is False:
        reason = v.get("no_era_reason")
        if not _real_reason(reason):
            out.append(Finding(BLOCK, _("D0: a safety complaint without an emergency response needs \"%(f)s\" (a reason of at least %(n)s characters).",
                                        f=_fl("D0", "no_era_reason"), n=MIN_REASON)))
        else:
            out.append(Finding(WARN, _("D0: safety complaint without an emergency response - the team's reason: \"%(r)s\". Check that the customer is protected.",
                                       r=reason.strip()[:300])))
    qc, qd = ctx.header.get("qty_complained"), ctx.header.get("qty_delivered")
    if isinstance(qc, (int, float)) and isinstance(qd, (int, float)) and qc > qd:
        out.append(Finding(BLOCK, _("Header: the quantity complained cannot exceed the quantity delivered.")))


# ------------------------------------------------------------------------------------------- D1
def rules_d1(ctx: GateContext, out: list[Finding]) -> None:
    _required("D1", ctx.get("D1"), out)
    champions = [m for m in ctx.team if m["role"] == "champion"]
    leaders = [m for m in ctx.team if m["role"] == "leader"]
    if len(champions) != 1:
        out.append(Finding(BLOCK, _("D1: the team needs exactly one champion (now %(n)s).", n=len(champions))))
    if len(leaders) != 1:
        out.append(Finding(BLOCK, _("D1: the team needs exactly one team leader (now %(n)s).", n=len(leaders))))
    working = [m for m in ctx.team if m["role"] in ("champion", "leader", "member")]
    for kind, name in (("oem", _("the customer (OEM)")), ("supplier", _("the supplier"))):
        if not any(m["company_kind"] == kind and m["role"] in ("leader", "member") for m in working):
            out.append(Finding(BLOCK, _("D1: the team needs at least one member from %(c)s.", c=name)))
    if any(not m.get("email") for m in ctx.team):
        out.append(Finding(BLOCK, _("D1: every team member needs an e-mail address.")))
    if len(working) > 10:
        out.append(Finding(WARN, _("D1: more than ten people - is the team still workable?")))


# ------------------------------------------------------------------------------------------- D2
def rules_d2(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D2")
    _required("D2", v, out)
    ps = v.get("problem_statement") or ""
    if ps and not has_quantity(ps):
        out.append(Finding(BLOCK, _("D2: \"%(f)s\" must state a quantity (how many, how much, ppm) - digits in a part number or a station do not count.",
                                    f=_fl("D2", "problem_statement"))))
    rows = v.get("is_is_not") or []
    for dim, label in (("what", _("What")), ("where", _("Where")), ("when", _("When")), ("how_much", _("How much"))):
        if not any(r.get("dimension") == dim and not is_blank(r.get("is")) and not is_blank(r.get("is_not")) for r in rows):
            out.append(Finding(BLOCK, _("D2: Is / Is-Not needs both sides for \"%(dim)s\".", dim=label)))
    asked = {r.get("question") for r in v.get("w5h2") or [] if not is_blank(r.get("answer"))}
    question = BY_CODE["D2"].field("w5h2").column("question")
    missing = [question.choice_label(q) for q in ("who", "what", "where", "when", "why", "how", "how_many") if q not in asked]
    if missing:
        out.append(Finding(BLOCK, _("D2: 5W2H is not answered for: %(q)s", q=" ".join(missing))))
    qc, qd = ctx.header.get("qty_complained"), ctx.header.get("qty_delivered")
    if isinstance(qc, (int, float)) and isinstance(qd, (int, float)) and qc > qd:
        out.append(Finding(BLOCK, _("D2: the quantity complained cannot exceed the quantity delivered.")))
    _short_texts("D2", v, out)


# ------------------------------------------------------------------------------------------- D3
def rules_d3(ctx: GateContext, out: list[Finding]) -> None:
    """Effective containment at every location with suspect parts (and at the four mandatory
    ones): a containment action there, verified by someone other than its owner - or a ledger
    row saying 0 suspect parts. The containment actions are the tracked actions (one record)."""
    v = ctx.get("D3")
    _required("D3", v, out)
    ledger = v.get("ledger") or []
    tracked = ctx.tracked("containment")
    if not tracked:
        out.append(Finding(BLOCK, _("D3: add the containment actions (tracked containment actions, one per location).")))
    suspect_at: dict[str, float] = {}
    for r in ledger:
        if r.get("location"):
            suspect_at[r["location"]] = suspect_at.get(r["location"], 0) + _num(r.get("suspect"))
    ledger_at = {r.get("location") for r in ledger}
    locations = list(MANDATORY_LOCATIONS) + [loc for loc in suspect_at if loc not in MANDATORY_LOCATIONS]
    locations += [a["location"] for a in tracked if a.get("location") and a["location"] not in locations]
    for loc in locations:
        here = [a for a in tracked if a.get("location") == loc]
        zero_suspect = loc in ledger_at and suspect_at.get(loc, 0) == 0
        if zero_suspect and not here:
            continue
        if not here:
            out.append(Finding(BLOCK, _("D3: no containment at \"%(loc)s\" - add a containment action there or a ledger row with 0 suspect parts.",
                                        loc=_location_label(loc))))
        elif not any(_verified(a) for a in here):
            out.append(Finding(BLOCK, _("D3: the containment at \"%(loc)s\" is not verified as effective yet (%(a)s) - someone other than its owner verifies it.",
                                        loc=_location_label(loc), a=", ".join(_name(a) for a in here))))
        if here and loc not in ledger_at:
            out.append(Finding(WARN, _("D3: the ledger has no row for \"%(loc)s\" - how many parts are suspect there?", loc=_location_label(loc))))
    for a in tracked:
        if not a.get("location"):
            out.append(Finding(BLOCK, _("D3: containment action %(a)s needs its \"Location\".", a=_name(a))))
        if _verified(a):
            _not_future(ctx, "D3", _("\"Effective from\" of %(a)s", a=_name(a)), a.get("effective_from"), out)
        if a.get("effective_pct") is not None and a["effective_pct"] < 100:
            out.append(Finding(WARN, _("D3: containment action %(a)s is only %(p)s %% effective - what catches the rest?", a=_name(a), p=a["effective_pct"])))
    disposition = _cl("D3", "ledger", "disposition")
    for i, r in enumerate(ledger, start=1):
        suspect, checked, nok = r.get("suspect"), r.get("checked"), r.get("nok")
        if None in (suspect, checked, nok):
            continue
        ok = r.get("ok")
        if ok is None:
            out.append(Finding(BLOCK, _("D3: ledger row %(n)s needs the OK quantity.", n=i)))
        elif _num(ok) + _num(nok) != _num(checked):
            out.append(Finding(BLOCK, _("D3: ledger row %(n)s does not balance: OK + NOK must equal checked.", n=i)))
        if _num(checked) > _num(suspect):
            out.append(Finding(BLOCK, _("D3: ledger row %(n)s checked more parts than were suspect.", n=i)))
        if _num(nok) > 0 and is_blank(r.get("disposition")):
            out.append(Finding(BLOCK, _("D3: ledger row %(n)s has NOK parts without a \"%(f)s\".", n=i, f=disposition)))
        unchecked = _num(suspect) - _num(checked)
        if unchecked > 0:
            out.append(Finding(WARN, _("D3: ledger row %(n)s (%(loc)s): %(u)s of %(s)s suspect parts are not checked yet.",
                                       n=i, loc=_location_label(r.get("location")), u=f"{unchecked:g}", s=f"{_num(suspect):g}")))
            held = r.get("unchecked_disposition") or (r.get("disposition") if r.get("disposition") in ("blocked", "quarantined", "hold") else None)
            if not held:
                out.append(Finding(BLOCK, _("D3: ledger row %(n)s has unchecked suspect parts without a disposition - record them as blocked or quarantined (\"%(f)s\").",
                                            n=i, f=_cl("D3", "ledger", "unchecked_disposition"))))
    _short_texts("D3", v, out)


# ------------------------------------------------------------------------------------------- D4
def rules_d4(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D4")
    _required("D4", v, out)
    causes = v.get("causes") or []
    passed = [c for c in causes if c.get("conclusion") == "passed"]
    for kind, label in (("occurrence", _("occurrence")), ("non_detection", _("non-detection (escape)"))):
        if not any(c.get("kind") == kind for c in passed):
            out.append(Finding(BLOCK, _("D4: at least one verified %(kind)s root cause is required.", kind=label)))
    # Causes are verified on the returned parts: after they came back (or after detection when
    # nothing was returned), and not in the future.
    returned = parse_date(ctx.header.get("part_return_date"))
    detected = parse_date(ctx.header.get("detected_on"))
    parts_back = _num(ctx.header.get("qty_returned")) > 0
    verified_on, verified_by, evidence = _cl("D4", "causes", "verified_on"), _cl("D4", "causes", "verified_by"), _cl("D4", "causes", "evidence")
    for c in passed:
        ref = c.get("ref") or "?"
        if _cascaded(ctx, "D4", c, "cause_verified", out):
            continue  # the proof is the sub-supplier's verified cause
        _files(ctx, "D4", _("cause %(ref)s: \"%(f)s\"", ref=ref, f=evidence), c.get("evidence"), out)
        if is_blank(c.get("verified_by")):
            out.append(Finding(BLOCK, _("D4: cause %(ref)s is verified but \"%(f)s\" is empty.", ref=ref, f=verified_by)))
        day = parse_date(c.get("verified_on"))
        if day is None:
            out.append(Finding(BLOCK, _("D4: cause %(ref)s is verified but \"%(f)s\" is empty.", ref=ref, f=verified_on)))
            continue
        _not_future(ctx, "D4", _("cause %(ref)s: \"%(f)s\"", ref=ref, f=verified_on), day, out)
        if returned and day < returned:
            out.append(Finding(BLOCK, _("D4: cause %(ref)s: \"%(f)s\" (%(day)s) is before the parts came back (%(back)s) - verify on the returned parts.",
                                        ref=ref, f=verified_on, day=day.isoformat(), back=returned.isoformat())))
        elif not returned and parts_back:
            out.append(Finding(BLOCK, _("D4: cause %(ref)s is verified on returned parts, but the header has no \"%(f)s\".",
                                        ref=ref, f=_fl("Header", "part_return_date"))))
        elif not returned and detected and day < detected:
            out.append(Finding(BLOCK, _("D4: cause %(ref)s: \"%(f)s\" (%(day)s) is before the problem was detected (%(det)s).",
                                        ref=ref, f=verified_on, day=day.isoformat(), det=detected.isoformat())))
    for c in causes:
        if c.get("conclusion") == "pending":
            out.append(Finding(BLOCK, _("D4: cause %(ref)s is not verified yet.", ref=c.get("ref") or "?")))
    # % contribution: the causes of one kind share the effect - occurrence causes add up to 100,
    # and so do the non-detection causes (each kind explains the whole problem its own way).
    kinds = BY_CODE["D4"].field("causes").column("kind")
    for kind in ("occurrence", "non_detection", "systemic"):
        given = [c for c in causes if c.get("kind") == kind and c.get("contribution_pct") is not None and c.get("conclusion") != "failed"]
        if given and abs(sum(_num(c["contribution_pct"]) for c in given) - 100) > 0.01:
            out.append(Finding(BLOCK, _("D4: the %% contributions of the %(kind)s causes must add up to 100 (now %(sum)s).",
                                        kind=kinds.choice_label(kind), sum=f"{sum(_num(c['contribution_pct']) for c in given):g}")))
    has_systemic = any(c.get("kind") == "systemic" for c in passed)
    for c in causes:
        if c.get("kind") in ("occurrence", "non_detection") and OPERATOR_ERROR.search(c.get("statement") or "") and not has_systemic:
            out.append(Finding(BLOCK, _("D4: cause %(ref)s blames a person (\"operator error\") - that is not a root cause: name why the process allowed it (a systemic cause).",
                                        ref=c.get("ref") or "?")))
    refs = [c.get("ref") for c in causes if c.get("ref")]
    if len(refs) != len(set(refs)):
        out.append(Finding(BLOCK, _("D4: cause references must be unique.")))
    known = set(refs)
    for w in v.get("five_why") or []:
        if w.get("cause") and w["cause"] not in known:
            out.append(Finding(BLOCK, _("D4: a 5-Why step refers to an unknown cause \"%(ref)s\".", ref=w["cause"])))
            break
    _short_texts("D4", v, out)


RULES: dict[str, Callable[[GateContext, list[Finding]], None]] = {
    "D0": rules_d0,
    "D1": rules_d1,
    "D2": rules_d2,
    "D3": rules_d3,
    "D4": rules_d4,
    "D5": rules_d5,
    "D6": rules_d6,
    "D7": rules_d7,
    "D8": rules_d8,
}


def check_discipline(ctx: GateContext, code: str) -> list[Finding]:
    out: list[Finding] = []
    RULES[code](ctx, out)
    due = parse_date(ctx.due.get(code)) if ctx.due and ctx.open_at(code) else None
    if due and ctx.day > due:
        out.append(Finding(WARN, _("%(d)s: past its due date (%(due)s).", d=code, due=due.isoformat())))
    return out


def gate_missing_items(ctx: GateContext, code: str) -> list[str]:
    return [f.message for f in check_discipline(ctx, code) if f.level == BLOCK]


__all__ = ["BLOCK", "WARN", "Finding", "GateContext", "check_discipline", "gate_missing_items", "has_quantity", "read_across_to_track"]
