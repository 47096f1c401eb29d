"""Completion rules ("gates") and automatic quality checks of the 8D method.

`check_discipline(ctx, code)` returns findings: `block` findings stop the team from advancing past
the discipline (they are the `details.missing` of a 409 gate_not_met); `warn` findings are shown
but do not stop anyone. The rules are those a strict reviewer applies (8D-METHOD.md, "Gates").
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.method.definition import BY_CODE, HEADER_FIELDS, LOCATIONS, MANDATORY_LOCATIONS
from app.method.fields import Field, is_blank, parse_date

BLOCK = "block"
WARN = "warn"

OPERATOR_ERROR = re.compile(r"\b(operator|human|worker|employee)\s+(error|mistake|fault)\b|\bcareless", re.I)
TRAINING_ONLY = re.compile(r"\b(train|training|retrain|re-train|remind|instruct|awareness|brief)", re.I)
DURABLE_CONTROL = re.compile(
    r"(poka[- ]?yoke|error[- ]?proof|interlock|sensor|camera|vision|automat|\bplc\b|software|\bjig|gauge|\bgage|"
    r"monitor|\bspc\b|replace|modif|redesign|install|coding pin|"
    r"(change|update|revise)[sd]? (the |a )?(process|fixture|parameter|design|standard|tool|control plan)|"
    r"new (fixture|tool|standard|process|design))",
    re.I,
)
INSPECTION_ONLY = re.compile(r"\b(inspect|inspection|sort|check|100\s*%)", re.I)
SCOPE_WORDS = re.compile(r"\b(lot|lots|shift|shifts|line|lines|batch|condition|temperature|serial)", re.I)


@dataclass(frozen=True)
class Finding:
    level: str
    message: str

    def as_json(self) -> dict:
        return {"level": self.level, "message": self.message}


@dataclass
class GateContext:
    """What the rules read: the header, every discipline's values and the team."""

    header: dict[str, Any]
    values: dict[str, dict[str, Any]]
    team: list[dict[str, Any]] = field(default_factory=list)  # {"role", "company_kind", "email"}
    opened_on: dt.date | None = None
    due: dict[str, str] = field(default_factory=dict)
    today: dt.date | None = None
    # Tracked actions: {"kind","title","status","location","cause","cause_ref","removed"}
    actions: list[dict[str, Any]] = field(default_factory=list)

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


def _today() -> dt.date:
    from app.models.base import utcnow

    return utcnow().date()


def _label(f: Field) -> str:
    return str(f.label)


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


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else 0.0


def _refs(text: Any) -> list[str]:
    return [r.strip() for r in re.split(r"[,;\s]+", text or "") if r.strip()]


# ------------------------------------------------------------------------------------- header / D0
def rules_d0(ctx: GateContext, out: list[Finding]) -> None:
    for f in HEADER_FIELDS:
        _required_field(_("Header"), f, ctx.header.get(f.name), out)
    v = ctx.get("D0")
    _required("D0", v, out)
    if v.get("era_needed") is True and not v.get("era"):
        out.append(Finding(BLOCK, _("D0: an emergency response is needed - list the emergency response actions.")))
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
    if ps and not re.search(r"\d", ps):
        out.append(Finding(BLOCK, _("D2: the problem statement must contain a number (how many, how much, ppm).")))
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
    v = ctx.get("D3")
    _required("D3", v, out)
    actions = v.get("containment") or []
    ledger = v.get("ledger") or []
    labels = {c.value: str(c.label) for c in LOCATIONS}
    tracked = ctx.tracked("containment")
    if not actions and not tracked:
        out.append(Finding(BLOCK, _("D3: list the containment actions (in the table or as tracked containment actions).")))
    for loc in MANDATORY_LOCATIONS:
        has_action = any(a.get("location") == loc and not is_blank(a.get("action")) for a in actions) or any(
            a.get("location") == loc for a in tracked
        )
        zero_suspect = any(r.get("location") == loc and r.get("suspect") == 0 for r in ledger)
        if not (has_action or zero_suspect):
            out.append(
                Finding(BLOCK, _("D3: no containment at \"%(loc)s\" - add an action or a ledger row with 0 suspect parts.", loc=labels[loc]))
            )
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
            out.append(Finding(BLOCK, _("D3: ledger row %(n)s has NOK parts without a disposition.", n=i)))
    if (actions or tracked) and not any(a.get("status") == "verified" for a in actions + tracked):
        out.append(Finding(BLOCK, _("D3: at least one containment action must be verified as effective.")))
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
    for c in passed:
        if is_blank(c.get("evidence")):
            out.append(Finding(BLOCK, _("D4: verified cause %(ref)s needs evidence.", ref=c.get("ref") or "?")))
    for c in causes:
        if c.get("conclusion") == "pending":
            out.append(Finding(BLOCK, _("D4: cause %(ref)s is not verified yet.", ref=c.get("ref") or "?")))
    given = [c for c in causes if c.get("contribution_pct") is not None and c.get("conclusion") != "failed"]
    if given and abs(sum(_num(c["contribution_pct"]) for c in given) - 100) > 0.01:
        out.append(Finding(BLOCK, _("D4: the % contributions of the causes must add up to 100.")))
    has_systemic = any(c.get("kind") == "systemic" for c in passed)
    for c in causes:
        if c.get("kind") == "occurrence" and OPERATOR_ERROR.search(c.get("statement") or "") and not has_systemic:
            out.append(
                Finding(BLOCK, _("D4: \"operator error\" is not a root cause - name why the process allowed it (a systemic cause)."))
            )
            break
    refs = [c.get("ref") for c in causes if c.get("ref")]
    if len(refs) != len(set(refs)):
        out.append(Finding(BLOCK, _("D4: cause references must be unique.")))
    known = set(refs)
    for w in v.get("five_why") or []:
        if w.get("cause") and w["cause"] not in known:
            out.append(Finding(BLOCK, _("D4: a 5-Why step refers to an unknown cause \"%(ref)s\".", ref=w["cause"])))
            break
    _short_texts("D4", v, out)


