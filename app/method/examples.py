"""A complete, realistic example of every discipline: cracked cell-tab laser welds on a 48 V
battery module, found at the OEM's end-of-line test. It documents the API for integrators
(`GET /api/v1/method`) and it is what the demo data is made of.

Three parts, all consistent with each other and honest in their dates (parts back on 09-04 before
the causes are verified on 09-06/07; the fixes implemented 09-11..09-15; four weeks of validation
09-16..10-13; containment lifted on 10-14, after the validation ended):

- EXAMPLES: every discipline's field values. Evidence fields hold placeholder ids (9xxx) that
  stand for the files of EXAMPLE_EVIDENCE: upload those files to the report and put their real
  attachment ids in place of the placeholders.
- EXAMPLE_ACTIONS: per discipline, the bodies for `POST /reports/{id}/actions` - containment (D3),
  corrective (D5) and preventive (D7) actions, the one record of that work. Besides the API's
  fields each carries: `owner` (a team role: leader, champion, supplier_member, customer_member -
  put the person's `owner_id` in its place), `verifier` (who takes it to verified: someone other
  than the owner) and `verification` (the text of that step).
- EXAMPLE_ACTION_UPDATES: D6's facts about those actions, as `PATCH /actions/{id}` bodies keyed by
  the action's `ref`: implementation date and evidence, and the lifting of the containment.

Created, verified by someone other than the owner, and with the files in place, each discipline's
part passes that discipline's completion rules (tests/test_method_rules.py, tests/test_api_workflow.py).
"""

from __future__ import annotations

HEADER_EXAMPLE = {
    "title": "Cracked cell-tab laser welds on 48 V module BM-12S, EOL resistance failures",
    "complaint_ref": "VM-QN-2026-09873",
    "oem_plant": "Volta Motors pack plant Zwickau",
    "supplier_plant": "CellTech Modules Dresden, line M2",
    "part_number": "BM-12S-4471",
    "part_name": "48 V battery module, 12 cells in series, busbar assembly",
    "customer_part_no": "VM-4471-220-C",
    "lots": [
        {"lot_or_serial": "2609-03", "qty": 1600},
        {"lot_or_serial": "2609-04", "qty": 1600},
        {"lot_or_serial": "2609-05", "qty": 1600},
    ],
    "detected_on": "2026-09-02",
    "detected_at": "end_of_line",
    "complaint_type": "safety",
    "severity": "critical",
    "qty_complained": 37,
    "qty_delivered": 4800,
    "qty_returned": 37,
    "part_return_date": "2026-09-04",
    "repeat_failure": False,
    "related_report": "",
}

