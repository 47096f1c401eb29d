"""Journeys through the real pages, in Chromium, the way the people of the README work:

a. an OEM engineer opens a complaint;
b. the supplier's team leader builds the team of both companies on D1 and passes its gate;
c. supplier and OEM engineers edit one discipline at the same time (merge, then a conflict);
d. advancing with holes in the report lists exactly what is missing;
e. the OEM quality lead rejects (comment required), then approves with the password; approving
   D8 closes the report with the signature shown;
f. containment is tracked as an action with its evidence;
g. the supplier declines a complaint that is not theirs: the quality lead refuses, the supplier
   asks again, the quality lead accepts - the report is closed as declined;
h. the supplier's leader cascades a report to its sub-supplier and invites the sub-supplier's
   engineer by e-mail, who joins with the link and edits.

The state a journey starts from is arranged through the JSON API (or is the demo data); the
journey itself only clicks, types and reads what a person sees.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from app.models import utcnow
from tests.browser.support import (
    CELLTECH,
    DEMO_PASSWORD,
    JANA,
    LUKAS,
    MIA,
    PETRA,
    THOMAS,
    VOLTA,
    example,
    header,
    starts,
    walk_to_review_of,
)

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py skips (or fails) every journey and says why
    expect = None

UTC_TIME = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"


def unique(title: str) -> str:
    return f"{title} [{uuid.uuid4().hex[:6]}]"


def flash(page, text: str | re.Pattern):
    return page.get_by_role("status").get_by_text(text)


def status_badge(page, text: str):
    return page.get_by_text(text, exact=True)


def table_cell(page, legend: str, row: int, column: str):
    """The control in a method table's cell, found by the table's legend and the column's header.
    (The cells' own aria-labels are broken - see test_table_cells_have_accessible_names.)"""
    group = page.get_by_role("group", name=starts(legend))
    headers = [h.replace("*", "").strip() for h in group.locator("thead th").all_inner_texts()]
    return group.locator("tbody tr").nth(row).locator("td").nth(headers.index(column)).locator("input, textarea, select")


def discipline_link(page, code: str):
    return page.get_by_role("navigation", name="8D disciplines").get_by_role("link", name=re.compile(rf"^{code}\b"))


# --------------------------------------------------------------------------------------------- a
@pytest.mark.browser
def test_oem_engineer_opens_a_complaint_and_lands_on_the_report(open_as):
    title = unique("Cracked cell-tab laser welds on module BM-12S")
    detected = (utcnow().date() - dt.timedelta(days=2)).isoformat()
    page = open_as(JANA)

    page.get_by_role("link", name="New report").click()
    expect(page.get_by_role("heading", name="Open a new 8D report")).to_be_visible()
    # the OEM engineer's own company is the customer already; she chooses the supplier
    expect(page.get_by_label("Customer (OEM)").locator("option:checked")).to_have_text(VOLTA)
    page.get_by_role("combobox", name="Supplier", exact=True).select_option(label=CELLTECH)
    page.get_by_label(starts("Title")).fill(title)
    page.get_by_label(starts("Customer complaint reference")).fill("VM-QN-2026-20001")
    page.get_by_label(starts("Customer plant")).fill("Volta Motors pack plant Zwickau")
    page.get_by_label(starts("Supplier plant")).fill("CellTech Modules Dresden, line M1")
    page.get_by_label(starts("Part number")).fill("BM-12S-4471")
    page.get_by_label(starts("Part name")).fill("48 V battery module, 12 cells")
    table_cell(page, "Affected lots / batches / serial numbers", 0, "Lot or serial").fill("2611-07")
    table_cell(page, "Affected lots / batches / serial numbers", 0, "Quantity").fill("1200")
    page.get_by_label(starts("Date of detection")).fill(detected)
    page.get_by_label(starts("Detected at")).select_option(label="End-of-line test")
    page.get_by_label(starts("Complaint type")).select_option(label="Safety")
    page.get_by_label(starts("Severity")).select_option(label="Critical")
    page.get_by_label(starts("Quantity complained")).fill("37")
    page.get_by_label(starts("Quantity delivered")).fill("1200")
    page.get_by_label(starts("Repeat failure")).select_option(label="No")
    page.get_by_role("button", name="Open report").click()

    # the report page: number and title, both companies, the header as entered, D0 current
    expect(page).to_have_url(re.compile(r"/reports/\d+$"))
    expect(flash(page, re.compile(r"Report 8D-\d{4}-\d{4} opened\."))).to_be_visible()
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text(title)
    expect(heading).to_contain_text(re.compile(r"8D-\d{4}-\d{4}"))
    expect(page.get_by_text(f"Customer: {VOLTA}")).to_be_visible()
    expect(page.get_by_text(f"Supplier: {CELLTECH}")).to_be_visible()
    expect(status_badge(page, "Open · D0")).to_be_visible()
    expect(page.get_by_role("heading", name="D0 · Prepare and emergency response")).to_be_visible()
    expect(page.get_by_label(starts("Customer plant"))).to_have_value("Volta Motors pack plant Zwickau")
    expect(page.get_by_label(starts("Date of detection"))).to_have_value(detected)
    expect(page.get_by_label(starts("Severity")).locator("option:checked")).to_have_text("Critical")
    expect(table_cell(page, "Affected lots / batches / serial numbers", 0, "Lot or serial")).to_have_value("2611-07")

    # she opened it, so she is its champion (D1's team table)
    discipline_link(page, "D1").click()
    row = page.locator("#team-table tbody tr").filter(has_text="Jana Weber")
    expect(row).to_contain_text(VOLTA)
    expect(page.get_by_label("Role of Jana Weber").locator("option:checked")).to_have_text("Champion")

    # and the report is on her dashboard
    page.get_by_role("link", name="Reports", exact=True).click()
    expect(page.get_by_role("row").filter(has_text=title)).to_contain_text(CELLTECH)


# --------------------------------------------------------------------------------------------- b
@pytest.mark.browser
def test_supplier_leader_builds_the_team_of_both_companies_and_passes_the_d1_gate(open_as, api):
    jana, lukas = api(JANA), api(LUKAS)
    rid = jana.open_report(unique("Cooling plate porosity at the inlet braze"), **header())["id"]
    jana.add_member(rid, lukas.id, "leader", "Supplier quality engineer")
    jana.save(rid, "D0", example("D0"))
    assert jana.advance(rid)["stage"] == "D1"
    jana.change_member(rid, jana.id, role="member", function="Customer SQE")  # the team still lacks a champion

    page = open_as(LUKAS)
    page.goto(f"/reports/{rid}")
    expect(page.get_by_role("heading", name="D1 · Team")).to_be_visible()
    checks = page.get_by_role("complementary").locator(".card").filter(has=page.get_by_role("heading", name="Completion check of D1"))
    expect(checks).to_contain_text("D1: the team needs exactly one champion (now 0).")

    for person, role, function in (("Mia Schulz", "Member", "Brazing process"), ("Petra Vogel", "Champion", "Quality manager")):
        page.get_by_label("Filter people").fill(person.split()[0])
        expect(page.get_by_label("Add a person (type to search by name or e-mail)").locator("option:checked")).to_contain_text(person)
        page.get_by_label("Role on this report").select_option(label=role)
        page.get_by_label("Function", exact=True).fill(function)
        page.get_by_role("button", name="Add", exact=True).click()
        expect(flash(page, "Team member added.")).to_be_visible()

    # the team table: both companies, functions and roles
    rows = page.locator("#team-table tbody tr")
    expect(rows).to_have_count(4)
    expected = {
        "Jana Weber": (VOLTA, "customer", "Customer SQE", "Member"),
        "Lukas Brandt": (CELLTECH, "supplier", "Supplier quality engineer", "Team leader"),
        "Mia Schulz": (CELLTECH, "supplier", "Brazing process", "Member"),
        "Petra Vogel": (CELLTECH, "supplier", "Quality manager", "Champion"),
    }
    for name, (company, side, function, role) in expected.items():
        row = rows.filter(has_text=name)
        expect(row.get_by_role("cell").nth(1)).to_contain_text(company)
        expect(row.get_by_role("cell").nth(1)).to_contain_text(side)
        expect(row.get_by_role("cell").nth(2)).to_have_text(function)
        expect(page.get_by_label(f"Role of {name}").locator("option:checked")).to_have_text(role)

    # the D1 gate holds: nothing blocks any more (warnings, e.g. on due dates, may stay) ...
    expect(checks.locator(".finding-block")).to_have_count(0)
    expect(checks).not_to_contain_text("champion")
    # ... and the team moves on to D2
    page.get_by_role("button", name="Advance to D2").click()
    expect(flash(page, "The report moved on.")).to_be_visible()
    expect(status_badge(page, "Open · D2")).to_be_visible()
    expect(page.get_by_text("working on D2.")).to_be_visible()


# --------------------------------------------------------------------------------------------- c
@pytest.mark.browser
def test_supplier_and_oem_edit_at_the_same_time_merge_and_resolve_a_conflict(open_as, api):
    jana, lukas = api(JANA), api(LUKAS)
    rid = jana.open_report(unique("Busbar weld spatter"), **header())["id"]
    jana.add_member(rid, lukas.id, "leader")

    supplier = open_as(LUKAS)
    oem = open_as(JANA)
    for page in (supplier, oem):
        page.goto(f"/reports/{rid}?d=D2")  # D2 may be worked on ahead of the stage
        expect(page.get_by_text("Version 0", exact=True)).to_be_visible()

    # different fields, both typed from version 0 at the same time: merged, nothing lost
    supplier.get_by_label(starts("Supplier's description")).fill("CT scan: spatter on 3 of 5 returned busbars, weld seam 2.")
    oem.get_by_label(starts("Customer's description")).fill("Pack line 2 found spatter during HV isolation test, 5 packs blocked.")
    supplier.get_by_role("button", name="Save D2").click()
    expect(flash(supplier, "D2 saved (version 1).")).to_be_visible()
    # her page notices his save and keeps what she typed
    expect(oem.locator("#live-banner")).to_contain_text("updated by Lukas Brandt")
    expect(oem.locator("#live-banner")).to_contain_text("your unsaved changes are kept")
    oem.get_by_role("button", name="Save D2").click()
    expect(flash(oem, "D2 saved (version 2).")).to_be_visible()
    supplier.reload()
    for page in (supplier, oem):
        expect(page.get_by_label(starts("Supplier's description"))).to_have_value("CT scan: spatter on 3 of 5 returned busbars, weld seam 2.")
        expect(page.get_by_label(starts("Customer's description"))).to_have_value("Pack line 2 found spatter during HV isolation test, 5 packs blocked.")

    # the same fields, both typed from version 2: the second to save sees the conflict
    supplier.get_by_label(starts("Problem statement")).fill("5 of 4,800 busbars (1,042 ppm) with weld spatter on seam 2.")
    supplier.get_by_label(starts("Preliminary risk assessment")).fill("Medium: spatter may bridge HV insulation.")
    oem.get_by_label(starts("Problem statement")).fill("Weld spatter on busbar seam 2, lot 2611-04, found at HV test.")
    oem.get_by_label(starts("Preliminary risk assessment")).fill("High: HV insulation fault possible, containment within 24 h.")
    supplier.get_by_role("button", name="Save D2").click()
    expect(flash(supplier, "D2 saved (version 3).")).to_be_visible()
    oem.get_by_role("button", name="Save D2").click()

    expect(oem.get_by_role("heading", name="Someone else changed D2 while you were editing")).to_be_visible()
    statement = oem.get_by_role("group", name=starts("Problem statement"))
    risk = oem.get_by_role("group", name=starts("Preliminary risk assessment"))
    column = lambda group, title: group.locator("div").filter(has=oem.get_by_role("heading", name=title, exact=True)).last  # noqa: E731
    expect(column(statement, "Theirs (saved now)")).to_contain_text("5 of 4,800 busbars (1,042 ppm) with weld spatter on seam 2.")
    expect(column(statement, "Yours")).to_contain_text("Weld spatter on busbar seam 2, lot 2611-04, found at HV test.")
    expect(column(risk, "Theirs (saved now)")).to_contain_text("Medium: spatter may bridge HV insulation.")
    expect(column(risk, "Yours")).to_contain_text("High: HV insulation fault possible, containment within 24 h.")
    # nothing of hers is saved yet
    assert jana.report(rid)["disciplines"]["D2"]["fields"]["problem_statement"] == "5 of 4,800 busbars (1,042 ppm) with weld spatter on seam 2."

    # the statement: the combined text, edited; the risk: hers
    statement.get_by_label("Use the combined text below").check()
    combined = statement.get_by_label("Combined text (edit freely)")
    expect(combined).to_have_value(
        "5 of 4,800 busbars (1,042 ppm) with weld spatter on seam 2.\n\nWeld spatter on busbar seam 2, lot 2611-04, found at HV test."
    )
    combined.fill("5 of 4,800 busbars (1,042 ppm) of lot 2611-04 with weld spatter on seam 2, found at the OEM HV test.")
    risk.get_by_label("Keep mine").check()
    oem.get_by_role("button", name="Save my choices").click()

    expect(flash(oem, "D2 saved (version 4).")).to_be_visible()
    supplier.reload()
    for page in (oem, supplier):
        expect(page.get_by_label(starts("Problem statement"))).to_have_value(
            "5 of 4,800 busbars (1,042 ppm) of lot 2611-04 with weld spatter on seam 2, found at the OEM HV test."
        )
        expect(page.get_by_label(starts("Preliminary risk assessment"))).to_have_value("High: HV insulation fault possible, containment within 24 h.")
        expect(page.get_by_label(starts("Supplier's description"))).to_have_value("CT scan: spatter on 3 of 5 returned busbars, weld seam 2.")
        expect(page.get_by_text("Version 4", exact=False).first).to_be_visible()


# --------------------------------------------------------------------------------------------- d
@pytest.mark.browser
def test_advancing_with_the_gate_not_met_lists_exactly_what_is_missing(open_as, api):
    jana, lukas = api(JANA), api(LUKAS)
    rid = jana.open_report(unique("Label with wrong lot number"), **header(oem_plant=None))["id"]
    jana.add_member(rid, lukas.id, "leader")
    jana.save(rid, "D0", {k: v for k, v in example("D0").items() if k != "symptom"})
    missing = ['Header: "Customer plant" is required.', 'D0: "Symptom (defined and quantified)" is required.']
    assert jana.gate_missing(rid) == missing  # the gate's own answer, for the page to match

    page = open_as(LUKAS)
    page.goto(f"/reports/{rid}")
    page.get_by_role("button", name="Advance to D1").click()
    expect(flash(page, "D0 cannot be completed yet; the list shows what is missing.")).to_be_visible()
    listing = page.get_by_role("alert").filter(has=page.get_by_role("heading", name="What is missing before the report can move on"))
    expect(listing.get_by_role("listitem")).to_have_text(missing)
    expect(status_badge(page, "Open · D0")).to_be_visible()

    # fix exactly that, from the same page, and move on
    page.get_by_label(starts("Customer plant")).fill("Volta Motors pack plant Zwickau")
    page.get_by_role("button", name="Save complaint header").click()
    expect(flash(page, "Header saved.")).to_be_visible()
    page.get_by_role("button", name="Advance to D1").click()
    expect(listing.get_by_role("listitem")).to_have_text(missing[1:])
    page.get_by_label(starts("Symptom (defined and quantified)")).fill(
        "37 of 1,200 modules (3.1 %) with cracked cell-tab welds, found at the OEM end-of-line test."
    )
    page.get_by_role("button", name="Save D0").click()
    expect(flash(page, "D0 saved (version 2).")).to_be_visible()
    page.get_by_role("button", name="Advance to D1").click()
    expect(flash(page, "The report moved on.")).to_be_visible()
    expect(status_badge(page, "Open · D1")).to_be_visible()
    expect(page.get_by_role("alert").filter(has_text="What is missing")).to_have_count(0)


# --------------------------------------------------------------------------------------------- e
@pytest.mark.browser
def test_quality_lead_rejects_with_a_comment_then_approves_the_resubmission_with_the_password(open_as):
    # the demo's coolant leak waits for the customer's review of D3
    lead = open_as(THOMAS)
    lead.get_by_role("row").filter(has_text="Coolant leak").get_by_role("link", name=re.compile(r"^8D-\d{4}-\d{4}$")).click()
    expect(status_badge(lead, "In review · D3")).to_be_visible()
    review = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Your review of D3"))

    # a rejection needs a comment
    review.get_by_label("Reject and send back").check()
    review.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "A comment is required.")).to_be_visible()
    expect(status_badge(lead, "In review · D3")).to_be_visible()

    review.get_by_label("Reject and send back").check()
    review.get_by_label("Comment (required when rejecting)").fill("Ledger: in-transit stock has no source. Add the carrier's count.")
    review.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "Your decision was recorded.")).to_be_visible()
    expect(status_badge(lead, "Open · D3")).to_be_visible()
    reviews = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Customer reviews and signatures"))
    expect(reviews.locator(".review-entry").first).to_contain_text("rejected by Thomas Richter")
    expect(reviews.locator(".review-entry").first).to_contain_text("Ledger: in-transit stock has no source.")

    # the team sees why, and resubmits
    team = open_as(LUKAS)
    team.goto(lead.url)
    expect(status_badge(team, "Open · D3")).to_be_visible()
    expect(team.get_by_text("Ledger: in-transit stock has no source. Add the carrier's count.")).to_be_visible()
    team.get_by_label("Comment (optional)").fill("Carrier count added: 0 modules in transit (DHL manifest 2611-11).")
    team.get_by_role("button", name="Submit D3 for customer review").click()
    expect(flash(team, "The report moved on.")).to_be_visible()
    expect(status_badge(team, "In review · D3")).to_be_visible()
    expect(team.get_by_text("Waiting for the customer: a quality lead of Volta Motors AG reviews D3.")).to_be_visible()

    # the quality lead approves, signing with his password
    lead.reload()
    expect(review.get_by_label(re.compile(r"^Approve"))).to_be_checked()
    review.get_by_label("Your password (electronic signature, asked for approvals)").fill(DEMO_PASSWORD)
    review.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "Your decision was recorded.")).to_be_visible()
    expect(status_badge(lead, "Open · D4")).to_be_visible()
    latest = reviews.locator(".review-entry").first
    expect(latest).to_contain_text("D3 approved")
    expect(latest.locator(".signature")).to_have_text(re.compile(rf"Signed by Thomas Richter, {UTC_TIME}, meaning: D3 approved"))


