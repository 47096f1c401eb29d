"""axe-core (vendored from its npm package under tests/vendor) finds no serious or critical
violation on the main pages, at laptop and tablet widths: the dashboard, every discipline of every
demo report (the closed one, the one in review with an overdue action, the one just opened), a
report whose every due date has passed, the action lists and the admin pages. The pages work with
the keyboard."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from app.method import CODES, HEADER_EXAMPLE
from app.models import utcnow
from tests.browser.support import JANA, LUKAS, THOMAS

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1" / "axe.min.js").read_text()
SVEN = "sven.lind@nordpack.example"
# Who looks at each demo report: its supplier's team leader (edit forms) - the OEM's quality lead
# for the one waiting for his review (he sees its cascade content-free), CellTech's leader on the
# cascade of it to CellTech's nitrogen supplier (its champion there: the invitation form and list).
DEMO_REPORTS = {1: LUKAS, 2: THOMAS, 3: LUKAS, 4: SVEN}
PAGES = [
    (LUKAS, "/"),
    (JANA, "/"),
    *[(who, f"/reports/{rid}?d={code}") for rid, who in DEMO_REPORTS.items() for code in CODES],
    (LUKAS, "/reports/2?d=D3"),
    (LUKAS, "/reports/2?d=D4"),
    (LUKAS, "/reports/1/history"),
    (LUKAS, "/actions"),
    (LUKAS, "/actions/mine"),
    (JANA, "/actions/mine"),  # the demo's overdue containment action is hers
    (JANA, "/reports/2/actions"),
    (LUKAS, "/reports/new"),
    (JANA, "/kpis"),  # the KPIs with their charts, of the OEM and of a supplier
    (LUKAS, "/kpis"),
    (LUKAS, "/account"),
    (LUKAS, "/search?q=clamping+fixture"),
    (SVEN, "/search?q=clamping+fixture"),
    (LUKAS, "/lessons"),
    ("admin@volta.example", "/admin/users"),
    ("admin@volta.example", "/admin/companies"),
    ("operator@8d-workbench.example", "/admin/companies"),  # the supplier links
    ("admin@volta.example", "/admin/notifications"),
]


def serious_violations(page) -> list[str]:
    page.evaluate(AXE)  # evaluated through the DevTools protocol: the page's CSP stays strict
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _late_report(api) -> int:
    """A report of Jana's whose complaint lies 100 days back: every due date has passed."""
    detected = (utcnow().date() - dt.timedelta(days=100)).isoformat()
    jana = api(JANA)
    celltech = next(c["id"] for c in jana.call("GET", "/api/v1/companies")["items"] if c["name"] == "CellTech Modules GmbH")
    header = {**HEADER_EXAMPLE, "title": "Late report: every due date has passed", "detected_on": detected, "part_return_date": None}
    report = jana.call("POST", "/api/v1/reports", {**header, "oem_id": jana.me["company"]["id"], "supplier_id": celltech})
    assert all(due < utcnow().date().isoformat() for due in report["due"].values())
    return report["id"]


@pytest.fixture(scope="module")
def late_report_id(live_server, _tokens):
    from tests.browser.support import Api

    def api(email):
        if email not in _tokens:
            _tokens[email] = Api(live_server.url, email)
        return _tokens[email]

    return _late_report(api)


def check_pages(open_as, pages, width, locale: str = "en-GB") -> dict:
    found = {}
    opened = {}
    for email, path in pages:
        if email not in opened:
            opened[email] = open_as(email, locale=locale)
        page = opened[email]
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path)
        assert page.locator("html").get_attribute("lang") == locale[:2], path
        problems = serious_violations(page)
        if problems:
            found[path] = problems
    return found


@pytest.fixture(scope="module")
def webhook_pages(live_server, _tokens) -> list[tuple[str, str]]:
    """Volta's admin registers a webhook: its list and its (empty) delivery page."""
    from tests.browser.support import Api

    admin = "admin@volta.example"
    if admin not in _tokens:
        _tokens[admin] = Api(live_server.url, admin)
    hook = _tokens[admin].call("POST", "/api/v1/admin/webhooks", {"url": "https://93.184.216.34/volta-erp", "events": ["report.closed"]})
    return [(admin, "/admin/webhooks"), (admin, f"/admin/webhooks/{hook['id']}")]


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 820])
def test_main_pages_have_no_serious_accessibility_violations(open_as, late_report_id, webhook_pages, width):
    late = [(JANA, f"/reports/{late_report_id}?d={code}") for code in ("D0", "D3", "D8")] + [(JANA, "/")]
    assert check_pages(open_as, PAGES + late + webhook_pages, width) == {}