EXAMPLES: dict[str, dict] = {
    "D0": {
        "symptom": (
            "37 of 4,800 modules BM-12S (lots 2609-03 to 2609-05, 7,708 ppm) failed the end-of-line "
            "internal resistance test at the Zwickau pack line: cell-tab to busbar joint resistance "
            "0.31-0.48 mOhm against a limit of 0.15 mOhm. Cracks along the laser weld seam are visible "
            "at 10x magnification on all 37 returned modules."
        ),
        "affected_parties": "Volta Motors pack plant Zwickau (pack line 2), Volta warehouse Zwickau, CellTech Dresden line M2.",
        "era_needed": True,
        "era": [
            {
                "action": "Block all modules of lots 2609-03..05 at the pack line and in the Volta warehouse (hold tag, SAP block)",
                "where": "Volta Zwickau pack line 2 and warehouse",
                "owner": "Jana Weber (Volta SQE)",
                "date": "2026-09-02",
                "effective_pct": 100,
                "verification": "SAP stock report: 1,920 modules blocked, hold tags checked by logistics on 2026-09-02 22:00",
            },
            {
                "action": "Stop shipments of BM-12S from Dresden until 100 % resistance re-test is in place",
                "where": "CellTech Dresden shipping",
                "owner": "Lukas Brandt (CellTech quality)",
                "date": "2026-09-02",
                "effective_pct": 100,
                "verification": "Shipping hold confirmed in CellTech ERP, no BM-12S goods issue after 2026-09-02 18:40",
            },
        ],
        "full_8d_justified": True,
        "justification": (
            "Safety-relevant: a high-resistance cell joint heats up under load and can start a thermal event. "
            "Three lots are affected, the cause is unknown and the OEM requires a full 8D for every safety complaint."
        ),
    },
    "D1": {
        "notes": "Weld process engineer from the laser supplier joins the analysis of D4 as a guest (no edit rights).",
    },
    "D2": {
        "problem_statement": (
            "37 of 4,800 modules BM-12S from lots 2609-03 to 2609-05 (7,708 ppm) have cracked laser welds "
            "between cell tab and aluminium busbar; joint resistance 0.31-0.48 mOhm exceeds the 0.15 mOhm limit "
            "at the OEM end-of-line test."
        ),
        "w5h2": [
            {"question": "who", "answer": "Detected by the Volta EOL tester on pack line 2, Zwickau; produced on CellTech line M2, welding station W3."},
            {"question": "what", "answer": "Crack along the laser seam of the cell tab to busbar weld, cell positions 1-4, leading to joint resistance up to 0.48 mOhm."},
            {"question": "where", "answer": "Only modules from line M2, station W3; cracks on the negative tabs at positions 1 to 4 next to the clamp edge."},
            {"question": "when", "answer": "Production 2026-08-27 to 2026-08-30, after the clamping fixture of W3 was replaced on 2026-08-26."},
            {"question": "why", "answer": "High-resistance joints heat up under load: thermal event risk in the vehicle; blocks the OEM pack line."},
            {"question": "how", "answer": "Found by the 4-wire joint resistance measurement in the EOL test; confirmed by micro-section at CellTech lab."},
            {"question": "how_many", "answer": "37 NOK of 4,800 delivered (7,708 ppm); 1,920 suspect modules at the OEM, 640 in transit, 2,240 at CellTech."},
        ],
        "is_is_not": [
            {"dimension": "what", "is": "BM-12S modules, negative cell tabs at positions 1-4", "is_not": "Positive tabs, positions 5-12, other module types (BM-8S)", "distinction": "Positions 1-4 sit next to the new clamp edge"},
            {"dimension": "where", "is": "Line M2, welding station W3", "is_not": "Line M1, station W1/W2 on line M2", "distinction": "Only W3 received the new clamping fixture"},
            {"dimension": "when", "is": "Produced 2026-08-27 to 2026-08-30", "is_not": "Before 2026-08-26 or after 2026-08-31 (fixture shimmed)", "distinction": "Fixture change on 2026-08-26"},
            {"dimension": "how_much", "is": "37 modules, 1-3 cracked welds each", "is_not": "Not all modules of the lots; no open welds", "distinction": "Clamp gap varies 0.05-0.25 mm across the fixture"},
        ],
        "customer_description": (
            "Pack line 2 stopped 3 times on 2026-09-02: EOL test 'cell joint resistance high' on 37 packs. "
            "Packs were reworked by replacing the module; 37 modules returned to CellTech."
        ),
        "supplier_description": (
            "Returned modules confirmed: micro-sections show a crack through the heat-affected zone of the "
            "negative tab weld, caused by a gap between tab and busbar during welding."
        ),
        "effect_customer_plant": "3 line stops (47 min in total), 37 packs reworked.",
        "effect_vehicle": "None: no affected pack left the Zwickau plant.",
        "effect_field": "None known; vehicles built before 2026-08-27 use modules from unaffected lots.",
        "first_occurrence": "2026-09-02",
        "trend": "37 NOK in three lots, none since the clamp was shimmed on 2026-08-31",
        "repeat_problem": False,
        "other_parts_at_risk": "BM-16S uses the same W3 fixture design on line M3 (checked in D7 read-across).",
        "preliminary_risk": (
            "High: a cracked joint can open under vibration and heat up under load (thermal event). "
            "Severity 10 in the PFMEA; containment at all locations is mandatory within 24 hours."
        ),
    },
    "D3": {
        "ledger": [
            {"location": "supplier_wip", "suspect": 180, "checked": 180, "nok": 2, "ok": 178, "disposition": "scrap"},
            {"location": "supplier_stock", "suspect": 2060, "checked": 2060, "nok": 9, "ok": 2051, "disposition": "scrap"},
            {"location": "in_transit", "suspect": 640, "checked": 640, "nok": 3, "ok": 637, "disposition": "return"},
            {"location": "customer_stock", "suspect": 1920, "checked": 1920, "nok": 11, "ok": 1909, "disposition": "return"},
        ],
        "clean_point": "Module serial BM12S-2609-05-1201 (lot 2609-05, first module after the fixture was shimmed and re-tested)",
        "certified_marking": "Green dot on the module label and 'CERT-8D-0042' on the box label until D6 validation is complete.",
        "areas_informed": "CellTech production, logistics, shipping; Volta pack line 2, incoming inspection, warehouse.",
        "customer_agreement": "Containment agreed with Jana Weber (Volta SQE) on 2026-09-02.",
    },
    "D4": {
        "causes": [
            {"ref": "C1", "kind": "occurrence", "statement": "Replacement clamping fixture on W3 leaves a gap of up to 0.25 mm between negative tab and busbar at positions 1-4; the laser seam bridges the gap and cracks on cooling.", "tool": "is_is_not", "verification_method": "reproduction", "verification_result": "Welds with 0.20 mm shim: 12 of 12 cracked; with 0.05 mm: 0 of 12. Problem switched on and off twice.", "conclusion": "passed", "verified_by": "Lukas Brandt", "verified_on": "2026-09-06", "contribution_pct": 100, "evidence": [9101]},
            {"ref": "C2", "kind": "non_detection", "statement": "In-line weld monitoring on W3 checks only seam length and laser power, not joint resistance; the 0.15 mOhm check exists only at the OEM EOL test.", "tool": "5why", "verification_method": "measurement", "verification_result": "All 37 NOK modules passed the in-line weld monitor; 4-wire resistance test at W3 exit catches 12 of 12 cracked samples.", "conclusion": "passed", "verified_by": "Lukas Brandt", "verified_on": "2026-09-07", "contribution_pct": 100, "evidence": [9102]},
            {"ref": "C3", "kind": "systemic", "statement": "Fixture replacement is handled as maintenance, not as a process change: no first-article weld check and no PFMEA review is required after a fixture change.", "tool": "5why", "verification_method": "observation", "verification_result": "Maintenance procedure MP-117 rev C reviewed: no requalification step after fixture replacement.", "conclusion": "passed", "verified_by": "Petra Vogel", "verified_on": "2026-09-07", "evidence": [9103]},
        ],
        "five_why": [
            {"cause": "C1", "level": 1, "why": "Why did the welds crack?", "answer": "The seam bridged a gap between tab and busbar and cracked on cooling."},
            {"cause": "C1", "level": 2, "why": "Why was there a gap?", "answer": "The clamp did not press the negative tabs flat at positions 1-4."},
            {"cause": "C1", "level": 3, "why": "Why did the clamp not press them flat?", "answer": "The replacement fixture's clamp fingers are 0.2 mm shorter (drawing rev B instead of rev C)."},
            {"cause": "C2", "level": 1, "why": "Why was the crack not detected at CellTech?", "answer": "The weld monitor checks seam length and power only."},
            {"cause": "C2", "level": 2, "why": "Why is joint resistance not measured in-line?", "answer": "The control plan relied on the OEM's EOL test for the resistance characteristic."},
        ],
        "escape_point": "Welding station W3 exit: the first point where joint resistance can be measured; the control plan had no check there.",
        "ishikawa": [
            {"category": "machine", "candidate": "Replacement clamping fixture, short clamp fingers", "status": "confirmed"},
            {"category": "material", "candidate": "Cell tab thickness out of tolerance", "status": "ruled_out"},
            {"category": "method", "candidate": "Laser power profile changed", "status": "ruled_out"},
            {"category": "man", "candidate": "Wrong fixture installed by maintenance", "status": "confirmed"},
            {"category": "measurement", "candidate": "EOL tester calibration drift", "status": "ruled_out"},
            {"category": "environment", "candidate": "Hall temperature above 30 C", "status": "ruled_out"},
        ],
        "methodology": "Is / Is-Not narrowed the problem to W3 after 2026-08-26; reproduction trial with shims switched the failure on and off; 5-Why for occurrence, detection and system.",
    },
    "D5": {
        "validation_plan": "Validate with 4 weeks of production on line M2 (all shifts) after the last implementation: joint resistance distribution and EOL ppm at Volta.",
    },
    "D6": {
        "validation_method": "Joint resistance of every module at W3 exit and EOL results at Volta, compared with the 4 weeks before the fixture change.",
        "sample_size": 9600,
        "sample_scope": "Lots 2609-08 to 2609-13, all three shifts, line M2, stations W1-W3, including two fixture changes.",
        "acceptance_criteria": "0 NOK at EOL; joint resistance Cpk >= 1.67 against the 0.15 mOhm limit.",
        "period_from": "2026-09-16",
        "period_to": "2026-10-13",
        "metric_before": "7,708 ppm at EOL",
        "metric_after": "0 ppm at EOL, Cpk 2.1",
        "validation_result": "pass",
        "validation_evidence": [9304],
    },
    "D7": {
        "doc_updates": [
            {"doc_type": "pfmea", "doc_no": "PFMEA-BM12S-M2", "rev_before": "F", "rev_after": "G", "change": "Failure mode 'tab/busbar gap at clamping' added, occurrence 6 -> 2 with rev C fixture and coding pin; detection 8 -> 2 with in-line resistance test.", "date": "2026-09-16", "evidence": [9401]},
            {"doc_type": "control_plan", "doc_no": "CP-BM12S-M2", "rev_before": "11", "rev_after": "12", "change": "Characteristic 'joint resistance' added at W3 exit, 100 %, 4-wire, reaction plan: lock in MES.", "date": "2026-09-16", "evidence": [9402]},
            {"doc_type": "work_instruction", "doc_no": "MP-117", "rev_before": "C", "rev_after": "D", "change": "Fixture change = process change; first-article micro-section required.", "date": "2026-09-15"},
        ],
        "read_across": [
            {"target": "Line M3, module BM-16S (same fixture design)", "basis": "Same clamp design and weld process", "decision": "apply", "reason": "Same failure mode possible; coding pin and resistance test added (PA1).", "owner": "Lukas Brandt", "due": "2026-10-09", "status": "implemented"},
            {"target": "Line M1 (ultrasonic welding)", "basis": "Different joining technology", "decision": "na", "reason": "Ultrasonic welding does not bridge gaps; failure mode not applicable.", "owner": "Lukas Brandt", "status": "verified"},
        ],
        "systemic_changes": "Maintenance procedure MP-117 rev D; fixture drawings now carry a coding pin position per revision.",
        "lessons": [
            {"text": "A fixture change on a joining station is a process change: requalify with a first-article check and review the PFMEA.", "category": "Process change", "tags": "laser welding, fixture, PFMEA"},
            {"text": "Do not rely on the customer's end-of-line test for a safety characteristic: measure it where it is made.", "category": "Detection", "tags": "control plan, escape point"},
        ],
    },
    "D8": {
        "closure_summary": "Root causes verified and removed, detection added at the escape point, 9,600 modules validated with 0 ppm over 4 weeks; containment lifted on 2026-10-14.",
        "recognition": "Thanks to the Dresden line M2 team and the Volta resident engineers for sorting 4,800 modules within 48 hours, and to the lab for the reproduction trial.",
        "lessons_filed": True,
        "supplier_signoff": "Petra Vogel, Quality Manager, CellTech Modules",
    },
}