def _training_only(pca: dict) -> bool:
    """Training or reminders without a durable control (process, fixture, poka-yoke, standard)."""
    action = pca.get("action") or ""
    if not is_blank(pca.get("error_proofing")):
        return False
    return bool(TRAINING_ONLY.search(action)) and not DURABLE_CONTROL.search(action)


# ------------------------------------------------------------------------------------------- D5
def rules_d5(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D5")
    _required("D5", v, out)
    pcas = v.get("pcas") or []
    causes = (ctx.get("D4").get("causes")) or []
    passed = [c for c in causes if c.get("conclusion") == "passed"]
    known = {c.get("ref") for c in causes if c.get("ref")}
    tracked = ctx.tracked("corrective")
    if not pcas and not tracked:
        out.append(Finding(BLOCK, _("D5: list the permanent corrective actions (in the table or as tracked corrective actions).")))
    for c in passed:
        addressing = [p for p in pcas if c.get("ref") in _refs(p.get("causes"))]
        addressing += [{"action": a["title"]} for a in tracked if a.get("cause_ref") == c.get("ref")]
        if not addressing:
            out.append(Finding(BLOCK, _("D5: verified cause %(ref)s has no permanent corrective action.", ref=c.get("ref"))))
        elif c.get("kind") == "occurrence" and all(_training_only(p) for p in addressing):
            out.append(
                Finding(BLOCK, _("D5: cause %(ref)s is only addressed by training or reminders - add a durable control (process, fixture, poka-yoke, interlock, standard).", ref=c.get("ref")))
            )
    if causes and not any(p.get("kind") == "detection" for p in pcas) and not any(a.get("cause") == "non_detection" for a in tracked):
        out.append(Finding(BLOCK, _("D5: the escape point needs a detection action.")))
    for p in pcas:
        unknown = [r for r in _refs(p.get("causes")) if r not in known]
        if p.get("causes") and (unknown or not _refs(p.get("causes"))):
            out.append(Finding(BLOCK, _("D5: %(ref)s refers to a cause that D4 does not list: %(c)s.", ref=p.get("ref") or "?", c=", ".join(unknown))))
    refs = [p.get("ref") for p in pcas if p.get("ref")]
    if len(refs) != len(set(refs)):
        out.append(Finding(BLOCK, _("D5: action references must be unique.")))
    if pcas and all(INSPECTION_ONLY.search(p.get("action") or "") and not DURABLE_CONTROL.search(p.get("action") or "") for p in pcas):
        out.append(Finding(WARN, _("D5: every action is an added inspection - is the cause itself removed?")))
    _short_texts("D5", v, out)


# ------------------------------------------------------------------------------------------- D6
def rules_d6(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D6")
    _required("D6", v, out)
    impl = v.get("implementation") or []
    pcas = ctx.get("D5").get("pcas") or []
    for p in pcas:
        if not any(r.get("pca") == p.get("ref") and r.get("implemented_on") and not is_blank(r.get("evidence")) for r in impl):
            out.append(Finding(BLOCK, _("D6: %(ref)s is not recorded as implemented with evidence.", ref=p.get("ref") or "?")))
    size = v.get("sample_size")
    if size is not None and _num(size) <= 0:
        out.append(Finding(BLOCK, _("D6: the validation sample size must be greater than zero.")))
    if v.get("validation_result") and v.get("validation_result") != "pass":
        out.append(Finding(BLOCK, _("D6: the validation has not passed.")))
    p_from, p_to = parse_date(v.get("period_from")), parse_date(v.get("period_to"))
    if p_from and p_to and p_to < p_from:
        out.append(Finding(BLOCK, _("D6: the validation period ends before it starts.")))
    impl_dates = [d for d in (parse_date(r.get("implemented_on")) for r in impl) if d]
    if p_to and impl_dates and p_to <= max(impl_dates):
        out.append(Finding(BLOCK, _("D6: the validation period must end after the last implementation.")))
    removals = v.get("ica_removal") or []
    for a in ctx.get("D3").get("containment") or []:
        rem = next((r for r in removals if r.get("ica") == a.get("ref")), None)
        if rem is None:
            out.append(Finding(BLOCK, _("D6: containment %(ref)s has not been removed.", ref=a.get("ref") or "?")))
        elif p_to and parse_date(rem.get("removed_on")) and parse_date(rem.get("removed_on")) < p_to:
            out.append(Finding(BLOCK, _("D6: containment %(ref)s was removed before the validation passed.", ref=a.get("ref") or "?")))
    for a in ctx.tracked("corrective"):
        if a["status"] != "verified":
            out.append(Finding(BLOCK, _("D6: corrective action \"%(t)s\" is not implemented and verified yet.", t=a["title"])))
    for a in ctx.tracked("containment"):
        if not a["removed"]:
            out.append(Finding(BLOCK, _("D6: containment action \"%(t)s\" has not been lifted.", t=a["title"])))
    today = ctx.today or _today()
    if any(d > today for d in impl_dates):
        out.append(Finding(WARN, _("D6: an implementation date lies in the future.")))
    scope = v.get("sample_scope") or ""
    if scope and not SCOPE_WORDS.search(scope):
        out.append(Finding(WARN, _("D6: the sample scope names no lot, shift, line or condition.")))


# ------------------------------------------------------------------------------------------- D7
def rules_d7(ctx: GateContext, out: list[Finding]) -> None:
    v = ctx.get("D7")
    _required("D7", v, out)
    docs = v.get("doc_updates") or []
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
        if is_blank(v.get(reason_field)):
            if not updated:
                out.append(Finding(BLOCK, _("D7: update the %(doc)s (a new revision) or say why it is not affected.", doc=label)))
            elif ctx.opened_on and not any((parse_date(d.get("date")) or dt.date.min) >= ctx.opened_on for d in updated):
                out.append(Finding(BLOCK, _("D7: the %(doc)s revision must be dated after the report was opened.", doc=label)))
    for i, r in enumerate(v.get("read_across") or [], start=1):
        if r.get("decision") == "apply" and r.get("status") not in ("implemented", "verified"):
            out.append(Finding(BLOCK, _("D7: read-across row %(n)s (%(t)s) is to be applied but not implemented yet.", n=i, t=r.get("target") or "?")))
    for a in ctx.tracked("preventive"):
        if a["status"] not in ("implemented", "verified"):
            out.append(Finding(BLOCK, _("D7: preventive action \"%(t)s\" is not implemented yet.", t=a["title"])))
    _short_texts("D7", v, out)


# ------------------------------------------------------------------------------------------- D8
def rules_d8(ctx: GateContext, out: list[Finding]) -> None:
    _required("D8", ctx.get("D8"), out)
    for a in ctx.actions:
        if a["status"] not in ("verified", "cancelled"):
            out.append(Finding(BLOCK, _("D8: action \"%(t)s\" is still %(s)s - verify or cancel it before closure.", t=a["title"], s=a["status"].replace("_", " "))))


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
    if due and (ctx.today or _today()) > due:
        out.append(Finding(WARN, _("%(d)s: past its due date (%(due)s).", d=code, due=due.isoformat())))
    return out


def gate_missing_items(ctx: GateContext, code: str) -> list[str]:
    return [f.message for f in check_discipline(ctx, code) if f.level == BLOCK]
