"""Learning across reports, in Chromium: the search box in the header finds a demo report by a
word of its D4 cause - and never one of another supplier."""

from __future__ import annotations

import re

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
    box.fill("clamping fixture")
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
    box.fill("clamping fixture")
    box.press("Enter")
    expect(other.locator("#search-total")).to_have_text("0 reports found")
    expect(other.get_by_text(CELLTECH)).to_have_count(0)
