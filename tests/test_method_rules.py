"""The completion rules a strict reviewer applies (8D-METHOD.md, "Gates")."""

from __future__ import annotations

import datetime as dt

import pytest

from app.method import CODES, EXAMPLES, HEADER_EXAMPLE, GateContext, check_discipline, gate_missing_items, on_save
from tests.helpers import example, header

TEAM = [
    {"role": "champion", "company_kind": "supplier", "email": "c@s.example"},
    {"role": "leader", "company_kind": "supplier", "email": "l@s.example"},
    {"role": "member", "company_kind": "oem", "email": "m@o.example"},
]


def ctx_with(code=None, values=None, head=None, team=TEAM):
    all_values = {c: example(c) for c in CODES}
    if code:
        all_values[code] = values
    return GateContext(header=head or header(), values=all_values, team=team, opened_on=dt.date(2026, 9, 2), today=dt.date(2026, 11, 25))


def missing(code, values=None, **kw):
    return " | ".join(gate_missing_items(ctx_with(code, values if values is not None else example(code), **kw), code))


@pytest.mark.usefixtures("ctx")
@pytest.mark.parametrize("code", CODES)
def test_every_example_passes_its_own_gate_and_an_empty_discipline_does_not(code):
    assert gate_missing_items(ctx_with(), code) == []
    if code != "D1":
        assert gate_missing_items(ctx_with(code, {}), code)


