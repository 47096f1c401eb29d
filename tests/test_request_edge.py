"""One request edge: the dashboard and the API filter the report list with the same rules and say
the same thing about a bad filter (the page shows it, the API answers 400 with it); pages never
reach into the API package for their parsing or file serving."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from app.extensions import db
from app.services import reports
from tests.conftest import login

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def two_reports(parties):
    p = parties
    a = reports.create_report(p.sup_eng, {"title": "Cracked welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "BM-12S"})
    b = reports.create_report(p.sup_eng, {"title": "Coolant leak", "oem_id": p.oem.id, "supplier_id": p.supplier.id, "part_number": "CP-7"})
    db.session.commit()
    return a, b


@pytest.mark.parametrize("args, message", [
    ("status=bogus", "'status' must be open, in_review or closed."),
    ("stage=D9", "'stage' must be one of D0-D8."),
    ("supplier_id=abc", "'supplier_id' must be an integer."),
    ("overdue=maybe", "'overdue' must be true or false."),
])
def test_a_bad_filter_is_the_same_message_on_the_page_and_in_the_api(app, parties, two_reports, api, args, message):
    answer = api(parties.sup_eng).get(f"/api/v1/reports?{args}")
    assert answer.status_code == 400 and answer.get_json()["message"] == message
    page = app.test_client()
    login(page, parties.sup_eng)
    html = page.get(f"/?{args}").get_data(as_text=True)
    assert message.replace("'", "&#39;") in html
    assert "Cracked welds" in html and "Coolant leak" in html  # the list stays, unfiltered


def test_the_same_filter_lists_the_same_reports(app, parties, two_reports, api):
    listed = api(parties.sup_eng).get("/api/v1/reports?q=weld&status=open").get_json()["items"]
    assert [r["title"] for r in listed] == ["Cracked welds"]
    page = app.test_client()
    login(page, parties.sup_eng)
    html = page.get("/?q=weld&status=open").get_data(as_text=True)
    assert "Cracked welds" in html and "Coolant leak" not in html


def test_pages_never_import_the_api_package():
    offenders = []
    for path in (ROOT / "app" / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n == "app.api" or n.startswith("app.api.")]
    assert offenders == []
