"""axe-core (vendored from its npm package under tests/vendor) finds no serious or critical
violation on the main pages, at laptop and tablet widths; the pages work with the keyboard."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.support import LUKAS, THOMAS

AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-core-4.14.1" / "axe.min.js").read_text()
PAGES = [
    (LUKAS, "/"),
    (LUKAS, "/reports/2?d=D3"),
    (LUKAS, "/reports/2?d=D4"),
    (LUKAS, "/reports/1?d=D1"),
    (THOMAS, "/reports/2"),
    (LUKAS, "/reports/1/history"),
    (LUKAS, "/actions"),
    (LUKAS, "/actions/mine"),
    (LUKAS, "/reports/new"),
    (LUKAS, "/account"),
    ("admin@volta.example", "/admin/users"),
    ("admin@volta.example", "/admin/companies"),
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


@pytest.mark.browser
@pytest.mark.parametrize("width", [1366, 820])
def test_main_pages_have_no_serious_accessibility_violations(open_as, width):
    found = {}
    pages = {}
    for email, path in PAGES:
        if email not in pages:
            pages[email] = open_as(email)
        page = pages[email]
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(path)
        problems = serious_violations(page)
        if problems:
            found[path] = problems
    assert found == {}


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