# Placeholder attachment id -> the file it stands for: (discipline, file name, what it shows).
EXAMPLE_EVIDENCE: dict[int, tuple[str, str, str]] = {
    9001: ("D3", "ICA1-retest-report.csv", "4-wire re-test of all WIP modules on line M2, 10 known NOK modules included"),
    9002: ("D3", "ICA2-sorting-record.csv", "Sorting record of the Dresden warehouse, countersigned by the OEM resident engineer"),
    9003: ("D3", "ICA3-sorting-service.txt", "Report of the third-party sorting service in Chemnitz"),
    9004: ("D3", "ICA4-daily-sheets.csv", "Daily sorting sheets of the Volta warehouse"),
    9101: ("D4", "C1-reproduction-trial.pdf", "Shim trial: 12 of 12 cracked with 0.20 mm, 0 of 12 with 0.05 mm"),
    9102: ("D4", "C2-detection-study.csv", "In-line weld monitor vs 4-wire resistance on cracked samples"),
    9103: ("D4", "MP-117-review-notes.txt", "Review of maintenance procedure MP-117 rev C"),
    9201: ("D5", "PCA1-trial-200.csv", "Trial run of 200 modules with the rev C fixture"),
    9202: ("D5", "PCA2-grr-and-trial.csv", "Gauge R&R and detection trial of the W3 exit resistance test"),
    9203: ("D5", "MP-117-revD-draft.txt", "Draft of MP-117 rev D, walked through with maintenance"),
    9301: ("D6", "PCA1-installation-record.txt", "Installation of the rev C fixture with coding pin on W3"),
    9302: ("D6", "PCA2-MES-release-note.txt", "MES release note: resistance test and interlock live at W3 exit"),
    9303: ("D6", "MP-117-revD-released.txt", "MP-117 rev D released"),
    9304: ("D6", "validation-W3-joint-resistance.csv", "4 weeks of joint resistance at W3 exit and EOL results"),
    9401: ("D7", "PFMEA-BM12S-M2-revG.pdf", "PFMEA rev G, failure mode added, occurrence and detection re-rated"),
    9402: ("D7", "CP-BM12S-M2-rev12.pdf", "Control plan rev 12 with the joint resistance characteristic"),
    9403: ("D7", "M3-coding-pin-installation.png", "Coding pins installed on the line M3 fixtures"),
}