@pytest.mark.browser
@pytest.mark.parametrize("locale", ["de-DE", "zh-CN"])
def test_the_main_pages_in_german_and_chinese_have_no_serious_accessibility_violations(open_as, late_report_id, locale):
    """The same pages as the browser asks for German or Chinese (Accept-Language): longer German
    words and CJK text must not break labels, contrast or the layout's landmarks."""
    late = [(JANA, f"/reports/{late_report_id}?d={code}") for code in ("D0", "D3", "D8")]
    assert check_pages(open_as, PAGES + late, 1366, locale) == {}


@pytest.mark.browser
def test_overdue_is_said_in_words_not_only_in_colour(open_as, late_report_id):
    page = open_as(JANA)
    page.goto(f"/reports/{late_report_id}?d=D0")
    sequence = page.get_by_role("navigation", name="8D disciplines")
    # the current discipline (D0) and every later one are past due; each says so in words
    word = re.compile(r"^\W*overdue$")
    assert sequence.get_by_text(word).count() == len(CODES)
    page.goto("/actions/mine")
    assert page.get_by_role("row").filter(has_text="Helium-test the 612 blocked modules").get_by_text(word).count() == 1


@pytest.mark.browser
def test_the_login_page_is_accessible_and_works_with_the_keyboard(browser, live_server):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    try:
        page.goto("/login")
        assert serious_violations(page) == []
        # the e-mail field has the focus when the page opens; the rest is Tab and Enter
        assert page.evaluate("document.activeElement.id") == "email"
        page.keyboard.type(LUKAS)
        page.keyboard.press("Tab")
        page.keyboard.type("demo-password-8d")
        page.keyboard.press("Enter")
        page.wait_for_url("**/")
        assert "8D reports" in page.content()
    finally:
        context.close()


@pytest.mark.browser
def test_the_demo_lives_in_the_present_even_a_year_from_now(future_server, open_future_as):
    """No time bomb: the demo loaded and served with the clock FUTURE_DAYS ahead places its stories
    around that day, and its pages still pass axe (overdue marks included)."""
    from tests.browser.conftest import FUTURE_DAYS
    from tests.browser.support import Api

    future_today = utcnow().date() + dt.timedelta(days=FUTURE_DAYS)
    around = {future_today - dt.timedelta(days=1), future_today, future_today + dt.timedelta(days=1)}  # a day may turn meanwhile
    jana = Api(future_server.url, JANA)
    reports = {r["id"]: jana.call("GET", f"/api/v1/reports/{r['id']}") for r in jana.call("GET", "/api/v1/reports")["items"]}
    closed, in_review, opened = (reports[i] for i in sorted(reports))  # the cascade (3) is not hers to see
    assert closed["status"] == "closed" and 2 <= (future_today - dt.date.fromisoformat(closed["closed_at"][:10])).days <= 7
    assert (future_today - dt.date.fromisoformat(closed["created_at"][:10])).days >= 40  # some weeks of work
    assert in_review["status"] == "in_review" and in_review["stage"] == "D3"
    assert dt.date.fromisoformat(in_review["review"]["requested_at"][:10]) + dt.timedelta(days=1) in around
    assert 1 <= (dt.date.fromisoformat(in_review["due"]["D4"]) - future_today).days <= 6  # D4 due in a few days
    overdue = jana.call("GET", "/api/v1/actions?overdue=true")["items"]
    assert [a["report_id"] for a in overdue] == [2]
    assert opened["status"] == "open" and opened["stage"] == "D1" and dt.date.fromisoformat(opened["created_at"][:10]) in around
    for r in (closed, in_review, opened):
        assert r["number"] == f"8D-{r['created_at'][:4]}-{r['number'][-4:]}"
    assert check_pages(open_future_as, PAGES, 1366) == {}
