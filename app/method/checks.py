"""What the completion rules of every discipline share: the findings they produce, the context
they read (a report's values, team, actions, files, due dates and cascades), the patterns a strict
reviewer looks for (operator error, inspection as a fix, quantities) and small helpers that name
fields as users see them. The rules themselves: app/method/rules.py (D0-D4) and
app/method/rules_fix.py (D5-D8)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from app.method.definition import BY_CODE, HEADER_BY_NAME, LOCATIONS
from app.method.fields import Field, is_blank
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