@pytest.mark.browser
def test_approving_d8_closes_the_report_with_the_signature_shown(open_as, api):
    jana, lukas, thomas = api(JANA), api(LUKAS), api(THOMAS)
    mia, petra = api(MIA), api(PETRA)
    title = unique("Cell-tab weld cracks, second plant")
    rid = jana.open_report(title, **header())["id"]
    jana.add_member(rid, lukas.id, "leader", "Supplier quality engineer")
    jana.add_member(rid, mia.id, "member", "Laser welding")
    jana.change_member(rid, jana.id, role="member", function="Customer SQE")
    lukas.add_member(rid, petra.id, "champion", "Quality manager")
    walk_to_review_of(lukas, thomas, rid, until="D8", team={"leader": lukas, "champion": petra, "supplier_member": mia, "customer_member": jana})

    lead = open_as(THOMAS)
    lead.goto(f"/reports/{rid}")
    expect(status_badge(lead, "In review · D8")).to_be_visible()
    review = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Your review of D8"))
    expect(review.get_by_label(re.compile(r"^Approve — closes the report"))).to_be_checked()
    expect(review).to_contain_text('By approving you sign as Thomas Richter; your name, the UTC time and the meaning "closure approved" are recorded')

    # a wrong password signs nothing
    review.get_by_label("Your password (electronic signature, asked for approvals)").fill("not-my-password")
    review.get_by_role("button", name="Record decision").click()
    expect(lead.get_by_text("The password is not correct. The signature was not applied.")).to_be_visible()
    assert thomas.report(rid)["status"] == "in_review"
    # the quality lead stays on the report and can sign again at once
    expect(status_badge(lead, "In review · D8")).to_be_visible()

    review.get_by_label("Your password (electronic signature, asked for approvals)").fill(DEMO_PASSWORD)
    review.get_by_label("Comment (required when rejecting)").fill("Closure accepted: PCAs validated over 3 lots.")
    review.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "Your decision was recorded.")).to_be_visible()
    expect(status_badge(lead, "Closed · D8")).to_be_visible()
    expect(lead.get_by_text(re.compile(rf"Closed on {UTC_TIME}\. Only a customer quality lead can reopen it\."))).to_be_visible()
    reviews = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Customer reviews and signatures"))
    closure = reviews.locator(".review-entry").first
    expect(closure).to_contain_text("D8 approved")
    expect(closure.locator(".signature")).to_have_text(re.compile(rf"^\s*Signed by Thomas Richter, {UTC_TIME}, meaning: closure approved\s*SHA-256 [0-9a-f]{{16}}…\s*$"))
    expect(closure).to_contain_text("Closure accepted: PCAs validated over 3 lots.")
    signature = thomas.report(rid)["signature"]
    assert signature["signed_by"] == "Thomas Richter" and signature["meaning"] == "closure approved"
    assert signature["signed_at"][:16].replace("T", " ") in closure.locator(".signature").inner_text()

    # closed means frozen, for the team too
    team = open_as(LUKAS)
    team.goto(f"/reports/{rid}?d=D2")
    expect(team.get_by_text("The report is closed; its content is frozen.")).to_be_visible()
    expect(team.get_by_role("button", name="Save D2")).to_have_count(0)


