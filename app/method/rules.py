"""Completion rules ("gates") and automatic quality checks of the 8D method.

`check_discipline(ctx, code)` returns findings: `block` findings stop the team from advancing past
the discipline (they are the `details.missing` of a 409 gate_not_met); `warn` findings are shown
but do not stop anyone. The rules are those a strict reviewer applies (8D-METHOD.md, "Gates" and
"Wave 2: integrity"): what the report claims must be checkable - claimed facts are not dated in
the future and keep their order, claims of proof reference live files of the report, and the
containment, corrective and preventive work is read from the tracked actions (the one record).

Every message names the discipline and the field as the user sees it (its label).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.method.definition import BY_CODE, HEADER_BY_NAME, HEADER_FIELDS, LOCATIONS, MANDATORY_LOCATIONS
from app.method.fields import Field, is_blank, parse_date
from app.method.tiers import cascade_problem

BLOCK = "block"
WARN = "warn"

# "Operator error" and its many disguises: a person's failure is never the root cause by itself.
OPERATOR_ERROR = re.compile(
    r"\b(operator|human|worker|employee|staff|associate|inspector|personnel|assembler|technician)s?\W+(error|mistake|fault|failure|slip|oversight)"
    r"|\bhuman\s+factor"
    r"|\b(operator|worker|employee|inspector|assembler|technician|associate|staff)s?\s+(did\s+not|didn't|failed\s+to|forgot|neglected|overlooked|ignored|missed|was\s+not\s+attentive)"
    r"|\bnot\s+follow(ing|ed)?\s+(the\s+)?(work\s+instruction|wi\b|procedure|standard|sop)"
    r"|\b(did\s+not|didn't|failed\s+to)\s+follow\b"
    r"|\bforgot\b|\bcareless|\black\s+of\s+(attention|concentration|care|discipline)|\binattenti|\bnegligen|\bnot\s+paying\s+attention",
    re.I,
)
# Training, reminders, monitoring, audits and added inspection do not remove an occurrence cause
# - whatever an "error-proofing" field says next to them.
NOT_DURABLE = re.compile(
    r"\b(train|training|trained|retrain|re-train|remind|reminder|monitor|monitoring|audit|audits|inspect|inspection|inspected|check|checks|checking|sort|sorting|"
    r"awareness|instruct|instruction|instructions|brief|briefing|coach|coaching|sensiti[sz]e|communicat\w*|toolbox\s+talk)\b",
    re.I,
)
DURABLE_CONTROL = re.compile(
    r"(poka[- ]?yoke|error[- ]?proof|fool[- ]?proof|mistake[- ]?proof|interlock|coding\s+pin|automat\w*|"
    r"\b(change[sd]?|modif(y|ies|ied)|revise[sd]?|update[sd]?|redesign(s|ed)?|replace[sd]?)\b[^.;]{0,60}?\b(process|design|fixture|tool|tooling|parameter|limit|machine|program|"
    r"software|drawing|material|specification|equipment|clamp|jig|die|mould|mold|recipe)"
    r"|\bnew\s+(fixture|tool|tooling|design|process|machine|jig|clamp)|\bparameter\s+limits?\b|\bdesign\s+change|\bprocess\s+change)",
    re.I,
)
INSPECTION_ONLY = re.compile(r"\b(inspect|inspection|sort|sorting|check|checks|100\s*%|visual)", re.I)
SCOPE_WORDS = re.compile(r"\b(lot|lots|shift|shifts|line|lines|batch|condition|temperature|serial)", re.I)
DETECTION_RATING = re.compile(r"\bdetect", re.I)
# A quantity: a number standing alone or with its unit - not digits inside an identifier such as
# BM-12S-4471, W3 or lot 2609-03.
_QUANTITY_TOKEN = re.compile(
    r"^[<>~≈±+]?\d+(?:[.,\u202f\u00a0]\d+)*\s*"
    r"(%|‰|ppm|ppb|pcs?|pieces?|parts?|units?|x|mm|cm|m|µm|um|nm|mohm|ohm|mΩ|ω|v|mv|kv|a|ma|ka|w|kw|kg|g|mg|nm|n|h|min|s|ms|°c|c|bar|mbar|"
    r"mbar·l/s|l|ml|km|kwh|wh)?$",
    re.I,
)
MIN_REASON = 20  # characters of a reason that a reviewer can check


@dataclass(frozen=True)
class Finding:
    level: str
    message: str


@dataclass
class GateContext:
    """What the rules read: the header, every discipline's values, the team, the tracked actions
    and the live (not withdrawn) evidence files of the report."""

    header: dict[str, Any]
    values: dict[str, dict[str, Any]]
    team: list[dict[str, Any]] = field(default_factory=list)  # {"role", "company_kind", "email"}
    opened_on: dt.date | None = None
    due: dict[str, str] = field(default_factory=dict)
    today: dt.date | None = None
    # Tracked actions (app/services/action_queries.action_facts): kind, ref, title, status, location,
    # cause, causes, owner_id, verified_by_id, dates and evidence lists.
    actions: list[dict[str, Any]] = field(default_factory=list)
    # Ids of the report's attachments that are not withdrawn: claims of proof count only these.
    live_attachments: set[int] = field(default_factory=set)
    # The report named as related in the header: {"id", "number", "same_parties"} or None.
    related_report: dict[str, Any] | None = None
    # Cascades opened from this report with sub-suppliers: {"number", "stage", "status", "outcome",
    # "cause_verified", "action_verified"} (app/services/cascades.cascade_facts).
    cascades: list[dict[str, Any]] = field(default_factory=list)

    status: str = "open"
    stage: str = "D0"

    def open_at(self, code: str) -> bool:
        """Is the team still due to deliver `code`? Not once closed, not for done disciplines."""
        from app.method.definition import CODES

        return self.status == "open" and CODES.index(code) >= CODES.index(self.stage)

    def tracked(self, kind: str) -> list[dict[str, Any]]:
        return [a for a in self.actions if a["kind"] == kind and a["status"] != "cancelled"]

    def get(self, code: str) -> dict[str, Any]:
        return self.values.get(code) or {}

    def cascade(self, number: Any) -> dict[str, Any] | None:
        number = number.strip() if isinstance(number, str) else None
        return next((c for c in self.cascades if number and c["number"] == number), None)

    def live(self, ids: Any) -> list[int]:
        return [i for i in ids or [] if i in self.live_attachments]

    @property
    def day(self) -> dt.date:
        return self.today or _today()


def _today() -> dt.date:
    from app.models.base import utcnow

    return utcnow().date()


def _label(f: Field) -> str:
    return str(f.label)


def _fl(code: str, name: str) -> str:
    """The label of a field of a discipline (or of the header)."""
    f = HEADER_BY_NAME[name] if code == "Header" else BY_CODE[code].field(name)
    return str(f.label)


def _cl(code: str, table: str, column: str) -> str:
    return str(BY_CODE[code].field(table).column(column).label)


def _location_label(value: str) -> str:
    return next((str(c.label) for c in LOCATIONS if c.value == value), value or "?")


def _required(code: str, values: dict[str, Any], out: list[Finding]) -> None:
    """Required fields filled; required tables have rows; required cells of every row filled."""
    for f in BY_CODE[code].fields:
        _required_field(code, f, values.get(f.name), out)


def _required_field(prefix: str, f: Field, value: Any, out: list[Finding]) -> None:
    if f.type == "table":
        rows = value or []
        if f.required and not rows:
            out.append(Finding(BLOCK, _("%(d)s: add at least one row to \"%(f)s\".", d=prefix, f=_label(f))))
        for i, row in enumerate(rows, start=1):
            empty = [_label(c) for c in f.columns if c.required and is_blank(row.get(c.name))]
            if empty:
                out.append(
                    Finding(
                        BLOCK,
                        _("%(d)s: \"%(f)s\" row %(n)s is missing %(cols)s.", d=prefix, f=_label(f), n=i, cols=", ".join(empty)),
                    )
                )
    elif f.required and is_blank(value):
        out.append(Finding(BLOCK, _("%(d)s: \"%(f)s\" is required.", d=prefix, f=_label(f))))


def _short_texts(code: str, values: dict[str, Any], out: list[Finding]) -> None:
    for f in BY_CODE[code].fields:
        v = values.get(f.name)
        if f.type == "text" and f.required and f.multiline and isinstance(v, str) and 0 < len(v.strip()) <= 20:
            out.append(Finding(WARN, _("%(d)s: \"%(f)s\" is very short - can a reviewer check it from the text alone?", d=code, f=_label(f))))


def _files(ctx: GateContext, code: str, what: str, ids: Any, out: list[Finding]) -> None:
    """A claim of proof needs at least one live file of the report."""
    if not ctx.live(ids):
        out.append(Finding(BLOCK, _("%(d)s: %(what)s needs at least one file (uploaded to this report, not withdrawn).", d=code, what=what)))


def _not_future(ctx: GateContext, code: str, what: str, day: dt.date | None, out: list[Finding]) -> None:
    if day and day > ctx.day:
        out.append(Finding(BLOCK, _("%(d)s: %(what)s (%(day)s) lies in the future - a fact can only be claimed once it happened.",
                                    d=code, what=what, day=day.isoformat())))


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def _real_reason(text: Any) -> bool:
    return isinstance(text, str) and len(text.strip()) >= MIN_REASON


def has_quantity(text: str) -> bool:
    """Does the text state a quantity (a number standing alone or with a unit), not only
    identifiers that contain digits (part numbers, stations, lots, dates)?"""
    for token in re.split(r"\s+", text or ""):
        token = token.strip("()[]{}\"'“”‘’,;:!?").rstrip(".")
        if token and _QUANTITY_TOKEN.match(token):
            return True
    return False


def _name(a: dict[str, Any]) -> str:
    title = a.get("title") or ""
    return f"{a.get('ref') or '?'} \"{title if len(title) <= 60 else title[:59] + '…'}\""


def _verified(a: dict[str, Any]) -> bool:
    """Verified as effective by someone other than its owner (four eyes)."""
    return a["status"] == "verified" and a.get("verified_by_id") is not None and a.get("verified_by_id") != a.get("owner_id")


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


def _cascaded(ctx: GateContext, code: str, cause: dict[str, Any], fact: str, out: list[Finding]) -> bool:
    refers, problem = cascade_problem(ctx, code, cause, fact)
    if problem:
        out.append(Finding(BLOCK, problem))
    return refers


def durable(action: dict[str, Any]) -> bool:
    """Does the action itself (its title and description) change the process, the design, a
    fixture or a parameter limit, or add error-proofing? Training, reminders, monitoring, audits
    and added inspection do not - an "error-proofing" field beside them changes nothing."""
    text = " ".join(filter(None, (action.get("title"), action.get("description"))))
    if DURABLE_CONTROL.search(text):
        return True
    return not NOT_DURABLE.search(text)


def _inspection(action: dict[str, Any]) -> bool:
    text = " ".join(filter(None, (action.get("title"), action.get("description"))))
    return bool(INSPECTION_ONLY.search(text)) and not DURABLE_CONTROL.search(text)


def detection_actions(ctx: GateContext) -> list[dict[str, Any]]:
    """Corrective actions at the escape point: those adding detection (kind non-detection) or
    addressing a non-detection cause."""
    causes = ctx.get("D4").get("causes") or []
    escape_refs = {c.get("ref") for c in causes if c.get("kind") == "non_detection"}
    return [a for a in ctx.tracked("corrective") if a.get("cause") == "non_detection" or escape_refs & set(a.get("causes") or [])]


# ------------------------------------------------------------------------------------------- D5
def rules_d5(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D5")
    _required("D5", v, out)
    causes = ctx.get("D4").get("causes") or []
    passed = [c for c in causes if c.get("conclusion") == "passed"]
    known = {c.get("ref") for c in causes if c.get("ref")}
    tracked = ctx.tracked("corrective")
    local = [c for c in passed if is_blank(c.get("cascade"))]
    for c in passed:
        if not is_blank(c.get("cascade")):
            _cascaded(ctx, "D5", c, "action_verified", out)  # the sub-supplier's corrective action removes it
    if not tracked and (local or not passed):
        out.append(Finding(BLOCK, _("D5: add the permanent corrective actions (tracked corrective actions, one or more per verified cause).")))
    for c in local:
        addressing = [a for a in tracked if c.get("ref") in (a.get("causes") or [])]
        if not addressing:
            out.append(Finding(BLOCK, _("D5: verified cause %(ref)s has no permanent corrective action (none names it in \"Causes addressed\").", ref=c.get("ref"))))
        elif c.get("kind") == "occurrence" and not any(durable(a) for a in addressing):
            out.append(Finding(BLOCK, _("D5: occurrence cause %(ref)s is only addressed by training, reminders, monitoring, audits or inspection - "
                                        "change the process, the design, a fixture or a parameter limit, or add error-proofing (poka-yoke, interlock).",
                                        ref=c.get("ref"))))
    escape = ctx.get("D4").get("escape_point")
    if (causes or not is_blank(escape)) and not detection_actions(ctx):
        out.append(Finding(BLOCK, _("D5: the escape point needs a detection action (a corrective action whose kind is non-detection).")))
    evidence_label = _("\"Pre-verification\" evidence")
    for a in tracked:
        refs = a.get("causes") or []
        if not refs:
            out.append(Finding(BLOCK, _("D5: %(a)s names no D4 cause in \"Causes addressed\".", a=_name(a))))
        unknown = [r for r in refs if r not in known]
        if unknown:
            out.append(Finding(BLOCK, _("D5: %(a)s refers to a cause that D4 does not list: %(c)s.", a=_name(a), c=", ".join(unknown))))
        if is_blank(a.get("pre_verification")):
            out.append(Finding(BLOCK, _("D5: %(a)s needs its \"Pre-verification\" (proof it works without side effects).", a=_name(a))))
        _files(ctx, "D5", f"{_name(a)}: {evidence_label}", a.get("pre_verification_evidence"), out)
    if tracked and all(_inspection(a) for a in tracked):
        out.append(Finding(WARN, _("D5: every action is an added inspection - is the cause itself removed?")))
    _short_texts("D5", v, out)


# ------------------------------------------------------------------------------------------- D6
def rules_d6(ctx: GateContext, out: list[Finding]) -> None:
    """Implemented (when, with which files), validated over a period that starts after the last
    implementation and has ended, and the containment lifted after the validation passed."""
    v = ctx.get("D6")
    _required("D6", v, out)
    if not is_blank(v.get("validation_evidence")):  # when empty, "required" says it
        _files(ctx, "D6", f"\"{_fl('D6', 'validation_evidence')}\"", v.get("validation_evidence"), out)
    implemented: list[tuple[dt.date, dict]] = []
    if not ctx.tracked("corrective"):
        out.append(Finding(BLOCK, _("D6: there is no corrective action to implement and validate (they are tracked in D5).")))
    for a in ctx.tracked("corrective"):
        day = a.get("implemented_on")
        if day is None:
            out.append(Finding(BLOCK, _("D6: %(a)s is not recorded as implemented (\"Implemented on\").", a=_name(a))))
        else:
            _not_future(ctx, "D6", _("\"Implemented on\" of %(a)s", a=_name(a)), day, out)
            implemented.append((day, a))
        _files(ctx, "D6", _("%(a)s: implementation evidence", a=_name(a)), a.get("implementation_evidence"), out)
        if not _verified(a):
            out.append(Finding(BLOCK, _("D6: corrective action %(a)s is not verified as effective yet (by someone other than its owner).", a=_name(a))))
    size = v.get("sample_size")
    if size is not None and _num(size) <= 0:
        out.append(Finding(BLOCK, _("D6: the validation sample size must be greater than zero.")))
    if v.get("validation_result") and v.get("validation_result") != "pass":
        out.append(Finding(BLOCK, _("D6: the validation has not passed.")))
    p_from, p_to = parse_date(v.get("period_from")), parse_date(v.get("period_to"))
    f_from, f_to = _fl("D6", "period_from"), _fl("D6", "period_to")
    if p_from and p_to and p_to < p_from:
        out.append(Finding(BLOCK, _("D6: the validation period ends before it starts.")))
    if p_from and implemented:
        last, last_action = max(implemented, key=lambda t: t[0])
        if p_from < last:
            out.append(Finding(BLOCK, _("D6: \"%(f)s\" (%(day)s) is before the last implementation (%(a)s on %(last)s) - validate the implemented fix.",
                                        f=f_from, day=p_from.isoformat(), a=last_action.get("ref") or "?", last=last.isoformat())))
    if p_to and p_to > ctx.day and v.get("validation_result") == "pass":
        out.append(Finding(BLOCK, _("D6: the validation period has not ended (\"%(f)s\" is %(day)s) - a validation cannot pass before its period is over.",
                                    f=f_to, day=p_to.isoformat())))
    for a in ctx.tracked("containment"):
        removed = a.get("removed_on")
        if removed is None:
            out.append(Finding(BLOCK, _("D6: containment action %(a)s has not been lifted.", a=_name(a))))
            continue
        _not_future(ctx, "D6", _("the lifting of %(a)s", a=_name(a)), removed, out)
        if p_to and removed < p_to:
            out.append(Finding(BLOCK, _("D6: containment action %(a)s was lifted (%(day)s) before the validation ended (%(end)s).",
                                        a=_name(a), day=removed.isoformat(), end=p_to.isoformat())))
    scope = v.get("sample_scope") or ""
    if scope and not SCOPE_WORDS.search(scope):
        out.append(Finding(WARN, _("D6: the sample scope names no lot, shift, line or condition.")))
    _short_texts("D6", v, out)


# ------------------------------------------------------------------------------------------- D7
def rules_d7(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D7")
    _required("D7", v, out)
    docs = v.get("doc_updates") or []
    evidence = _cl("D7", "doc_updates", "evidence")
    for doc_type, label, reason_field in (
        ("pfmea", _("PFMEA"), "pfmea_not_affected"),
        ("control_plan", _("control plan"), "control_plan_not_affected"),
    ):
        updated = [
            d
            for d in docs
            if d.get("doc_type") == doc_type
            and not is_blank(d.get("rev_after"))
            and (d.get("rev_after") or "").strip() != (d.get("rev_before") or "").strip()
        ]
        reason = v.get(reason_field)
        if not is_blank(reason):
            if not _real_reason(reason):
                out.append(Finding(BLOCK, _("D7: \"%(f)s\" is too short to be checked (at least %(n)s characters).", f=_fl("D7", reason_field), n=MIN_REASON)))
            continue
        if not updated:
            out.append(Finding(BLOCK, _("D7: update the %(doc)s (a new revision) or say why it is not affected.", doc=label)))
            continue
        if ctx.opened_on and not any((parse_date(d.get("date")) or dt.date.min) >= ctx.opened_on for d in updated):
            out.append(Finding(BLOCK, _("D7: the %(doc)s revision must be dated after the report was opened.", doc=label)))
        for d in updated:
            _not_future(ctx, "D7", _("the %(doc)s revision %(rev)s", doc=label, rev=d.get("rev_after")), parse_date(d.get("date")), out)
            _files(ctx, "D7", _("the %(doc)s revision %(rev)s: \"%(f)s\"", doc=label, rev=d.get("rev_after"), f=evidence), d.get("evidence"), out)
    rows = v.get("read_across") or []
    none_reason = v.get("read_across_none_reason")
    if not rows and not _real_reason(none_reason):
        out.append(Finding(BLOCK, _("D7: read-across needs at least one row - or \"%(f)s\" with a reason of at least %(n)s characters.",
                                    f=_fl("D7", "read_across_none_reason"), n=MIN_REASON)))
    for i, r in enumerate(rows, start=1):
        if r.get("decision") != "apply" or r.get("status") in ("implemented", "verified"):
            continue
        if is_blank(r.get("owner")) or is_blank(r.get("due")):
            out.append(Finding(BLOCK, _("D7: read-across row %(n)s (%(t)s) is to be applied but not implemented - implement it, or give it an owner and a due date "
                                        "(it is then tracked as a preventive action after closure).", n=i, t=r.get("target") or "?")))
    for a in ctx.tracked("preventive"):
        if a["status"] not in ("implemented", "verified"):
            out.append(Finding(BLOCK, _("D7: preventive action %(a)s is not implemented yet.", a=_name(a))))
    inspections = [a for a in detection_actions(ctx) if _inspection(a)]
    if inspections and not any(d.get("doc_type") == "pfmea" and DETECTION_RATING.search(d.get("change") or "") for d in docs):
        out.append(Finding(WARN, _("D7: the escape point is closed by an inspection (%(a)s) - the PFMEA revision should re-rate detection.",
                                   a=", ".join(a.get("ref") or "?" for a in inspections))))
    _short_texts("D7", v, out)


def read_across_to_track(values: dict[str, Any]) -> list[dict[str, Any]]:
    """D7 read-across rows to apply that are not implemented but have an owner and a due date:
    at closure each becomes a tracked preventive action."""
    return [
        r for r in values.get("read_across") or []
        if r.get("decision") == "apply" and r.get("status") not in ("implemented", "verified") and not is_blank(r.get("owner")) and r.get("due")
    ]


# ------------------------------------------------------------------------------------------- D8
def rules_d8(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D8")
    _required("D8", v, out)
    if v.get("lessons_filed") is False:
        out.append(Finding(WARN, _("D8: the lessons learned are not filed in the lessons-learned database (\"%(f)s\").", f=_fl("D8", "lessons_filed"))))
    for a in ctx.actions:
        if a["status"] not in ("verified", "cancelled"):
            out.append(Finding(BLOCK, _("D8: action %(a)s is still %(s)s - verify or cancel it before closure.", a=_name(a), s=a["status"].replace("_", " "))))
    for child in ctx.cascades:
        if child["status"] != "closed":
            out.append(Finding(WARN, _("D8: the cascaded 8D %(n)s with %(s)s is still open (%(st)s) - close it before this report, or say why not.",
                                       n=child["number"], s=child.get("supplier") or "?", st=child["stage"])))
    tracked_later = read_across_to_track(ctx.get("D7"))
    if tracked_later:
        out.append(Finding(WARN, _("D8: %(n)s read-across row(s) will be tracked as preventive actions after closure: %(t)s.",
                                   n=len(tracked_later), t="; ".join(r.get("target") or "?" for r in tracked_later))))


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