EXAMPLE_ACTIONS: dict[str, list[dict]] = {
    "D3": [
        {"kind": "containment", "ref": "ICA1", "location": "supplier_wip", "title": "100 % 4-wire joint resistance re-test of all WIP modules on line M2",
         "owner": "leader", "due_date": "2026-09-03", "introduced_on": "2026-09-02", "effective_from": "2026-09-02", "effective_pct": 100,
         "qty_suspect": 180, "qty_checked": 180, "qty_nok": 2, "evidence": [9001],
         "verifier": "customer_member", "verification": "Re-test of 10 known NOK modules: all 10 detected."},
        {"kind": "containment", "ref": "ICA2", "location": "supplier_stock", "title": "Sort all finished modules in the Dresden warehouse with the same re-test",
         "owner": "leader", "due_date": "2026-09-03", "introduced_on": "2026-09-02", "effective_from": "2026-09-02", "effective_pct": 100,
         "qty_suspect": 2060, "qty_checked": 2060, "qty_nok": 9, "evidence": [9002],
         "verifier": "customer_member", "verification": "Sorting record checked by the OEM resident engineer."},
        {"kind": "containment", "ref": "ICA3", "location": "in_transit", "title": "Recall the two trucks in transit and sort at a third-party sorting service in Chemnitz",
         "owner": "supplier_member", "due_date": "2026-09-03", "introduced_on": "2026-09-02", "effective_from": "2026-09-02", "effective_pct": 100,
         "qty_suspect": 640, "qty_checked": 640, "qty_nok": 3, "evidence": [9003],
         "verifier": "leader", "verification": "Sorting service report, witnessed by the OEM SQE."},
        {"kind": "containment", "ref": "ICA4", "location": "customer_stock", "title": "Resident sorting team re-tests all blocked modules in the Volta warehouse before release",
         "owner": "customer_member", "due_date": "2026-09-03", "introduced_on": "2026-09-02", "effective_from": "2026-09-02", "effective_pct": 100,
         "qty_suspect": 1920, "qty_checked": 1920, "qty_nok": 11, "evidence": [9004],
         "verifier": "leader", "verification": "Daily sorting sheets countersigned by Volta logistics."},
    ],
    "D5": [
        {"kind": "corrective", "ref": "PCA1", "causes": ["C1"], "cause": "occurrence",
         "title": "Replace the W3 clamping fixture with drawing rev C and add a poka-yoke pin so that only rev C fixtures fit the station.",
         "owner": "leader", "due_date": "2026-09-11",
         "pre_verification": "Trial run of 200 modules with rev C fixture: gap <= 0.05 mm on all positions, 0 cracks in 30 micro-sections.",
         "error_proofing": "Coding pin rejects rev B fixtures mechanically.", "pre_verification_evidence": [9201],
         "verifier": "champion", "verification": "4 weeks of validation (D6): 0 cracked welds, Cpk 2.1 at W3 exit."},
        {"kind": "corrective", "ref": "PCA2", "causes": ["C2"], "cause": "non_detection",
         "title": "Add an automatic 4-wire joint resistance test at W3 exit with interlock: NOK modules are locked out in the MES.",
         "owner": "supplier_member", "due_date": "2026-09-14",
         "pre_verification": "Gauge R&R 6.2 %; detects 12 of 12 cracked samples and 0 false calls in 500 good modules.",
         "error_proofing": "MES interlock prevents shipping of untested or NOK modules.", "pre_verification_evidence": [9202],
         "verifier": "leader", "verification": "Seeded NOK samples locked out in the MES on every shift of the validation."},
        {"kind": "corrective", "ref": "PCA3", "causes": ["C3"], "cause": "systemic",
         "title": "Change procedure MP-117: a fixture change on a weld station is a process change requiring first-article micro-section and PFMEA review.",
         "owner": "champion", "due_date": "2026-09-15",
         "pre_verification": "Procedure walked through with maintenance on line M1 fixture change: all steps executable in 2 hours.",
         "error_proofing": "Maintenance work order cannot be closed in CMMS without the first-article record.", "pre_verification_evidence": [9203],
         "verifier": "leader", "verification": "Two fixture changes during the validation followed MP-117 rev D with first-article records."},
    ],
    "D7": [
        {"kind": "preventive", "ref": "PA1", "target": "Line M3, module BM-16S (same fixture design)",
         "title": "Coding pins and an exit resistance test on the weld stations of line M3", "owner": "leader", "due_date": "2026-10-09",
         "description": "Read-across of PCA1 and PCA2 to line M3.", "evidence": [9403],
         "verifier": "champion", "verification": "First-article micro-sections on M3 after the change: 0 gaps over 0.05 mm."},
    ],
}