@pytest.mark.browser
def test_table_cells_have_accessible_names(open_as):
    """Screen readers name every cell of the method's tables ("Lot or serial 1")."""
    page = open_as(JANA)
    page.goto("/reports/new")
    expect(page.get_by_role("heading", name="Open a new 8D report")).to_be_visible()
    assert page.get_by_role("textbox", name="Lot or serial 1", exact=True).count() == 1
    assert page.get_by_role("textbox", name="Quantity 1", exact=True).count() == 1


# --------------------------------------------------------------------------------------------- f
@pytest.mark.browser
def test_a_containment_action_with_an_evidence_upload(open_as, api, tmp_path):
    """The supplier leader tracks a containment action for supplier stock, assigns it, and the
    owner attaches the sorting record to it; the upload is listed with its SHA-256."""
    import hashlib

    jana, lukas = api(JANA), api(LUKAS)
    rid = jana.open_report(unique("Containment with evidence"), **header())["id"]
    jana.add_member(rid, lukas.id, "leader")
    mia = api(MIA)
    lukas.add_member(rid, mia.id, "member")

    page = open_as(LUKAS)
    page.goto(f"/reports/{rid}?d=D3")
    actions = page.locator("#actions")
    actions.get_by_text("Add a containment action").click()
    actions.get_by_label("Title").fill("Sort supplier stock with 4-wire resistance re-test")
    actions.get_by_label("Owner", exact=True).select_option(label="Mia Schulz (CellTech Modules GmbH)")
    actions.get_by_label("Due date").fill((utcnow().date() + dt.timedelta(days=14)).isoformat())
    actions.get_by_label("Location").select_option("supplier_stock")
    actions.get_by_role("button", name="Add action").click()
    expect(flash(page, "Action added and assigned to Mia Schulz.")).to_be_visible()

    owner = open_as(MIA)
    owner.goto("/actions/mine")
    owner.get_by_role("link", name="Sort supplier stock with 4-wire resistance re-test").click()
    record = tmp_path / "sorting-record-2611.csv"
    record.write_text("lot;checked;nok\n2611-03;1600;9\n2611-04;1600;0\n")
    evidence = owner.get_by_role("region", name="Evidence for this action")
    evidence.get_by_label("Files (several at once)").set_input_files(str(record))
    evidence.get_by_label("Description").fill("Sorting record, Dresden warehouse")
    evidence.get_by_role("button", name="Upload evidence").click()
    expect(flash(owner, "1 file(s) added as evidence.")).to_be_visible()
    expect(evidence.get_by_role("link", name="sorting-record-2611.csv")).to_be_visible()
    expect(evidence).to_contain_text(hashlib.sha256(record.read_bytes()).hexdigest())


