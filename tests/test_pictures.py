"""The pictures of a report: the D4 Ishikawa table as a fishbone, the 5-Why chains as a tree per
cause, the D3 ledger as a Pareto of NOK parts by location - on the page (SVG with a text
alternative) and in the PDF."""

from __future__ import annotations

import io
import re

import pytest

from app.extensions import db as _db
from app.models import DisciplineEntry
from app.services import reports as report_service
from app.web.pictures import fishbone, nok_by_location, why_tree
from tests.conftest import login
from tests.helpers import example


@pytest.fixture
def drawn(parties):
    p = parties
    r = report_service.create_report(p.oem_eng, {"title": "Cracked cell-tab welds", "oem_id": p.oem.id, "supplier_id": p.supplier.id})
    _db.session.flush()
    for code in ("D3", "D4"):
        entry = _db.session.query(DisciplineEntry).filter_by(report_id=r.id, code=code).one()
        entry.values = example(code)
    _db.session.commit()
    return r


def test_nok_pareto_sums_per_location_largest_first(ctx):
    rows = [{"location": "customer_stock", "nok": 11}, {"location": "supplier_stock", "nok": 9},
            {"location": "customer_stock", "nok": 4}, {"location": "in_transit", "nok": 0}, {"location": "supplier_wip", "nok": "x"}]
    svg, table = nok_by_location(rows)
    assert table == [("Customer stock", 15, 15 / 24), ("Supplier stock", 9, 1.0)]
    assert 'role="img"' in svg and "<desc" in svg and "Customer stock 15 (cumulative 62%)" in svg
    assert nok_by_location([]) is None and nok_by_location([{"location": "in_transit", "nok": 0}]) is None


def test_fishbone_and_why_tree_carry_every_cause_in_words(ctx):
    d4 = example("D4")
    fish = fishbone(d4["ishikawa"], "Cracked welds")
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", fish, re.S).group(1)
    for row in d4["ishikawa"]:
        assert row["candidate"] in desc
    assert "Machine: Replacement clamping fixture, short clamp fingers (Confirmed)" in desc
    assert fish.count('font-weight="bold"') >= 2 + 6 + 1  # two confirmed, six bone names, the head
    tree = why_tree(d4["five_why"], d4["causes"])
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", tree, re.S).group(1)
    assert desc.index("C1 (") < desc.index("C2 (") and "why 3: Why did the clamp not press them flat?" in desc
    assert fishbone([], "x") is None and why_tree(None, None) is None
    # user text is escaped, never markup
    assert "<script>" not in fishbone([{"category": "man", "candidate": "<script>alert(1)</script>"}], "<b>")


def test_pictures_on_the_page_and_in_the_pdf(app, client, parties, drawn):
    login(client, parties.sup_eng)
    d4 = client.get(f"/reports/{drawn.id}?d=D4").get_data(as_text=True)
    assert "Ishikawa diagram (6M)" in d4 and "5-Why tree" in d4 and 'aria-labelledby="kchart' in d4
    assert "Wrong fixture installed by maintenance" in d4
    d3 = client.get(f"/reports/{drawn.id}?d=D3").get_data(as_text=True)
    assert "Pareto of NOK parts by location" in d3 and "<caption" in d3 and "Customer stock" in d3
    assert "Ishikawa diagram" not in d3
    pdf = client.get(f"/reports/{drawn.id}/export.pdf")
    assert pdf.status_code == 200
    pypdf = pytest.importorskip("pypdf")
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Ishikawa diagram (6M)" in text and "5-Why tree" in text and "Pareto of NOK parts by location" in text
    assert "Replacement clamping fixture" in text