# D6: the facts about the actions above - implemented (when, with which files) and containment lifted.
EXAMPLE_ACTION_UPDATES: dict[str, list[dict]] = {
    "D6": [
        {"ref": "PCA1", "implemented_on": "2026-09-11", "implementation_evidence": [9301]},
        {"ref": "PCA2", "implemented_on": "2026-09-14", "implementation_evidence": [9302]},
        {"ref": "PCA3", "implemented_on": "2026-09-15", "implementation_evidence": [9303]},
        {"ref": "ICA1", "removed_at": "2026-10-14T08:00:00Z"},
        {"ref": "ICA2", "removed_at": "2026-10-14T08:00:00Z"},
        {"ref": "ICA3", "removed_at": "2026-10-14T08:30:00Z"},
        {"ref": "ICA4", "removed_at": "2026-10-14T09:00:00Z"},
    ],
}

# What is not an action's field: the placeholders an integrator replaces, and the later steps.
EXAMPLE_ACTION_NOTES = ("owner", "verifier", "verification")


def action_body(example: dict, owner_id: int, evidence_ids: dict[int, int] | None = None) -> dict:
    """The POST body of an example action: the owner's id in place of its role, real attachment
    ids in place of the placeholders."""
    body = {k: v for k, v in example.items() if k not in EXAMPLE_ACTION_NOTES}
    body["owner_id"] = owner_id
    return replace_evidence(body, evidence_ids or {})


def replace_evidence(value, evidence_ids: dict[int, int]):
    """A copy of `value` (values of a discipline, an action body) with every placeholder id of
    EXAMPLE_EVIDENCE replaced by the real attachment id in `evidence_ids`."""
    if isinstance(value, dict):
        return {k: replace_evidence(v, evidence_ids) for k, v in value.items()}
    if isinstance(value, list):
        return [evidence_ids.get(v, v) if isinstance(v, int) and v in EXAMPLE_EVIDENCE else replace_evidence(v, evidence_ids) for v in value]
    return value