@pytest.mark.browser
def test_saving_a_discipline_does_not_reload_the_page(open_as, api):
    jana = api(JANA)
    rid = jana.open_report(unique("Saved in place"), **header())["id"]
    page = open_as(JANA)
    page.goto(f"/reports/{rid}?d=D2")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    page.get_by_label(starts("Problem statement")).fill("37 of 4,800 modules with cracked welds")
    page.get_by_role("button", name="Save D2").click()
    expect(flash(page, "D2 saved (version 1).")).to_be_visible()
    expect(page.get_by_text("Version 1", exact=False).first).to_be_visible()
    assert navigations == []  # htmx swapped the discipline, the sequence and the checks in place


@pytest.mark.browser
def test_a_password_reset_in_the_browser_leaves_its_key_in_no_log(browser, live_server, tmp_path):
    """The link's key rides in the fragment: the page's script moves it into the form and out of
    the address bar; the server, its access log and its security log never see it."""
    from pathlib import Path

    from sqlalchemy import create_engine, text

    email = "tim.berger@celltech.example"
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="UTC")
    try:
        page = context.new_page()
        page.goto("/password/forgot")
        page.get_by_label("E-mail").fill(email)
        page.get_by_role("button", name="Send me a link").click()
        expect(page.get_by_text("If the address belongs to an account")).to_be_visible()
        engine = create_engine(live_server.database_url)
        with engine.connect() as conn:
            body = conn.execute(text("SELECT body_text FROM outbox_message WHERE event = 'account.password_reset' ORDER BY id DESC")).first()[0]
        engine.dispose()
        link = re.search(r"(https?://\S+/password/reset#\S+)", body).group(1)
        key = link.split("#", 1)[1]
        page.goto(link)
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        expect(page.get_by_label("The link from the e-mail")).to_be_hidden()  # filled in by the page itself
        assert "#" not in page.url
        page.get_by_label("New password (at least 12 characters)").fill("a-brand-new-long-password")
        page.get_by_label("The same again").fill("a-brand-new-long-password")
        page.get_by_role("button", name="Change password").click()
        expect(page.get_by_text("Your password was changed. Sign in with the new one.")).to_be_visible()
    finally:
        context.close()
    logs = {"server log": live_server.log.read_text(errors="replace")}
    logs.update({str(p): p.read_text(errors="replace") for p in Path(live_server.log).parent.rglob("*.log*") if p.is_file()})
    assert "GET /password/reset " in logs["server log"] and "POST /password/reset " in logs["server log"]
    for name, content in logs.items():
        assert key not in content and key.rsplit(".", 1)[-1] not in content, f"the reset key is in the {name}"