@pytest.mark.usefixtures("ctx")
class TestGates:
    def test_header_and_era(self):
        assert "Header" in missing("D0", head=header(part_number=None))
        d0 = example("D0")
        d0["era"] = []
        assert "emergency response actions" in missing("D0", d0)
        assert "cannot exceed" in missing("D0", head=header(qty_complained=5000, qty_delivered=4800))

    def test_team_needs_one_champion_one_leader_and_both_companies(self):
        assert "champion" in missing("D1", team=TEAM[1:])
        assert "from the customer" in missing("D1", team=TEAM[:2])
        two_leaders = TEAM + [{"role": "leader", "company_kind": "oem", "email": "x@o.example"}]
        assert "exactly one team leader" in missing("D1", team=two_leaders)

    def test_problem_statement_needs_a_number_and_is_is_not_all_four_dimensions(self):
        d2 = example("D2")
        d2["problem_statement"] = "Welds are cracked on some modules"
        assert "must contain a number" in missing("D2", d2)
        d2 = example("D2")
        d2["is_is_not"] = [r for r in d2["is_is_not"] if r["dimension"] != "when"]
        assert '"When"' in missing("D2", d2)
        d2 = example("D2")
        d2["w5h2"] = d2["w5h2"][:5]
        assert "5W2H" in missing("D2", d2)

    def test_containment_at_every_location_and_a_balanced_ledger(self):
        d3 = example("D3")
        d3["containment"] = [a for a in d3["containment"] if a["location"] != "in_transit"]
        d3["ledger"] = [r for r in d3["ledger"] if r["location"] != "in_transit"]
        assert "In transit" in missing("D3", d3)
        d3 = example("D3")
        d3["ledger"] = [r for r in d3["ledger"] if r["location"] != "in_transit"] + [{"location": "in_transit", "suspect": 0, "checked": 0, "nok": 0, "ok": 0}]
        d3["containment"] = [a for a in d3["containment"] if a["location"] != "in_transit"]
        assert missing("D3", d3) == ""  # an explicit "0 suspect" row covers a location
        d3 = example("D3")
        d3["ledger"][0]["ok"] = 170
        assert "does not balance" in missing("D3", d3)
        d3 = example("D3")
        d3["ledger"][0]["disposition"] = None
        assert "without a disposition" in missing("D3", d3)
        d3 = example("D3")
        for a in d3["containment"]:
            a["status"] = "in_progress"
        assert "verified" in missing("D3", d3)

    def test_root_causes_need_occurrence_and_escape_verified_and_no_operator_error(self):
        d4 = example("D4")
        d4["causes"] = [c for c in d4["causes"] if c["kind"] != "non_detection"]
        d4["causes"][0]["contribution_pct"] = 100
        assert "non-detection" in missing("D4", d4)
        d4 = example("D4")
        d4["causes"][0]["conclusion"] = "pending"
        assert "not verified" in missing("D4", d4)
        d4 = example("D4")
        d4["causes"][1]["contribution_pct"] = 30
        assert "add up to 100" in missing("D4", d4)
        d4 = example("D4")
        d4["causes"] = [c for c in d4["causes"] if c["kind"] != "systemic"]
        d4["causes"][0]["statement"] = "Operator error at station W3"
        assert "operator error" in missing("D4", d4)

    def test_editing_a_verified_cause_resets_it_to_pending(self):
        old = {"causes": [{"id": "a", "ref": "C1", "statement": "Gap at clamp", "conclusion": "passed"}]}
        new = {"causes": [{"id": "a", "ref": "C1", "statement": "Gap at clamp fingers", "conclusion": "passed"}]}
        notes = on_save("D4", old, new)
        assert new["causes"][0]["conclusion"] == "pending" and notes

    def test_every_cause_needs_a_pca_and_training_alone_is_not_enough(self):
        d5 = example("D5")
        d5["pcas"] = [p for p in d5["pcas"] if "C2" not in p["causes"]]
        out = missing("D5", d5)
        assert "C2 has no permanent corrective action" in out and "detection action" in out
        d5 = example("D5")
        d5["pcas"][0]["action"] = "Retrain the operators on fixture handling"
        d5["pcas"][0]["error_proofing"] = None
        assert "only addressed by training" in missing("D5", d5)
        d5["pcas"][0]["action"] = "Retrain the operators and install a presence sensor on the clamp"
        assert "only addressed by training" not in missing("D5", d5)
        d5 = example("D5")
        d5["pcas"][0]["causes"] = "C9"
        assert "does not list" in missing("D5", d5)

    def test_validation_and_containment_removal(self):
        d6 = example("D6")
        d6["implementation"] = d6["implementation"][:2]
        assert "PCA3 is not recorded as implemented" in missing("D6", d6)
        d6 = example("D6")
        d6["sample_size"] = 0
        assert "greater than zero" in missing("D6", d6)
        d6 = example("D6")
        d6["validation_result"] = "inconclusive"
        assert "has not passed" in missing("D6", d6)
        d6 = example("D6")
        d6["ica_removal"] = d6["ica_removal"][:3]
        assert "ICA4 has not been removed" in missing("D6", d6)
        d6 = example("D6")
        d6["ica_removal"][0]["removed_on"] = "2026-09-25"
        assert "removed before the validation passed" in missing("D6", d6)
        d6 = example("D6")
        d6["period_to"] = "2026-09-18"
        assert "after the last implementation" in missing("D6", d6)

    def test_pfmea_and_control_plan_updated_or_not_affected_with_reason(self):
        d7 = example("D7")
        d7["doc_updates"] = [d for d in d7["doc_updates"] if d["doc_type"] != "control_plan"]
        assert "control plan" in missing("D7", d7)
        d7["control_plan_not_affected"] = "Characteristic already in the control plan at 100 %."
        assert missing("D7", d7) == ""
        d7 = example("D7")
        d7["doc_updates"][0]["rev_after"] = d7["doc_updates"][0]["rev_before"]
        assert "PFMEA" in missing("D7", d7)
        d7 = example("D7")
        d7["lessons"] = []
        assert "Lessons learned" in missing("D7", d7)
        d7 = example("D7")
        d7["read_across"][0]["status"] = "in_progress"
        assert "read-across row 1" in missing("D7", d7)

    def test_warnings_do_not_block(self):
        d6 = example("D6")
        d6["sample_scope"] = "Everything produced in November"
        findings = check_discipline(ctx_with("D6", d6), "D6")
        assert any(f.level == "warn" and "sample scope" in f.message for f in findings)
        assert not [f for f in findings if f.level == "block"]


def test_examples_are_consistent_with_the_header():
    assert HEADER_EXAMPLE["qty_complained"] <= HEADER_EXAMPLE["qty_delivered"]
    assert set(EXAMPLES) == set(CODES)
