"""Learning across reports, in Chromium: the search box in the header finds a demo report by a
word of its D4 cause - and never one of another supplier."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.browser.support import CELLTECH, LUKAS

try:
    from playwright.sync_api import expect
except ImportError:  # conftest.py skips (or fails) every journey and says why
    expect = None

SVEN = "sven.lind@nordpack.example"  # another supplier of Volta


@pytest.mark.browser
def test_the_header_search_finds_a_cause_and_never_another_suppliers_report(open_as):
    page = open_as(LUKAS)
    box = page.get_by_role("searchbox", name="Search all reports")
    box.fill("clamp fingers")  # words of the weld story's D4 cause (the 5-Why), in no other discipline
    box.press("Enter")
    expect(page.get_by_role("heading", name="Search all 8D reports")).to_be_visible()
    hit = page.locator(".search-hit").first
    expect(hit).to_contain_text(CELLTECH)
    expect(hit).to_contain_text("Found in D4")
    expect(hit.locator("mark").first).to_be_visible()
    # the filters narrow: found in D4 only, then a status with no such report
    page.get_by_label("Found in").select_option("D4")
    page.get_by_role("button", name="Search", exact=True).last.click()
    expect(page.locator("#search-total")).to_contain_text("found")
    hit.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/reports/\d+#D4$"))

    other = open_as(SVEN)
    box = other.get_by_role("searchbox", name="Search all reports")
    box.fill("clamp fingers")
    box.press("Enter")
    expect(other.locator("#search-total")).to_have_text("0 reports found")
    expect(other.get_by_text(CELLTECH)).to_have_count(0)


@pytest.mark.browser
def test_closing_starts_a_watch_that_a_recurrence_flags_and_that_ends_not_effective(open_as, api):
    from tests.browser.support import DEMO_PASSWORD, JANA, MIA, PETRA, THOMAS, header, walk_to_review_of

    jana, lukas, thomas = api(JANA), api(LUKAS), api(THOMAS)
    mia, petra = api(MIA), api(PETRA)
    part = f"BM-W-{uuid.uuid4().hex[:6]}"
    rid = jana.open_report(f"Cracked welds on tab [{part}]", **{**header(), "part_number": part})["id"]
    jana.add_member(rid, lukas.id, "leader", "Supplier quality engineer")
    jana.add_member(rid, mia.id, "member", "Laser welding")
    jana.change_member(rid, jana.id, role="member", function="Customer SQE")
    lukas.add_member(rid, petra.id, "champion", "Quality manager")
    walk_to_review_of(lukas, thomas, rid, until="D8", team={"leader": lukas, "champion": petra, "supplier_member": mia, "customer_member": jana})

    lead = open_as(THOMAS)
    lead.goto(f"/reports/{rid}")
    review = lead.locator(".card").filter(has=lead.get_by_role("heading", name="Your review of D8"))
    review.get_by_label("Effectiveness watch after closure (days, 0 = none)").fill("30")
    review.get_by_label("Criterion of the watch").fill("No cracked weld at the EOL test for 30 days")
    review.get_by_label("Your password (electronic signature, asked for approvals)").fill(DEMO_PASSWORD)
    review.get_by_role("button", name="Record decision").click()
    panel = lead.locator("#effectiveness")
    expect(panel).to_contain_text("Watching")
    expect(panel).to_contain_text("No cracked weld at the EOL test for 30 days")
    assert thomas.report(rid)["effectiveness"]["status"] == "watching"

    # a new report of the same part and failure mode during the watch flags it
    recurrence = lukas.open_report(f"Cracked weld again [{part}]", **{**header(), "part_number": part})
    lead.reload()
    expect(lead.locator("#watch-recurrences")).to_contain_text(recurrence["number"])
    lead.get_by_role("link", name="Reports", exact=True).click()
    expect(lead.locator("#watches")).to_contain_text(thomas.report(rid)["number"])

    # not effective: the reason and the signature reopen the report at D4
    lead.goto(f"/reports/{rid}?d=D8")
    panel = lead.locator("#effectiveness")
    panel.get_by_label("Not effective - reopen the report at D4").check()
    panel.get_by_label("Comment (required when not effective: it is the reason for reopening)").fill("The weld cracks came back in week 3.")
    panel.get_by_label("Your password (electronic signature)").fill(DEMO_PASSWORD)
    panel.get_by_role("button", name="Sign the decision").click()
    expect(lead.get_by_role("status").get_by_text("Not effective: the report is open again at D4 with a new revision.")).to_be_visible()
    report = thomas.report(rid)
    assert report["status"] == "open" and report["stage"] == "D4" and report["revision"] == 1
    assert report["effectiveness"]["status"] == "not_effective"