# --------------------------------------------------------------------------------------------- g
@pytest.mark.browser
def test_the_supplier_declines_the_customer_refuses_then_accepts(open_as, api):
    from app.demo import evidence_bytes

    jana, lukas = api(JANA), api(LUKAS)
    title = unique("Scratched module housing")
    rid = jana.open_report(title, **header())["id"]
    jana.add_member(rid, lukas.id, "leader")
    photo = lukas.upload(rid, "D0", "housing-mould-mark.png", evidence_bytes("housing-mould-mark.png", "Mould mark"), description="Mould mark")

    supplier = open_as(LUKAS)
    supplier.goto(f"/reports/{rid}")
    decline = supplier.locator("#decline")
    decline.get_by_text("Decline this complaint").click()
    decline.get_by_label("Why the complaint is not ours").select_option(label="Not our part")
    decline.get_by_label("Comment for the customer's quality lead").fill("The returned housing carries another supplier's mould mark (cavity 7).")
    decline.get_by_label(re.compile("housing-mould-mark.png")).check()
    decline.get_by_role("button", name="Ask the customer to decline").click()
    expect(flash(supplier, "The decline was submitted to the customer's quality lead.")).to_be_visible()
    expect(status_badge(supplier, "In review · D0")).to_be_visible()
    expect(supplier.get_by_text("Waiting for the customer: a quality lead of Volta Motors AG decides on the decline.")).to_be_visible()

    # the quality lead sees why, with the evidence, and refuses with a comment
    lead = open_as(THOMAS)
    lead.goto(f"/reports/{rid}")
    request = lead.locator("#decline-request")
    expect(request).to_contain_text("The supplier asks to decline the complaint")
    expect(request).to_contain_text("Not our part")
    expect(request).to_contain_text("cavity 7")
    expect(request.get_by_role("link", name="housing-mould-mark.png")).to_be_visible()
    decide = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Your decision on the decline"))
    decide.get_by_label(re.compile(r"^Refuse")).check()
    decide.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "A comment is required.")).to_be_visible()
    decide.get_by_label(re.compile(r"^Refuse")).check()
    decide.get_by_label("Comment (required when refusing)").fill("Cavity 7 is one of your moulds: see the drawing.")
    decide.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "Your decision was recorded.")).to_be_visible()
    expect(status_badge(lead, "Open · D0")).to_be_visible()

    # the supplier asks again, for another reason; the quality lead accepts with the password
    supplier.reload()
    expect(supplier.get_by_text("Cavity 7 is one of your moulds: see the drawing.")).to_be_visible()
    decline.get_by_text("Decline this complaint").click()
    decline.get_by_label("Why the complaint is not ours").select_option(label="Caused at the customer")
    decline.get_by_label("Comment for the customer's quality lead").fill("The scratches match the rack of the OEM's pack line 2.")
    decline.get_by_label(re.compile("housing-mould-mark.png")).check()
    decline.get_by_role("button", name="Ask the customer to decline").click()
    expect(flash(supplier, "The decline was submitted to the customer's quality lead.")).to_be_visible()

    lead.reload()
    expect(decide.get_by_label(re.compile(r"^Accept the decline"))).to_be_checked()
    decide.get_by_label("Your password (electronic signature, asked for approvals)").fill(DEMO_PASSWORD)
    decide.get_by_role("button", name="Record decision").click()
    expect(flash(lead, "Your decision was recorded.")).to_be_visible()
    expect(status_badge(lead, "Closed · D0")).to_be_visible()
    reviews = lead.get_by_role("complementary").locator(".card").filter(has=lead.get_by_role("heading", name="Customer reviews and signatures"))
    expect(reviews.locator(".review-entry").first).to_contain_text("decline accepted")
    expect(reviews.locator(".review-entry").first.locator(".signature")).to_have_text(re.compile(rf"Signed by Thomas Richter, {UTC_TIME}, meaning: decline accepted"))
    expect(reviews.locator(".review-entry").nth(1)).to_contain_text("decline refused")
    lead.get_by_role("link", name="Reports", exact=True).click()
    expect(lead.get_by_role("row").filter(has_text=title)).to_contain_text("declined")
    assert jana.report(rid)["outcome"] == "declined" and photo["id"] in jana.report(rid)["reviews"][-1]["evidence"]


