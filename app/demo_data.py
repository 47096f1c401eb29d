"""The demo's content: its companies and people, and the three stories' texts, tables and
schedules, written against fixed complaint dates (app/demo.py moves them to the day it loads)."""

from __future__ import annotations

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
    # CellTech's nitrogen supplier for the brazing furnaces: the coolant leak is cascaded to it.
    "Elbe Industriegase GmbH": ("supplier", [
        ("admin@elbegas.example", "Frank Seidel", "admin"),
        ("katrin.meier@elbegas.example", "Katrin Meier", "quality_lead"),
        ("paul.krueger@elbegas.example", "Paul Krüger", "engineer"),
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
    "part_return_date": "2026-11-21",
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
        "ledger": [
            {"location": "supplier_wip", "suspect": 120, "checked": 120, "nok": 1, "ok": 119, "disposition": "scrap"},
            {"location": "supplier_stock", "suspect": 228, "checked": 228, "nok": 2, "ok": 226, "disposition": "scrap"},
            {"location": "in_transit", "suspect": 0, "checked": 0, "nok": 0, "ok": 0},
            {"location": "customer_stock", "suspect": 612, "checked": 408, "nok": 3, "ok": 405, "disposition": "return", "unchecked_disposition": "blocked"},
        ],
        "clean_point": "Lot 2611-12, first lot brazed after the nitrogen dew point monitor was installed",
        "certified_marking": "Blue dot on module label plus 'HE-OK' stamp on the box until D6 is closed.",
    },
}
# The coolant story's containment: (owner, verifier, body); the sorting at the customer is late.
COOLANT_CONTAINMENT = [
    ("mia", "lukas", {"kind": "containment", "location": "supplier_wip", "title": "Helium leak test of every module brazed on F2 before assembly",
                      "introduced_on": "2026-11-20", "effective_from": "2026-11-20", "effective_pct": 100, "qty_suspect": 120, "qty_checked": 120, "qty_nok": 1,
                      "due_date": "2026-11-21"}, "The test detects all 4 returned leakers."),
    ("mia", "jana", {"kind": "containment", "location": "supplier_stock", "title": "Sort the finished modules of lot 2611-11 with the helium test",
                     "introduced_on": "2026-11-20", "effective_from": "2026-11-20", "effective_pct": 100, "qty_suspect": 228, "qty_checked": 228, "qty_nok": 2,
                     "due_date": "2026-11-21"}, "Sorting record reviewed by the OEM resident engineer."),
    ("jana", "lukas", {"kind": "containment", "location": "customer_stock", "title": "Block lot 2611-11 in the Volta warehouse (SAP block, hold tags)",
                       "introduced_on": "2026-11-20", "effective_from": "2026-11-20", "effective_pct": 100, "qty_suspect": 612, "due_date": "2026-11-20"},
     "SAP stock report: 612 modules blocked; hold tags checked on site."),
]

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
    "lots": [{"lot_or_serial": "VS-2611-19", "qty": 1200}, {"lot_or_serial": "VS-2611-20", "qty": 1200}],
    "repeat_failure": False,
}
TORQUE = {
    "D0": {
        "symptom": "12 of 2,400 busbar kits (5,000 ppm) had M6 screws pre-assembled at 4-6 Nm instead of 9 Nm +/- 1; found by the Volta torque audit.",
        "era_needed": False,
        "no_era_reason": "All 2,400 kits at Volta were re-torqued and audited on the day of detection; no kit left the Zwickau plant.",
        "full_8d_justified": True,
        "justification": "A loose high-voltage connection can arc and overheat: safety-relevant, cause unknown, full 8D required.",
    },
}


# The closed story: days after its complaint (07:30 on the day of detection) when each discipline
# was saved, advanced (submitted at a review point) and - at a review point - decided by the
# customer. The content's own dates fit in: containment in place on day 0 and verified the next
# morning; parts back on day 2, causes verified on days 4-5; the fixes implemented on days 9-13;
# validation from day 14 to day 41 (four weeks); containment lifted on day 42, D6 passed after
# that, within its 45 days; closure signed on day 47.
WELD_SCHEDULE = {
    "D0": (0.10, 0.15), "D1": (0.20, 0.25), "D2": (0.30, 0.35), "D3": (0.90, 1.00, 1.40),
    "D4": (5.20, 5.50), "D5": (7.90, 8.00, 8.40), "D6": (41.65, 42.50), "D7": (43.50, 44.00),
    "D8": (44.50, 45.00, 47.50),
}
WELD_CLOSED_DAYS_AGO = 4  # closed a few days before the demo is loaded
# Who is who in the example actions (EXAMPLE_ACTIONS' "owner" and "verifier" roles).
WELD_ROLES = {"leader": "lukas.brandt@celltech.example", "champion": "petra.vogel@celltech.example",
              "supplier_member": "mia.schulz@celltech.example", "customer_member": "jana.weber@volta.example"}
# (day, what) of the actions and files of the weld story, between the disciplines' saves.
WELD_EVENTS = [
    (0.40, "create", "D3"), (0.50, "step", "D3"), (0.95, "verify", "D3"),
    (4.50, "upload", 9101), (5.10, "upload", 9102), (5.12, "upload", 9103),
    (7.60, "create", "D5"), (7.70, "start", "D5"),
    (9.45, "implement", "PCA1"), (12.40, "implement", "PCA2"), (13.40, "implement", "PCA3"),
    (14.10, "upload", 9401), (14.12, "upload", 9402),
    (20.00, "create", "D7"), (20.10, "start", "D7"), (36.00, "implement", "PA1"), (38.00, "verify", "D7"),
    (41.50, "upload", 9304), (41.55, "verify", "D5"), (42.08, "lift", None),
]


CASCADE_DESCRIPTION = (
    "Nitrogen delivered to CellTech Dresden for brazing furnace F2: after the supply change, the furnace's dew point alarm went off at "
    "02:10 in the night shift of 2026-11-12. 4 modules brazed in that shift leak at the coolant inlet joint (porosity over 40 % of the "
    "joint length in the CT scan). Please check the dew point and the certificates of the nitrogen deliveries of that week."
)
