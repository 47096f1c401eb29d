"""The 8D method as data: the complaint header and the disciplines D0-D8 with their fields.

Forms, API validation, templates, gates and the PDF all read this one definition. The wording
follows Ford G8D / VDA Volume 4 as our users know them (see docs/method.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from app.method.fields import (
    Field,
    boolean,
    choice,
    choices,
    date,
    evidence,
    line,
    number,
    table,
    text,
)

CODES = ("D0", "D1", "D2", "D3", "D4", "D5", "D6", "D7", "D8")
DEFAULT_REVIEW_POINTS = ("D3", "D5", "D8")
# Days from the complaint date; configurable (DUE_DAYS). Containment within a day; an honest
# validation of the fix runs about four weeks after it is implemented, so D6 has 45 days and the
# closure 60 (docs/method.md, "Wave 2").
DEFAULT_DUE_DAYS = {"D0": 1, "D1": 1, "D2": 1, "D3": 1, "D4": 10, "D5": 15, "D6": 45, "D7": 55, "D8": 60}

LOCATIONS = choices(
    ("supplier_wip", _l("Supplier WIP")),
    ("supplier_stock", _l("Supplier stock")),
    ("in_transit", _l("In transit")),
    ("customer_stock", _l("Customer stock")),
    ("customer_line", _l("Customer line")),
    ("service_field", _l("Service / field")),
    ("sub_supplier", _l("Sub-supplier")),
)
# Every containment must cover these four locations (portals make them mandatory).
MANDATORY_LOCATIONS = ("supplier_wip", "supplier_stock", "in_transit", "customer_stock")

UNCHECKED_DISPOSITIONS = choices(("blocked", _l("Blocked")), ("quarantined", _l("Quarantined")), ("hold", _l("Hold")))

ACTION_STATUS = choices(
    ("open", _l("Open")),
    ("in_progress", _l("In progress")),
    ("implemented", _l("Implemented")),
    ("verified", _l("Verified")),
)
ACTION_KINDS = choices(("containment", _l("containment")), ("corrective", _l("corrective")), ("preventive", _l("preventive")))
CAUSE_KINDS = choices(
    ("occurrence", _l("Occurrence (why it was made)")),
    ("non_detection", _l("Non-detection (why it escaped)")),
    ("systemic", _l("Systemic (why the system allowed it)")),
)


# ---------------------------------------------------------------------------------------------
# Header: the complaint (columns of the report itself)
# ---------------------------------------------------------------------------------------------
HEADER_FIELDS: tuple[Field, ...] = (
    line("title", _l("Title"), True, help=_l("What is wrong with what, in one line.")),
    line("complaint_ref", _l("Customer complaint reference"), True),
    line("oem_plant", _l("Customer plant"), True),
    line("supplier_plant", _l("Supplier plant"), True),
    line("part_number", _l("Part number"), True),
    line("part_name", _l("Part name"), True),
    line("customer_part_no", _l("Customer part number")),
    table(
        "lots",
        _l("Affected lots / batches / serial numbers"),
        [line("lot_or_serial", _l("Lot or serial"), True), number("qty", _l("Quantity"), min=0)],
        True,
    ),
    date("detected_on", _l("Date of detection"), True, help=_l("Due dates count from this date.")),
    choice(
        "detected_at",
        _l("Detected at"),
        choices(
            ("incoming", _l("Incoming inspection")),
            ("line", _l("Production line")),
            ("end_of_line", _l("End-of-line test")),
            ("oem_0km", _l("OEM 0-km")),
            ("field", _l("Field")),
        ),
        True,
    ),
    choice(
        "complaint_type",
        _l("Complaint type"),
        choices(
            ("safety", _l("Safety")),
            ("function", _l("Function")),
            ("appearance", _l("Appearance")),
            ("logistics", _l("Logistics / label")),
        ),
        True,
    ),
    choice(
        "severity",
        _l("Severity"),
        choices(("critical", _l("Critical")), ("major", _l("Major")), ("minor", _l("Minor"))),
        True,
    ),
    number("qty_complained", _l("Quantity complained"), True, min=0),
    number("qty_delivered", _l("Quantity delivered"), min=0),
    number("qty_returned", _l("Quantity returned"), min=0),
    date("part_return_date", _l("Part return date")),
    boolean("repeat_failure", _l("Repeat failure"), True),
    number(
        "related_report_id",
        _l("Related report"),
        min=1,
        help=_l("A repeat failure names the earlier report of the same customer and supplier."),
        extra={"widget": "report"},
    ),
    line("related_report", _l("Other references to earlier complaints")),
    choice(
        "language",
        _l("Language of record"),
        choices(("en", "English"), ("de", "Deutsch"), ("zh", "中文")),  # each language in its own name
        help=_l("The language the report is written in; every reader sees the pages in their own language."),
    ),
)
HEADER_BY_NAME = {f.name: f for f in HEADER_FIELDS}


@dataclass(frozen=True)
class Discipline:
    code: str
    title: object
    purpose: object
    fields: tuple[Field, ...]
    who: str = "supplier"  # who usually writes it: supplier, customer or both

    def fields_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def index(self) -> int:
        return CODES.index(self.code)


D0 = Discipline(
    "D0",
    _l("Prepare and emergency response"),
    _l("Define and quantify the symptom, protect the customer at once, decide whether a full 8D is warranted."),
    (
        text("symptom", _l("Symptom (defined and quantified)"), True),
        text("affected_parties", _l("Customer and affected parties")),
        boolean("era_needed", _l("Emergency response action (ERA) needed?"), True),
        text(
            "no_era_reason",
            _l("Why no emergency response is needed"),
            help=_l("Required for a safety complaint without an emergency response; the customer's reviewer is shown it."),
        ),
        table(
            "era",
            _l("Emergency response actions"),
            [
                line("action", _l("Action"), True),
                line("where", _l("Where"), True),
                line("owner", _l("Owner"), True),
                date("date", _l("Date"), True),
                number("effective_pct", _l("Effective %"), min=0, max=100),
                line("verification", _l("Verification")),
            ],
        ),
        boolean("full_8d_justified", _l("Full 8D justified?"), True),
        text("justification", _l("Reason for the decision"), True),
    ),
    "both",
)

D1 = Discipline(
    "D1",
    _l("Team"),
    _l("A cross-functional team from both companies with a champion and a team leader."),
    (text("notes", _l("Team notes (functions, availability, sub-suppliers involved)")),),
    "both",
)

D2 = Discipline(
    "D2",
    _l("Problem description"),
    _l("Describe the problem in numbers: 5W2H, Is / Is-Not, the customer's and the supplier's view."),
    (
        text("problem_statement", _l("Problem statement (what is wrong with what, with numbers)"), True),
        table(
            "w5h2",
            _l("5W2H"),
            [
                choice(
                    "question",
                    _l("Question"),
                    choices(
                        ("who", _l("Who?")),
                        ("what", _l("What?")),
                        ("where", _l("Where?")),
                        ("when", _l("When?")),
                        ("why", _l("Why is it a problem?")),
                        ("how", _l("How?")),
                        ("how_many", _l("How many?")),
                    ),
                    True,
                ),
                text("answer", _l("Answer"), True),
            ],
            True,
        ),
        table(
            "is_is_not",
            _l("Is / Is-Not"),
            [
                choice(
                    "dimension",
                    _l("Dimension"),
                    choices(("what", _l("What")), ("where", _l("Where")), ("when", _l("When")), ("how_much", _l("How much"))),
                    True,
                ),
                text("is", _l("Is"), True),
                text("is_not", _l("Is not"), True),
                text("distinction", _l("Distinction")),
            ],
            True,
        ),
        text("customer_description", _l("Customer's description"), True, extra={"owner": "oem"}),
        text("supplier_description", _l("Supplier's description"), True, extra={"owner": "supplier"}),
        text("effect_customer_plant", _l("Effect at the customer plant")),
        text("effect_vehicle", _l("Effect at vehicle / OEM 0-km")),
        text("effect_field", _l("Effect in the field")),
        date("first_occurrence", _l("First occurrence")),
        line("trend", _l("Trend")),
        boolean("repeat_problem", _l("Repeat problem?")),
        text("other_parts_at_risk", _l("Other parts, lines or plants at risk")),
        text("preliminary_risk", _l("Preliminary risk assessment"), True),
    ),
    "both",
)

D3 = Discipline(
    "D3",
    _l("Interim containment actions"),
    _l("Contain at every location until the permanent fix is proven: supplier WIP and stock, in transit, customer stock."),
    (
        table(
            "ledger",
            _l("Containment ledger"),
            [
                choice("location", _l("Location"), LOCATIONS, True),
                number("suspect", _l("Suspect"), True, min=0),
                number("checked", _l("Checked"), True, min=0),
                number("nok", _l("NOK"), True, min=0),
                number("ok", _l("OK"), min=0),
                choice(
                    "disposition",
                    _l("Disposition"),
                    choices(
                        ("scrap", _l("Scrap")),
                        ("rework", _l("Rework")),
                        ("return", _l("Return")),
                        ("hold", _l("Hold")),
                        ("blocked", _l("Blocked")),
                        ("quarantined", _l("Quarantined")),
                    ),
                ),
                choice("unchecked_disposition", _l("Unchecked parts"), UNCHECKED_DISPOSITIONS),
            ],
            True,
            help=_l("The containment actions themselves are tracked per location below (owner, dates, verification by a second person)."),
        ),
        line("clean_point", _l("Clean point (first certified-good lot or serial)"), True),
        text("certified_marking", _l("Marking of certified shipments"), True),
        text("areas_informed", _l("Areas informed")),
        text("customer_agreement", _l("Customer agreement")),
    ),
)

D4 = Discipline(
    "D4",
    _l("Root cause and escape point"),
    _l("Separate, verified causes for occurrence and non-detection (and the systemic cause), with 5-Why chains."),
    (
        table(
            "causes",
            _l("Root causes"),
            [
                line("ref", _l("Ref."), True, key=True),
                choice("kind", _l("Kind"), CAUSE_KINDS, True),
                text("statement", _l("Root cause statement"), True),
                choice(
                    "tool",
                    _l("Tool"),
                    choices(("5why", _l("5-Why")), ("ishikawa", _l("Ishikawa")), ("is_is_not", _l("Is / Is-Not")), ("test", _l("Test")), ("fta", _l("FTA"))),
                ),
                choice(
                    "verification_method",
                    _l("Verification method"),
                    choices(("measurement", _l("Measurement")), ("observation", _l("Observation")), ("reproduction", _l("Reproduction (turned on and off)"))),
                    True,
                ),
                text("verification_result", _l("Verification result"), True),
                choice(
                    "conclusion",
                    _l("Conclusion"),
                    choices(("pending", _l("Pending")), ("passed", _l("Verified")), ("failed", _l("Not confirmed"))),
                    True,
                ),
                line("verified_by", _l("Verified by")),
                date("verified_on", _l("Verified on")),
                number("contribution_pct", _l("Contribution %"), min=0, max=100),
                evidence("evidence", _l("Verification evidence")),
                line("cascade", _l("Verified in cascaded 8D (number)")),
            ],
            True,
        ),
        table(
            "five_why",
            _l("5-Why chains"),
            [
                line("cause", _l("Cause ref."), True),
                number("level", _l("Why #"), True, min=1, max=10),
                text("why", _l("Why?"), True),
                text("answer", _l("Because"), True),
            ],
        ),
        text("escape_point", _l("Escape point (where the defect should have been caught)"), True),
        table(
            "ishikawa",
            _l("Ishikawa (6M)"),
            [
                choice(
                    "category",
                    _l("Category"),
                    choices(
                        ("man", _l("Man")),
                        ("machine", _l("Machine")),
                        ("method", _l("Method")),
                        ("material", _l("Material")),
                        ("measurement", _l("Measurement")),
                        ("environment", _l("Environment")),
                    ),
                    True,
                ),
                text("candidate", _l("Candidate cause"), True),
                choice("status", _l("Status"), choices(("open", _l("Open")), ("ruled_out", _l("Ruled out")), ("confirmed", _l("Confirmed")))),
            ],
        ),
        text("methodology", _l("Methodology and analysis summary (IATF 16949 10.2.3 c)")),
    ),
)

D5 = Discipline(
    "D5",
    _l("Permanent corrective actions chosen and verified"),
    _l("A verified permanent corrective action for every root cause and for the escape point."),
    (
        text(
            "validation_plan",
            _l("Planned validation"),
            True,
            help=_l("The corrective actions themselves are tracked per cause below (owner, target date, pre-verification with its files)."),
        ),
    ),
)

D6 = Discipline(
    "D6",
    _l("Implement and validate permanent corrective actions"),
    _l("Implement every PCA with evidence, prove effectiveness with data over time, remove containment."),
    (
        text("validation_method", _l("Validation method"), True),
        number("sample_size", _l("Sample size"), True, min=0),
        text("sample_scope", _l("Sample scope (lots, shifts, lines, conditions)"), True),
        text("acceptance_criteria", _l("Acceptance criteria"), True),
        date("period_from", _l("Validation period from"), True),
        date("period_to", _l("Validation period to"), True),
        line("metric_before", _l("Metric before (e.g. ppm)")),
        line("metric_after", _l("Metric after (e.g. ppm)")),
        choice(
            "validation_result",
            _l("Validation result"),
            choices(("pass", _l("Pass")), ("fail", _l("Fail")), ("inconclusive", _l("Inconclusive"))),
            True,
        ),
        evidence("validation_evidence", _l("Validation evidence (data, reports)"), True),
    ),
)

DOC_TYPES = choices(
    ("pfmea", _l("PFMEA")),
    ("dfmea", _l("DFMEA")),
    ("control_plan", _l("Control plan")),
    ("work_instruction", _l("Work instruction")),
    ("inspection_plan", _l("Inspection plan")),
    ("packaging", _l("Packaging / label")),
    ("other", _l("Other")),
)

D7 = Discipline(
    "D7",
    _l("Prevent recurrence"),
    _l("Update PFMEA and control plan, error-proof, transfer the lesson to similar products, lines and plants."),
    (
        table(
            "doc_updates",
            _l("Document updates"),
            [
                choice("doc_type", _l("Document"), DOC_TYPES, True),
                line("doc_no", _l("Document no."), True),
                line("rev_before", _l("Revision before"), True),
                line("rev_after", _l("Revision after"), True),
                text("change", _l("Change"), True),
                date("date", _l("Date")),
                evidence("evidence", _l("Evidence (the revised document)")),
            ],
        ),
        text("pfmea_not_affected", _l("PFMEA not affected - reason")),
        text("control_plan_not_affected", _l("Control plan not affected - reason")),
        table(
            "read_across",
            _l("Read-across (lateral transfer)"),
            [
                line("target", _l("Product / line / plant"), True),
                text("basis", _l("Basis")),
                choice("decision", _l("Decision"), choices(("apply", _l("Apply")), ("na", _l("Not applicable"))), True),
                text("reason", _l("Reason"), True),
                line("owner", _l("Owner")),
                date("due", _l("Due")),
                choice("status", _l("Status"), ACTION_STATUS),
            ],
            help=_l("A row to apply that is not implemented yet needs an owner and a due date: it is tracked as a preventive action after closure."),
        ),
        text("read_across_none_reason", _l("No read-across - because ...")),
        text("systemic_changes", _l("Systemic changes (procedures, standards)")),
        table(
            "lessons",
            _l("Lessons learned"),
            [text("text", _l("Lesson"), True), line("category", _l("Category")), line("tags", _l("Tags"))],
            True,
        ),
    ),
)

D8 = Discipline(
    "D8",
    _l("Closure and recognition"),
    _l("Recognise the team, file the lessons learned; the customer's quality lead approves the closure."),
    (
        text("closure_summary", _l("Closure summary"), True),
        text("recognition", _l("Team recognition"), True),
        boolean("lessons_filed", _l("Lessons learned filed in the lessons-learned database?"), True),
        line("supplier_signoff", _l("Supplier sign-off (name, function)"), True),
    ),
    "both",
)

DISCIPLINES: tuple[Discipline, ...] = (D0, D1, D2, D3, D4, D5, D6, D7, D8)

# Tables that were once discipline fields and are tracked actions now (the one record of the work).
MOVED_TO_ACTIONS: dict[str, dict[str, str]] = {
    "D3": {"containment": "containment"},
    "D5": {"pcas": "corrective"},
    "D6": {"implementation": "corrective", "ica_removal": "containment"},
}
BY_CODE = {d.code: d for d in DISCIPLINES}