# --------------------------------------------------------------------------------------------- h
@pytest.mark.browser
def test_the_supplier_cascades_invites_the_sub_suppliers_engineer_who_joins_and_edits(open_as, browser, live_server):
    """CellTech's team leader cascades the coolant leak (the demo's report in review) to its
    nitrogen supplier with the form, invites the supplier's engineer by e-mail on the new 8D; the
    engineer opens the link, chooses a name and a password, lands on the report and edits it. The
    link works once. Volta's quality lead sees that a cascade exists, not its content."""
    from sqlalchemy import create_engine, text

    from tests.browser.test_accessibility import serious_violations

    elbe = "Elbe Industriegase GmbH"
    title = unique("Dew point of the nitrogen for furnace F1")
    email = f"ines.{uuid.uuid4().hex[:6]}@elbegas.example"
    page = open_as(LUKAS)
    page.goto("/reports/2")
    cascades = page.locator("#cascades")
    cascades.get_by_text("Cascade to a sub-supplier").click()
    cascades.get_by_label("Sub-supplier", exact=True).select_option(label=elbe)
    cascades.get_by_label("Title of the cascaded 8D").fill(title)
    cascades.get_by_label(starts("Problem description passed on")).fill("Furnace F1 dew point alarm at 03:40; 2 modules leak at the inlet joint.")
    cascades.get_by_role("button", name="Open the cascaded 8D").click()
    expect(flash(page, re.compile(rf"Cascaded 8D 8D-\d{{4}}-\d{{4}} opened with {elbe}"))).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title)
    expect(page.get_by_text(f"Customer: {CELLTECH}")).to_be_visible()
    expect(page.locator("#cascades")).to_contain_text("Cascaded from")
    child_url = re.sub(r"\?.*$", "", page.url)

    # D1 of the new 8D: invite the nitrogen supplier's engineer
    invite = page.locator("#invite-form")
    invite.get_by_label("E-mail", exact=True).fill(email)
    invite.get_by_label("Name", exact=True).fill("Ines Invited")
    invite.get_by_label("Company", exact=True).select_option(label=elbe)
    invite.get_by_label("Joins as").select_option(value="engineer")
    invite.get_by_role("button", name="Invite").click()
    expect(flash(page, f"Invitation sent to {email}; the link works once, for 7 days.")).to_be_visible()
    expect(page.locator("#invitation-table").get_by_role("row").filter(has_text=email)).to_contain_text("waiting")

    engine = create_engine(live_server.database_url)
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body_text FROM outbox_message WHERE to_email = :e ORDER BY id DESC"), {"e": email}).first()[0]
    engine.dispose()
    link = re.search(r"(https?://\S+/invitations/\S+)", body).group(1)

    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="UTC")
    try:
        guest = context.new_page()
        guest.goto(link)
        expect(guest.get_by_role("heading", name="Accept the invitation")).to_be_visible()
        assert serious_violations(guest) == []
        guest.get_by_label("Your name (as your colleagues see it)").fill("Ines Invited")
        guest.get_by_label("Choose a password (at least 12 characters)").fill("nitrogen-dew-point-minus-40")
        guest.get_by_label("The same again").fill("nitrogen-dew-point-minus-40")
        guest.get_by_role("button", name="Join the team").click()
        expect(flash(guest, "Welcome, Ines Invited. You are on the team of this report.")).to_be_visible()
        assert re.sub(r"\?.*$", "", guest.url) == child_url
        discipline_link(guest, "D1").click()
        expect(guest.locator("#team-table")).to_contain_text("Ines Invited")
        expect(guest.get_by_text("Cascaded from")).to_have_count(0)  # the sub-supplier never sees the parent
        # she edits the supplier's description of D2
        discipline_link(guest, "D2").click()
        field = guest.get_by_label(starts("Supplier's description"))
        field.fill("Dew point of the deliveries of that week: -32 °C against -40 °C specified; certificate values were copied.")
        guest.get_by_role("button", name="Save D2").click()
        expect(flash(guest, "D2 saved (version 2).")).to_be_visible()  # version 1: the description passed on
        guest.reload()
        expect(guest.get_by_label(starts("Supplier's description"))).to_have_value(re.compile("-32 °C against -40 °C"))
        # the link worked once
        guest.goto(link)
        expect(guest.get_by_text("This invitation link no longer works")).to_be_visible()
    finally:
        context.close()

    # the customer of the parent: the cascade exists (number, supplier, stage, status), nothing of its content
    thomas = open_as(THOMAS)
    thomas.goto("/reports/2")
    row = thomas.locator("#cascade-table").get_by_role("row").filter(has_text=elbe).first
    expect(row).to_be_visible()
    expect(thomas.locator("#cascades")).not_to_contain_text(title)
